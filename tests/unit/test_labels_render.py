"""PDF labels: every label type rasterised at 203 and 300 dpi and its barcode scanned back,
every SPEC 2.8 element present, byte-stable output, overflow and missing-element refusals.
(Vial DataMatrix specifics, fonts and margins: test_labels_datamatrix.py.)"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

import pypdfium2 as pdfium
import pytest
import zxingcpp

from labels import (
    BATCH_STOCK,
    PRESCRIPTION_STOCK,
    VIAL_STOCK,
    Barcode,
    BatchLabel,
    LabelError,
    LabelOverflow,
    PrescriptionLabel,
    Stock,
    VialLabel,
    encode,
    human_readable,
    layout_for,
    render_pdf,
)
from labels.layout import BarcodeBox, field_text, place_barcode

GTIN = "09501101530003"
POINTS_PER_INCH = 72


def rx_label(**changes: object) -> PrescriptionLabel:
    """Return a complete prescription label."""
    label = PrescriptionLabel(
        pharmacy_name="Riverside Compounding Pharmacy",
        pharmacy_address="120 Main Street, Suite 4, Springfield, IL 62701",
        pharmacy_phone="(217) 555-0142",
        rx_number="100023",
        fill_number=0,
        date_dispensed="2026-12-01",
        patient_name="Margaret A. Thompson",
        prescriber="Alan Reyes, MD",
        drug_strength="Cyanocobalamin 1,000 mcg/mL",
        dosage_form_route="Injection, for intramuscular use",
        quantity="3 x 10 mL multiple-dose vials",
        directions=(
            "Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses, then once weekly "
            "for 4 doses, then once monthly."
        ),
        refills_left=2,
        bud="2027-03-15",
        batch_lots=("CY261201-01", "CY261201-02"),
        storage=("Refrigerate 2-8 °C", "Protect from light"),
        pharmacist_initials="JK",
        barcode=Barcode.code128("RX100023-0"),
    )
    return replace(label, **changes)


def vial_label(**changes: object) -> VialLabel:
    """Return a complete fill vial label (GS1 DataMatrix of serial 7, patient, Rx)."""
    label = VialLabel(
        drug_strength="Cyanocobalamin 1,000 mcg/mL",
        volume="10 mL",
        container_statement="Multiple-dose vial - discard 28 days after first puncture",
        route="For intramuscular use",
        lot="CY261201-01",
        bud="2027-03-15",
        storage=("Refrigerate 2-8 °C", "Protect from light"),
        pharmacy_name="Riverside Compounding Pharmacy",
        pharmacy_phone="(217) 555-0142",
        barcode=Barcode.gs1_datamatrix(GTIN, "270315", "CY261201-01", 7),
        serial=7,
        patient_name="Margaret A. Thompson",
        rx_reference="Rx 100023-0",
    )
    return replace(label, **changes)


def batch_label(**changes: object) -> BatchLabel:
    """Return a complete batch label (GS1-128 barcode)."""
    label = BatchLabel(
        formulation="Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial (CYA-1000-10 v2)",
        lot="CY261201-01",
        vials=40,
        compounded_at="2026-12-01 09:30",
        bud="2027-03-15 09:30",
        status="QUARANTINE",
        barcode=Barcode.gs1(GTIN, "270315", "CY261201-01"),
        storage=("Refrigerate 2-8 °C", "Protect from light"),
    )
    return replace(label, **changes)


def gs1(lot: str) -> Barcode:
    """Return the GS1-128 barcode of lot ``lot``, BUD 2027-03-15."""
    return Barcode.gs1(GTIN, "270315", lot)


def gs1_dm(lot: str, serial: int) -> Barcode:
    """Return the GS1 DataMatrix of vial ``serial`` of lot ``lot``, BUD 2027-03-15."""
    return Barcode.gs1_datamatrix(GTIN, "270315", lot, serial)


# (id, label, expected scan): ("code128", payload), ("gs1", lot) with GTIN and 2027-03-15,
# ("gs1-dm", element string) or ("dm", payload) for vial DataMatrix symbols.
SCAN_CASES = [
    ("rx", rx_label(), ("code128", "RX100023-0")),
    ("rx-99-inside", rx_label(barcode=Barcode.code128("RX99-1")), ("code128", "RX99-1")),
    ("rx-leading-99", rx_label(barcode=Barcode.code128("99A-1")), ("code128", "99A-1")),
    ("rx-all-digits", rx_label(barcode=Barcode.code128("99123456")), ("code128", "99123456")),
    ("vial-gs1", vial_label(), ("gs1-dm", f"(01){GTIN}(17)270315(10)CY261201-01(21)7")),
    (
        "vial-gs1-lot-99",
        vial_label(lot="99A-1", barcode=gs1_dm("99A-1", 99)),
        ("gs1-dm", f"(01){GTIN}(17)270315(10)99A-1(21)99"),
    ),
    (
        "vial-gs1-long-lot-serial",
        vial_label(lot="ABCDEFGHIJKLMNOPQRST", barcode=gs1_dm("ABCDEFGHIJKLMNOPQRST", 99999)),
        ("gs1-dm", f"(01){GTIN}(17)270315(10)ABCDEFGHIJKLMNOPQRST(21)99999"),
    ),
    (
        "vial-plain",
        vial_label(barcode=Barcode.datamatrix("CY261201-01", 12)),
        ("dm", "CY261201-01/12"),
    ),
    (
        "vial-batch-print",
        vial_label(barcode=Barcode.datamatrix("20261201", 1), patient_name=None, rx_reference=None),
        ("dm", "20261201/1"),
    ),
    ("batch-gs1", batch_label(), ("gs1", "CY261201-01")),
    ("batch-gs1-lot-99", batch_label(lot="99A-1", barcode=gs1("99A-1")), ("gs1", "99A-1")),
    ("batch-lot", batch_label(barcode=Barcode.code128("CY261201-01")), ("code128", "CY261201-01")),
    (
        "batch-lot-digits",
        batch_label(lot="9912345", barcode=Barcode.code128("9912345")),
        ("code128", "9912345"),
    ),
]


def rasterize(pdf: bytes, page: int = 0, dpi: int = 203):
    """Return one page as a grayscale PIL image at ``dpi``."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / POINTS_PER_INCH, grayscale=True).to_pil()
    finally:
        doc.close()


