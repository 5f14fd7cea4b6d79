"""Render labels as ZPL II for 203 and 300 dpi Zebra-compatible thermal printers.

The same layouts and the same fitted text as the PDF: positions are the layout's millimetres
converted to printer dots, and every text block is pre-wrapped by ``fit_text`` and sent as a
``^FB`` block with explicit line breaks, so the printer never re-wraps differently.

Bar codes are sent as ``^BC`` in "no mode" with ZPL invocation codes that spell out, symbol by
symbol, the encoding python-barcode produced for the PDF (``>;`` start in set C, ``>8`` FNC1,
``>6`` switch to set B, ...). The printer therefore prints the same symbol as the PDF, with the
same module width in dots (``^BY``).

Vial DataMatrix symbols are sent as ``^BX`` quality 200 with the rows and columns the PDF drew
(so the printer makes the same square ISO/IEC 16022 symbol) and ``_`` as the escape character:
``_1`` first is FNC1 (GS1 DataMatrix), ``_1`` later is the GS1 separator.

Text is UTF-8 (``^CI28``). The printer's resident scalable font (``^A0``) is taken to draw the
Windows-1252 repertoire; a text block with any other character (Vietnamese, Polish, Turkish,
Greek, Cyrillic...) is drawn here with the PDF's TrueType font and sent as a ``^GF`` graphic field,
so the printer never shows a blank or a substitute glyph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from labels.barcode import (
    CODE_A,
    CODE_B,
    CODE_C,
    FNC1,
    START_A,
    START_B,
    START_C,
    encode,
    human_readable,
)
from labels.data import (
    MM_PER_INCH,
    BatchLabel,
    Label,
    LabelError,
    PrescriptionLabel,
    Stock,
    VialLabel,
    check_label,
)
from labels.datamatrix import encode_matrix
from labels.fonts import ASCENT, FONT_FILES
from labels.gs1 import GS
from labels.layout import (
    PRINTER_DPIS,
    PT_PER_MM,
    BarcodeBox,
    Fitted,
    Frame,
    MatrixBox,
    Rule,
    TextBlock,
    block_text,
    check_text,
    fit_text,
    layout_of,
    place_barcode,
    place_matrix,
    shown,
)
from labels.render import check_symbology

_INVOCATION = {
    START_A: ">9",
    START_B: ">:",
    START_C: ">;",
    CODE_C: ">5",
    CODE_B: ">6",
    CODE_A: ">7",
    FNC1: ">8",
}
_JUSTIFY = {"left": "L", "center": "C", "right": "R"}
# ^FH makes "_XX" a hex byte: escaping the command prefixes keeps them from ending the field.
_HEX_ESCAPES = {"^": "_5E", "~": "_7E", "_": "_5F"}


class ZplError(LabelError):
    """Refuse data that ZPL would misread (a command prefix inside barcode data)."""


def render_zpl(
    labels: Sequence[PrescriptionLabel | VialLabel | BatchLabel],
    dpi: int,
    stock: Stock | None = None,
) -> str:
    """Return ZPL II for ``labels``: one ``^XA ... ^XZ`` format per label.

    :param dpi: the printer's resolution, 203 or 300; every position and width is in its dots.
    :param stock: label stock for every label; default: each label type's own stock.
    :raise LabelError: a required element is empty or unprintable, or barcode data holds a
        character ZPL would read as a command (``ZplError``).
    :raise LabelOverflow: an element does not fit its box even at its minimum size.
    """
    if dpi not in PRINTER_DPIS:
        raise LabelError("dpi", f"printer resolution must be one of {PRINTER_DPIS}, got {dpi}")
    if not labels:
        raise LabelError("labels", "nothing to render")
    return "".join(_label_zpl(label, dpi, stock) for label in labels)


def _label_zpl(label: Label, dpi: int, stock: Stock | None) -> str:
    """Return one label's ZPL format."""
    check_label(label)
    layout = layout_of(label, stock)
    dots = dpi / MM_PER_INCH
    out = [
        "^XA",
        "^CI28",  # field data is UTF-8
        f"^PW{round(layout.width_mm * dots)}",
        f"^LL{round(layout.height_mm * dots)}",
        "^LH0,0",
    ]
    check_symbology(label, layout)
    for block in layout.texts:
        if shown(block, label):
            out.append(_text(block, block_text(block, label), dots))
    readable = human_readable(label.barcode)
    if isinstance(layout.barcode, MatrixBox):
        out.append(_matrix(layout.barcode, label, readable, dpi))
    else:
        out.append(_barcode(layout.barcode, label, readable, dpi))
        out.append(_text(layout.barcode.text_block(), readable, dots))
    out.extend(_rule(rule, dots) for rule in layout.rules)
    out.extend(_frame(frame, dots) for frame in layout.frames)
    out.append("^XZ")
    return "\n".join(out) + "\n"


