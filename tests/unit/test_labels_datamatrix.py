"""Vial DataMatrix (SPEC 6.2), label fonts (5.8) and margins: rasterised at 203 and 300 dpi and
read back with zxing-cpp; the ZPL ``^BX`` field decoded and printed the way a printer would."""

from __future__ import annotations

import re
from dataclasses import replace

import pypdfium2 as pdfium
import pytest
import zint
import zxingcpp
from PIL import Image

from labels import (
    Barcode,
    BarcodeDataError,
    BatchLabel,
    LabelError,
    PrescriptionLabel,
    VialLabel,
    encode_matrix,
    layout_for,
    render_pdf,
    render_zpl,
)
from labels.layout import MARGIN_MM, MatrixBox, place_matrix
from tests.unit.test_labels_render import batch_label, rx_label, vial_label

GTIN = "09501101530003"
# ISO/IEC 16022 ECC 200 square sizes up to 52 x 52 (what a vial payload can need).
ISO_SQUARES = {10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52}
NAMES = {
    "vietnamese": "Nguyễn Thị Hồng Ngọc",
    "polish": "Łukasz Wójcik-Źdźbło",
    "turkish": "Şule Yılmaz Çağlayan",
    "greek": "Αικατερίνη Παπαδοπούλου",
    "cyrillic": "Ирина Сергеевна Кузнецова",
}


def gs1_vial(lot: str = "CY261201-01", serial: int = 7, **changes: object) -> VialLabel:
    """Return a fill vial label with a GS1 DataMatrix of ``lot`` / ``serial``."""
    barcode = Barcode.gs1_datamatrix(GTIN, "270315", lot, serial)
    return vial_label(lot=lot, serial=serial, barcode=barcode, **changes)


def plain_vial(lot: str = "CY261201-01", serial: int = 7, **changes: object) -> VialLabel:
    """Return a vial label with a plain DataMatrix ``<lot>/<serial>`` (no GTIN)."""
    return vial_label(lot=lot, serial=serial, barcode=Barcode.datamatrix(lot, serial), **changes)


def rasterize(pdf: bytes, dpi: int, page: int = 0) -> Image.Image:
    """Return one page as a grayscale image at ``dpi``."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        doc.close()


def pdf_text(pdf: bytes) -> str:
    """Return the text of every page, as a PDF reader extracts it."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def read_one(image: Image.Image):
    """Return the only barcode zxing-cpp finds in ``image``."""
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, f"found {len(results)} barcodes"
    return results[0]


VIAL_CASES = [
    (gs1_vial(), True, f"(01){GTIN}(17)270315(10)CY261201-01(21)7", "7"),
    (gs1_vial("99A-1", 1), True, f"(01){GTIN}(17)270315(10)99A-1(21)1", "1"),
    (gs1_vial("261201", 480), True, f"(01){GTIN}(17)270315(10)261201(21)480", "480"),
    (
        gs1_vial("ABCDEFGHIJKLMNOPQRST", 99999),
        True,
        f"(01){GTIN}(17)270315(10)ABCDEFGHIJKLMNOPQRST(21)99999",
        "99999",
    ),
    (plain_vial(), False, "CY261201-01/7", "7"),
    (plain_vial("Z", 500, patient_name=None, rx_reference=None), False, "Z/500", "500"),
]
VIAL_IDS = ["gs1", "gs1-lot-99", "gs1-digit-lot", "gs1-longest", "plain", "plain-batch-print"]


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(("label", "gs1", "text", "serial"), VIAL_CASES, ids=VIAL_IDS)
def test_vial_pdf_datamatrix_reads_back(label, gs1: bool, text: str, serial: str, dpi) -> None:
    result = read_one(rasterize(render_pdf([label], dpi=dpi), dpi))
    assert result.format == zxingcpp.BarcodeFormat.DataMatrix
    assert result.symbology_identifier == ("]d2" if gs1 else "]d1")
    assert (result.content_type == zxingcpp.ContentType.GS1) is gs1
    assert result.text == text  # the exact element string (zxing's HRI for GS1)
    if gs1:
        # The transmitted data: FNC1 separator as GS after the variable-length lot.
        raw = result.bytes.decode("ascii")
        assert raw.endswith(f"\x1d21{serial}")
        assert raw.startswith(f"01{GTIN}1727031510{label.lot}")
    else:
        assert result.text.rsplit("/", 1)[1] == serial