def page_texts(pdf: bytes) -> list[str]:
    """Return each page's text, whitespace collapsed."""
    doc = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in doc:
            text = page.get_textpage().get_text_range()
            texts.append(" ".join(text.split()))
        return texts
    finally:
        doc.close()


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Return each page's size in points."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return [tuple(round(v, 2) for v in page.get_size()) for page in doc]
    finally:
        doc.close()


def parse_gs1_scan(scanned: str) -> tuple[str, date, str]:
    """Parse ``]C1`` + ``01`` GTIN ``17`` YYMMDD ``10`` lot (as read) into GTIN, date and lot."""
    assert scanned.startswith("]C1")
    body = scanned[3:]
    assert body[:2] == "01" and body[16:18] == "17" and body[24:26] == "10", body
    yymmdd = body[18:24]
    expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    return body[2:16], expiry, body[26:]


def assert_scans(image, expected: tuple[str, str]) -> None:
    """Decode the image's only barcode and compare it with the expected payload."""
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, f"found {len(results)} barcodes"
    result = results[0]
    kind, value = expected
    if kind == "code128":
        assert result.symbology_identifier == "]C0"
        assert result.text == value
    elif kind == "gs1-dm":
        assert result.format == zxingcpp.BarcodeFormat.DataMatrix
        assert result.symbology_identifier == "]d2"  # FNC1 first: GS1
        assert result.content_type == zxingcpp.ContentType.GS1
        assert result.text == value
    elif kind == "dm":
        assert result.symbology_identifier == "]d1"
        assert result.text == value
    else:
        assert result.symbology_identifier == "]C1"
        scanned = result.symbology_identifier + result.bytes.decode("ascii")
        assert parse_gs1_scan(scanned) == (GTIN, date(2027, 3, 15), value)
        assert result.text == f"(01){GTIN}(17)270315(10){value}"


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(
    ("label", "expected"), [c[1:] for c in SCAN_CASES], ids=[c[0] for c in SCAN_CASES]
)
def test_every_label_scans_back_at_printer_resolution(label, expected, dpi: int) -> None:
    pdf = render_pdf([label], dpi=dpi)
    assert_scans(rasterize(pdf, dpi=dpi), expected)