def resident(text: str) -> bool:
    """Return whether the printer's resident font draws ``text`` (Windows-1252 repertoire)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _text(block: TextBlock, text: str, dots: float) -> str:
    """Return a text block: font 0 at the fitted size, pre-wrapped lines in a ``^FB``.

    Text the resident font cannot draw becomes the same lines as a ``^GF`` graphic.
    """
    check_text(block.name, text)
    fitted: Fitted = fit_text(block, text)
    per_pt = dots / PT_PER_MM
    top_pt = block.y * PT_PER_MM
    if block.valign == "middle":
        top_pt += (block.h * PT_PER_MM - fitted.ink_height_pt()) / 2
    if not resident(text):
        return _graphic_text(block, fitted, top_pt, dots)
    height = max(1, round(fitted.size * per_pt))
    spacing = round((fitted.leading - fitted.size) * per_pt)
    # ^FB: "\&" breaks a line and "\\" is a backslash.
    body = "\\&".join(line.replace("\\", "\\\\") for line in fitted.lines)
    return (
        f"^FO{round(block.x * dots)},{round(top_pt * per_pt)}"
        f"^A0N,{height},{height}"
        f"^FB{round(block.w * dots)},{len(fitted.lines)},{spacing},{_JUSTIFY[block.align]},0"
        f"^FH_^FD{_escape_text(body)}^FS"
    )


def _graphic_text(block: TextBlock, fitted: Fitted, top_pt: float, dots: float) -> str:
    """Return fitted text drawn with the label's TrueType font as a ``^GFA`` graphic field."""
    per_pt = dots / PT_PER_MM
    width = max(1, round(block.w * dots))
    # Stacked accents (Vietnamese capitals) rise above the ascender: room above and below.
    pad = math.ceil(0.3 * fitted.size * per_pt)
    height = math.ceil(fitted.ink_height_pt() * per_pt) + 2 * pad
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    font = _pil_font(block.font, round(fitted.size * per_pt, 2))
    baseline = pad + ASCENT * fitted.size * per_pt
    spare = block.w * PT_PER_MM
    for line, line_w in zip(fitted.lines, fitted.widths):
        if block.align == "left":
            x = 0.0
        elif block.align == "right":
            x = spare - line_w
        else:
            x = (spare - line_w) / 2
        draw.text((x * per_pt, baseline), line, fill=255, font=font, anchor="ls")
        baseline += fitted.leading * per_pt
    # Mode "1" packs 8 pixels a byte, most significant first, rows padded: ^GF's layout, where a
    # set bit is a printed dot (here: the ink).
    packed = image.point(lambda v: 255 if v >= 128 else 0).convert("1").tobytes()
    row_bytes = (width + 7) // 8
    return (
        f"^FO{round(block.x * dots)},{max(0, round(top_pt * per_pt) - pad)}"
        f"^GFA,{len(packed)},{len(packed)},{row_bytes},{packed.hex().upper()}^FS"
    )