@pytest.mark.parametrize(("label", "gs1", "text", "serial"), VIAL_CASES, ids=VIAL_IDS)
def test_203_dpi_vial_pdf_reads_at_300_dpi(label, gs1: bool, text: str, serial: str) -> None:
    assert read_one(rasterize(render_pdf([label], dpi=203), 300)).text == text


# --- the ZPL ^BX field, decoded as a printer would ----------------------------------------------

BX = re.compile(r"\^FO(\d+),(\d+)\^BXN,(\d+),200,(\d+),(\d+),,_\^FD(.*?)\^FS")


def unescape_bx(data: str) -> tuple[bool, str]:
    """Interpret ^BX quality-200 field data with escape ``_``: (FNC1 first, data with GS)."""
    gs1 = data.startswith("_1")
    body = data[2:] if gs1 else data
    out, i = [], 0
    while i < len(body):
        if body[i] == "_":
            token = body[i + 1]
            assert token in "1_", f"unexpected escape _{token}"
            out.append("\x1d" if token == "1" else "_")
            i += 2
        else:
            out.append(body[i])
            i += 1
    return gs1, "".join(out)


def print_bx(gs1: bool, data: str, size: int, module: int) -> Image.Image:
    """Encode ^BX data as a printer does (ECC 200, forced size) and return the printed image."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.DATAMATRIX
    if gs1:
        symbol.input_mode = zint.InputMode.GS1
        parts = data.split("\x1d")
        data = "".join(_bracket_ais(p) for p in parts)
    sizes = [10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52]
    symbol.option_2 = sizes.index(size) + 1
    symbol.encode(data)
    assert (symbol.rows, symbol.width) == (size, size)
    bits = symbol.encoded_data.tobytes()
    stride = symbol.encoded_data.shape[1]
    quiet = 4  # generous white around, as on the label stock
    image = Image.new("L", ((size + 2 * quiet) * module,) * 2, 255)
    for row in range(size):
        for col in range(size):
            if (bits[row * stride + (col >> 3)] >> (col & 7)) & 1:
                x, y = (col + quiet) * module, (row + quiet) * module
                image.paste(0, (x, y, x + module, y + module))
    return image


def _bracket_ais(part: str) -> str:
    """Return a GS-free run of GS1 element data with its AIs in brackets (for zint)."""
    out, i = [], 0
    fixed = {"01": 14, "17": 6}
    while i < len(part):
        ai = part[i : i + 2]
        i += 2
        length = fixed.get(ai, len(part) - i)
        out.append(f"[{ai}]{part[i : i + length]}")
        i += length
    return "".join(out)


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(("label", "gs1", "text", "serial"), VIAL_CASES, ids=VIAL_IDS)
def test_zpl_bx_carries_the_same_symbol(label, gs1: bool, text: str, serial: str, dpi) -> None:
    zpl = render_zpl([label], dpi)
    assert "^BC" not in zpl
    (match,) = BX.findall(zpl)
    x, y, module, cols, rows, data = match
    matrix = encode_matrix(label.barcode)
    assert (int(cols), int(rows)) == (matrix.cols, matrix.rows)
    assert int(module) >= (2 if dpi == 203 else 3)
    fnc1_first, payload = unescape_bx(data)
    assert fnc1_first is gs1
    assert payload == matrix.elements
    # The symbol the printer makes from this field reads back as the PDF's does.
    result = read_one(print_bx(fnc1_first, payload, int(rows), int(module)))
    assert result.symbology_identifier == ("]d2" if gs1 else "]d1")
    assert result.text == text
    # And at the same place and module size as in the PDF.
    place = place_matrix(layout_for(VialLabel).barcode, matrix.rows, dpi)
    assert (int(x), int(y), int(module)) == (place.x_dots, place.y_dots, place.module_dots)


# --- symbol shape and placement ----------------------------------------------------------------


@pytest.mark.parametrize("lot_len", [1, 5, 8, 11, 14, 17, 20])
@pytest.mark.parametrize("serial", [1, 9, 10, 99, 100, 999, 1000, 12345, 99999])
@pytest.mark.parametrize("gs1", [True, False])
def test_symbols_are_iso_squares_never_dmre(lot_len: int, serial: int, gs1: bool) -> None:
    lot = ("CY26120101ABCDEFGHIJ" * 2)[:lot_len]
    barcode = (
        Barcode.gs1_datamatrix(GTIN, "270315", lot, serial)
        if gs1
        else Barcode.datamatrix(lot, serial)
    )
    matrix = encode_matrix(barcode)
    assert matrix.rows == matrix.cols and matrix.rows in ISO_SQUARES
    assert matrix.gs1 is gs1


@pytest.mark.parametrize(("dpi", "least"), [(203, 2), (300, 3)])
@pytest.mark.parametrize(("label", "gs1", "text", "serial"), VIAL_CASES, ids=VIAL_IDS)
def test_modules_are_whole_dots_with_a_clear_quiet_zone(label, gs1, text, serial, dpi, least):
    matrix = encode_matrix(label.barcode)
    place = place_matrix(layout_for(VialLabel).barcode, matrix.rows, dpi)
    assert place.module_dots >= least
    image = rasterize(render_pdf([label], dpi=dpi), dpi)
    m = place.module_dots
    x0, y0 = place.x_dots, place.y_dots
    side = matrix.rows * m
    # Every module is solid black or white at its centre, as the matrix says.
    for row in range(matrix.rows):
        for col in range(matrix.cols):
            pixel = image.getpixel((x0 + col * m + m // 2, y0 + row * m + m // 2))
            assert (pixel < 128) == matrix.dark(row, col), (row, col)
    # The one-module quiet zone around the symbol is white (anti-aliasing may tint the pixel
    # column that touches the symbol's edge, never to where a binariser would read it as dark).
    ring = [
        (x, y)
        for x in range(x0 - m, x0 + side + m)
        for y in range(y0 - m, y0 + side + m)
        if not (x0 <= x < x0 + side and y0 <= y < y0 + side)
    ]
    assert all(image.getpixel(p) > 160 for p in ring)


def test_a_symbol_too_big_for_its_box_is_refused() -> None:
    with pytest.raises(LabelError) as caught:
        place_matrix(MatrixBox(0, 0, 5, 5), 22, 203, "payload")
    assert caught.value.field == "barcode"


@pytest.mark.parametrize(
    "barcode",
    [
        Barcode("gs1-datamatrix", "(01)09501101530004(17)270315(10)A(21)1"),  # check digit
        Barcode("gs1-datamatrix", "(01)09501101530003(17)2703(10)A(21)1"),  # short date
        Barcode("gs1-datamatrix", "(01)09501101530003(99)X"),  # AI we do not print
        Barcode("gs1-datamatrix", "01095011015300031727031510A"),  # not parenthesised
        Barcode("gs1-datamatrix", "(01)09501101530003(10)A B(21)1"),  # space: not GS1 cset 82
        Barcode("datamatrix", ""),
        Barcode("datamatrix", "CY1/\u00e91"),
    ],
    ids=["check-digit", "short-date", "ai-99", "raw", "space", "empty", "non-ascii"],
)
def test_bad_datamatrix_data_is_refused(barcode: Barcode) -> None:
    with pytest.raises(BarcodeDataError) as caught:
        encode_matrix(barcode)
    assert caught.value.field == "barcode"


def test_labels_refuse_the_wrong_kind_of_barcode() -> None:
    with pytest.raises(LabelError, match="DataMatrix"):
        render_pdf([vial_label(barcode=Barcode.code128("CY261201-01"))])
    with pytest.raises(LabelError, match="Code 128"):
        render_zpl([rx_label(barcode=Barcode.datamatrix("CY1", 1))], 203)


# --- fonts (SPEC 5.8) --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_names_in_every_script_print_and_extract_back(name: str) -> None:
    labels = [rx_label(patient_name=name), gs1_vial(patient_name=name)]
    pdf = render_pdf(labels)
    assert pdf_text(pdf).count(name) == 2
    assert read_one(rasterize(pdf, 203, page=1)).text.endswith("(21)7")


def test_pdf_embeds_the_truetype_label_font() -> None:
    pdf = render_pdf([rx_label(patient_name=NAMES["greek"]), gs1_vial(), batch_label()])
    assert b"/FontFile2" in pdf  # embedded TrueType outlines
    assert b"Helvetica" not in pdf  # no standard font the printer would substitute


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_zpl_draws_what_the_resident_font_cannot_as_a_graphic(name: str) -> None:
    zpl = render_zpl([rx_label(patient_name=name)], 203)
    assert "^CI28" in zpl
    assert name not in zpl  # not sent as text the printer would show with blanks
    graphics = re.findall(r"\^FO\d+,\d+\^GFA,(\d+),(\d+),(\d+),([0-9A-F]+)\^FS", zpl)
    assert len(graphics) == 1
    total, again, _row_bytes, hexdata = graphics[0]
    assert int(total) == int(again) == len(hexdata) // 2
    raw = bytes.fromhex(hexdata)
    # A set bit is a printed dot: some ink, far from a filled box (it is the name, as text).
    ink = sum(byte.bit_count() for byte in raw) / (len(raw) * 8)
    assert 0.02 < ink < 0.6


def test_zpl_keeps_windows_1252_text_in_the_resident_font() -> None:
    zpl = render_zpl([rx_label(patient_name="Zoë Müller-Ñúñez")], 203)
    assert "^FDZoë Müller-Ñúñez^FS" in zpl and "^GFA" not in zpl


# --- margins, temperatures ---------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(
    "label", [rx_label(), gs1_vial(), batch_label()], ids=["prescription", "vial", "batch"]
)
def test_every_label_keeps_a_sixteenth_inch_margin(label, dpi: int) -> None:
    image = rasterize(render_pdf([label], dpi=dpi), dpi)
    edge = int(MARGIN_MM / 25.4 * dpi) - 1  # whole pixels inside the 1/16 in margin
    w, h = image.size
    margin = [
        (x, y)
        for x in range(w)
        for y in range(h)
        if x < edge or y < edge or x >= w - edge or y >= h - edge
    ]
    assert min(image.getpixel(p) for p in margin) > 200


@pytest.mark.parametrize("label_type", [PrescriptionLabel, VialLabel, BatchLabel])
def test_layouts_stay_inside_the_margin(label_type) -> None:
    layout = layout_for(label_type)
    boxes = [(t.x, t.y, t.w, t.h) for t in layout.texts]
    b = layout.barcode
    boxes.append((b.x, b.y, b.w, b.h))
    for x, y, w, h in boxes:
        assert x >= MARGIN_MM - 1e-6 and y >= MARGIN_MM - 1e-6
        assert x + w <= layout.width_mm - MARGIN_MM + 1e-6
        assert y + h <= layout.height_mm - MARGIN_MM + 1e-6


def test_degree_sign_and_batch_storage_line() -> None:
    text = pdf_text(render_pdf([batch_label(), gs1_vial()]))
    assert text.count("Refrigerate 2-8 °C") == 2


def test_batch_label_without_storage_is_refused() -> None:
    with pytest.raises(LabelError) as caught:
        render_pdf([replace(batch_label(), storage=())])
    assert caught.value.field == "storage"