@pytest.mark.parametrize(
    ("label", "expected"), [c[1:] for c in SCAN_CASES], ids=[c[0] for c in SCAN_CASES]
)
def test_203_dpi_pdf_still_scans_at_300_dpi(label, expected) -> None:
    # The same physical module (whole 203 dpi dots, at least 2) must read on a 300 dpi raster.
    assert_scans(rasterize(render_pdf([label], dpi=203), dpi=300), expected)


@pytest.mark.parametrize(
    ("label", "dpi", "module_dots"),
    [
        (rx_label(), 203, 2),
        (rx_label(), 300, 3),
        (batch_label(), 203, 2),
        (batch_label(), 300, 3),
    ],
)
def test_module_snapping_to_the_dot_grid(label, dpi: int, module_dots: int) -> None:
    layout = layout_for(type(label))
    place = place_barcode(layout.barcode, encode(label.barcode).modules, dpi)
    assert place.module_dots == module_dots


def test_bars_land_on_whole_dots_at_203_dpi() -> None:
    label = rx_label()
    layout = layout_for(PrescriptionLabel)
    encoded = encode(label.barcode)
    image = rasterize(render_pdf([label]), dpi=203)
    row_y = round((layout.barcode.y + layout.barcode.bar_h / 2) / 25.4 * 203)
    x0 = round(layout.barcode.x / 25.4 * 203)
    x1 = round((layout.barcode.x + layout.barcode.w) / 25.4 * 203)
    row = [image.getpixel((x, row_y)) for x in range(x0, x1)]
    # Bars are inset a fifth of a dot each side, so edge pixels may be 80 % grey, never 50 %.
    assert all(p < 64 or p > 192 for p in row)
    bits = "".join("1" if p < 128 else "0" for p in row).strip("0")
    assert bits == "".join(bit * 2 for bit in encoded.pattern)


def expected_texts(label) -> list[str]:
    """Return every element's printed value: each field (tuple items separately) + barcode."""
    out = []
    for f in fields(label):
        value = getattr(label, f.name)
        if value is None:
            continue
        if f.name == "barcode":
            out.append(human_readable(value))
        elif isinstance(value, tuple):
            out.extend(value)
        else:
            out.append(str(value))
    return out


@pytest.mark.parametrize(
    "label", [rx_label(), vial_label(), batch_label()], ids=["prescription", "vial", "batch"]
)
def test_every_spec_element_is_printed(label) -> None:
    (text,) = page_texts(render_pdf([label]))
    for value in expected_texts(label):
        assert " ".join(value.split()).casefold() in text.casefold(), value


@pytest.mark.parametrize(
    ("label_type", "words"),
    [
        (PrescriptionLabel, ["Rx", "Fill", "Filled", "Qty", "Prescriber", "Lot", "Refills", "RPh"]),
        (VialLabel, ["BUD", "Lot", "Vial #"]),
        (BatchLabel, ["Lot", "Vials", "Compounded", "BUD"]),
    ],
)
def test_layout_covers_every_field_and_labels_them(label_type, words) -> None:
    layout = layout_for(label_type)
    shown = {name for block in layout.texts for name in block.fields}
    assert shown | {"barcode"} == {f.name for f in fields(label_type)}
    templates = " ".join(block.template for block in layout.texts)
    for word in words:
        assert word in templates