@lru_cache(maxsize=64)
def _pil_font(font: str, size_px: float) -> ImageFont.FreeTypeFont:
    """Return the label font at ``size_px`` pixels to the em (loaded once per size)."""
    return ImageFont.truetype(FONT_FILES[font], size_px)


def _matrix(box: MatrixBox, label: Label, readable: str, dpi: int) -> str:
    """Return ``^BX`` (ECC 200) drawing the same square symbol as the PDF, same module size."""
    matrix = encode_matrix(label.barcode)
    place = place_matrix(box, matrix.rows, dpi, readable)
    data = zpl_matrix_data(matrix.elements, matrix.gs1)
    # ^BX takes 9-49 rows/columns to force a size; beyond that the printer picks (still square).
    size = f"{matrix.cols},{matrix.rows}" if matrix.rows <= 49 else ","
    return f"^FO{place.x_dots},{place.y_dots}^BXN,{place.module_dots},200,{size},,_^FD{data}^FS"


def zpl_matrix_data(elements: str, gs1: bool) -> str:
    """Return ``^BX`` field data with ``_`` escapes: FNC1 first for GS1, ``_1`` for GS.

    :raise ZplError: ``^`` or ``~`` in the data (they start ZPL commands).
    """
    if "^" in elements or "~" in elements:
        raise ZplError("barcode", f"{elements!r} cannot be sent as ZPL DataMatrix data")
    body = elements.replace("_", "__").replace(GS, "_1")
    return f"_1{body}" if gs1 else body


def _escape_text(text: str) -> str:
    """Hex-escape the characters ZPL would read as command prefixes (used with ``^FH_``)."""
    return "".join(_HEX_ESCAPES.get(c, c) for c in text)


def _barcode(box: BarcodeBox, label: Label, readable: str, dpi: int) -> str:
    """Return the ``^BY`` / ``^BC`` commands drawing the label's barcode, no interpretation line."""
    encoded = encode(label.barcode)
    place = place_barcode(box, encoded.modules, dpi, readable)
    height = round(box.bar_h * dpi / MM_PER_INCH)
    data = "".join(_invocation(code_set, value) for code_set, value in encoded.symbols)
    return (
        f"^FO{place.x_dots},{round(box.y * dpi / MM_PER_INCH)}"
        f"^BY{place.module_dots},3,{height}"
        f"^BCN,{height},N,N,N,N"
        f"^FD{data}^FS"
    )


def _invocation(code_set: str, value: int) -> str:
    """Return one Code 128 symbol as ZPL ``^BC`` field data.

    :raise ZplError: a character that ZPL reads as a command or an invocation prefix.
    """
    if code_set == "C" and value < 100:
        # Digits first: in set C the value 99 is the data "99", not the CODE C switch.
        return f"{value:02d}"
    if value in _INVOCATION:
        return _INVOCATION[value]
    if value >= 96 or (code_set == "A" and value >= 64):
        raise ZplError("barcode", f"Code 128 value {value} in set {code_set} is not supported")
    char = chr(value + 32)
    if char in "^~>":
        # ^ and ~ start ZPL commands and > starts a ^BC invocation code.
        raise ZplError("barcode", f"character {char!r} cannot be sent in ZPL barcode data")
    return char


def _rule(rule: Rule, dots: float) -> str:
    """Return a horizontal rule as a ``^GB`` box one line thick."""
    thickness = max(1, round(rule.thickness * dots))
    return (
        f"^FO{round(rule.x * dots)},{round(rule.y * dots)}"
        f"^GB{round(rule.w * dots)},{thickness},{thickness}^FS"
    )


def _frame(frame: Frame, dots: float) -> str:
    """Return a rectangle outline as a ``^GB`` box."""
    thickness = max(1, round(frame.thickness * dots))
    return (
        f"^FO{round(frame.x * dots)},{round(frame.y * dots)}"
        f"^GB{round(frame.w * dots)},{round(frame.h * dots)},{thickness}^FS"
    )
