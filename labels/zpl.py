"""Render labels as ZPL II for 203 and 300 dpi Zebra-compatible thermal printers.

The same layouts and the same fitted text as the PDF: positions are the layout's millimetres
converted to printer dots, and every text block is pre-wrapped by ``fit_text`` and sent as a
``^FB`` block with explicit line breaks, so the printer never re-wraps differently.

Bar codes are sent as ``^BC`` in "no mode" with ZPL invocation codes that spell out, symbol by
symbol, the encoding python-barcode produced for the PDF (``>;`` start in set C, ``>8`` FNC1,
``>6`` switch to set B, ...). The printer therefore prints the same symbol as the PDF, with the
same module width in dots (``^BY``).
"""

from __future__ import annotations

from collections.abc import Sequence

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
    BatchLabel,
    Label,
    LabelError,
    PrescriptionLabel,
    Stock,
    VialLabel,
    check_label,
)
from labels.layout import (
    MM_PER_INCH,
    PRINTER_DPIS,
    PT_PER_MM,
    BarcodeBox,
    Fitted,
    Frame,
    Rule,
    TextBlock,
    block_text,
    check_text,
    fit_text,
    layout_of,
    place_barcode,
)

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
    for block in layout.texts:
        out.append(_text(block, block_text(block, label), dots))
    readable = human_readable(label.barcode)
    out.append(_barcode(layout.barcode, label, readable, dpi))
    out.append(_text(layout.barcode.text_block(), readable, dots))
    out.extend(_rule(rule, dots) for rule in layout.rules)
    out.extend(_frame(frame, dots) for frame in layout.frames)
    out.append("^XZ")
    return "\n".join(out) + "\n"


def _text(block: TextBlock, text: str, dots: float) -> str:
    """Return a text block: font 0 at the fitted size, pre-wrapped lines in a ``^FB``."""
    check_text(block.name, text)
    fitted: Fitted = fit_text(block, text)
    per_pt = dots / PT_PER_MM
    top_pt = block.y * PT_PER_MM
    if block.valign == "middle":
        top_pt += (block.h * PT_PER_MM - fitted.ink_height_pt()) / 2
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