def test_prescription_hierarchy_patient_and_directions_largest() -> None:
    from labels.layout import block_text, fit_text

    label = rx_label()
    layout = layout_for(PrescriptionLabel)
    sizes = {b.name: fit_text(b, block_text(b, label)).size for b in layout.texts}
    others = [s for name, s in sizes.items() if name not in ("patient_name", "directions")]
    assert sizes["patient_name"] > max(others)
    assert sizes["directions"] >= max(others)


def test_vial_hierarchy_drug_and_bud_prominent() -> None:
    from labels.layout import block_text, fit_text

    label = vial_label()
    layout = layout_for(VialLabel)
    sizes = {b.name: fit_text(b, block_text(b, label)).size for b in layout.texts}
    small = [sizes[n] for n in ("container_statement", "storage", "pharmacy", "route")]
    assert min(sizes["drug_strength"], sizes["bud"]) > max(small)


def test_output_is_byte_stable() -> None:
    labels = [rx_label(), vial_label(), batch_label()]
    assert render_pdf(labels) == render_pdf(labels)
    assert render_pdf(labels, dpi=300) == render_pdf(labels, dpi=300)


def test_one_page_per_label_sized_to_each_stock() -> None:
    pdf = render_pdf([rx_label(), vial_label(), batch_label(), vial_label(lot="CY2")])
    assert page_sizes(pdf) == [(288.0, 144.0), (162.0, 90.0), (288.0, 144.0), (162.0, 90.0)]


def test_requested_stock_sets_every_page_size() -> None:
    stock = Stock(4, 3)
    pdf = render_pdf([rx_label(), batch_label()], stock)
    assert page_sizes(pdf) == [(288.0, 216.0), (288.0, 216.0)]
    assert_scans(rasterize(pdf, 1), ("gs1", "CY261201-01"))


def test_a_stock_per_label_type_sizes_each_page_to_its_own_label() -> None:
    stocks = {PrescriptionLabel: Stock(4, 3), VialLabel: Stock(2.5, 1.5)}
    pdf = render_pdf([rx_label(), vial_label(), batch_label(), vial_label(lot="CY2")], stocks)
    # The batch label is not in the mapping: it keeps its own 4 x 2 in stock.
    assert page_sizes(pdf) == [(288.0, 216.0), (180.0, 108.0), (288.0, 144.0), (180.0, 108.0)]


def test_default_stocks() -> None:
    assert (PRESCRIPTION_STOCK.width_in, PRESCRIPTION_STOCK.height_in) == (4, 2)
    assert (VIAL_STOCK.width_in, VIAL_STOCK.height_in) == (2.25, 1.25)
    assert (BATCH_STOCK.width_in, BATCH_STOCK.height_in) == (4, 2)


def test_long_directions_wrap_onto_several_lines() -> None:
    directions = (
        "Inject 0.5 mL (500 mcg) under the skin once daily for 7 doses, then every 2 days for "
        "7 doses, then every 3 days for 7 doses, then once monthly. Rotate injection sites."
    )
    (text,) = page_texts(render_pdf([rx_label(directions=directions)]))
    assert directions in text


@pytest.mark.parametrize(
    ("label", "element"),
    [
        (rx_label(patient_name="Maximiliana Alexandrina " * 5), "patient_name"),
        (rx_label(directions="Inject 1 mL intramuscularly once daily. " * 20), "directions"),
        (rx_label(pharmacist_initials="J" * 60), "pharmacist_initials"),
        (vial_label(drug_strength="Cyanocobalamin 1,000 mcg/mL " * 3), "drug_strength"),
        (
            vial_label(container_statement="Multiple-dose vial - discard " * 5),
            "container_statement",
        ),
        (batch_label(lot="L" * 60), "lot"),
    ],
)
def test_text_that_cannot_fit_is_refused_not_truncated(label, element: str) -> None:
    with pytest.raises(LabelOverflow) as caught:
        render_pdf([label])
    assert caught.value.element == element
    assert caught.value.field == element
    assert element in str(caught.value)


def test_prescription_does_not_fit_vial_stock() -> None:
    with pytest.raises(LabelOverflow):
        render_pdf([rx_label()], VIAL_STOCK)


def test_barcode_that_cannot_fit_is_refused() -> None:
    box = BarcodeBox(1, 1, 30, 10, 2, 6, 4.5, min_module_mm=0.125)
    with pytest.raises(LabelOverflow) as caught:
        place_barcode(box, encode(gs1("CY261201-01")).modules, 203, "the GS1 text")
    assert caught.value.element == "barcode"
    # 3 in stock: the batch label's text still fits, the 2-dot GS1-128 (660 dots) does not.
    with pytest.raises(LabelOverflow) as caught:
        render_pdf([batch_label()], Stock(3, 2))
    assert caught.value.element == "barcode"
    assert caught.value.text == f"(01){GTIN}(17)270315(10)CY261201-01"


def _emptied(label, name: str):
    """Return ``label`` with field ``name`` emptied in the way its type allows."""
    value = getattr(label, name)
    if isinstance(value, Barcode):
        return replace(label, **{name: Barcode("code128", "")})
    if isinstance(value, tuple):
        return replace(label, **{name: ()})
    return replace(label, **{name: ""})


MISSING_CASES = [
    (factory, f.name)
    for factory, cls in (
        (rx_label, PrescriptionLabel),
        (vial_label, VialLabel),
        (batch_label, BatchLabel),
    )
    for f in fields(cls)
    if f.name not in getattr(cls, "_optional_fields", ())
]


@pytest.mark.parametrize(
    ("factory", "name"), MISSING_CASES, ids=[f"{c[0].__name__}-{c[1]}" for c in MISSING_CASES]
)
def test_missing_element_is_refused_naming_it(factory, name: str) -> None:
    with pytest.raises(LabelError) as caught:
        render_pdf([_emptied(factory(), name)])
    assert caught.value.field == name


def test_blank_text_and_blank_tuple_items_count_as_missing() -> None:
    with pytest.raises(LabelError, match="patient_name"):
        render_pdf([rx_label(patient_name="   ")])
    with pytest.raises(LabelError, match="batch_lots"):
        render_pdf([rx_label(batch_lots=("",))])


def test_zero_refills_is_a_value_not_a_missing_element() -> None:
    (text,) = page_texts(render_pdf([rx_label(refills_left=0)]))
    assert "Refills left: 0" in text


def test_one_string_for_a_tuple_field_stays_one_item() -> None:
    label = rx_label(batch_lots="CY261201-01", storage="Refrigerate 2-8 °C")
    assert label.batch_lots == ("CY261201-01",)
    assert field_text(label, "storage") == "Refrigerate 2-8 °C"


@pytest.mark.parametrize(
    "text", ["Inject \u6f22 1 mL", "Inject 1 mL \U0001f489", "Inject 1 mL\x07"]
)
def test_unprintable_characters_are_refused(text: str) -> None:
    with pytest.raises(LabelError) as caught:
        render_pdf([rx_label(directions=text)])
    assert caught.value.field == "directions"


def test_latin1_text_prints() -> None:
    (text,) = page_texts(render_pdf([rx_label(patient_name="Zoë Müller-Ñúñez", bud="2027-03-15")]))
    assert "Zoë Müller-Ñúñez" in text


def test_nothing_to_render_and_bad_dpi_are_refused() -> None:
    with pytest.raises(LabelError, match="labels"):
        render_pdf([])
    with pytest.raises(LabelError, match="dpi"):
        render_pdf([rx_label()], dpi=600)
    with pytest.raises(TypeError):
        render_pdf(["not a label"])  # type: ignore[list-item]


def test_labels_package_stays_independent() -> None:
    import subprocess
    import sys

    code = (
        "import sys, labels; labels.render_pdf; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('pharmacy', 'flask', 'sqlalchemy')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
