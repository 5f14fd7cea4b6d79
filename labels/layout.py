"""Label layouts as data (millimetres from the top-left corner), and the fitting rules.

A layout lists boxes: text blocks (a template over the label's fields, a font size range, a line
limit), one barcode box, rules and frames. The PDF and ZPL renderers draw the same boxes, so the
two outputs match. Layouts are drawn for the default stock of each label type and scaled to the
requested stock; the scaled layout is cached, so a run of labels computes it once.

Text shrinks to fit (``fit_text``) and wraps where a block allows several lines; if it still does
not fit at the block's minimum size the label is refused with ``LabelOverflow``.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from reportlab.pdfbase.pdfmetrics import stringWidth

from labels.barcode import human_readable
from labels.data import (
    BATCH_STOCK,
    MM_PER_INCH,
    PRESCRIPTION_STOCK,
    VIAL_STOCK,
    Barcode,
    BatchLabel,
    Label,
    LabelError,
    LabelOverflow,
    PrescriptionLabel,
    Stock,
    VialLabel,
)
from labels.fonts import ASCENT, DESCENT, FONT, FONT_BOLD, missing_glyphs

PT_PER_MM = 72 / MM_PER_INCH
# SPEC 6.2: every label keeps at least 1/16 in of margin on every side.
MARGIN_MM = MM_PER_INCH / 16
LEADING = 1.15
SIZE_STEP = 0.25
PRINTER_DPIS = (203, 300)
# Bar codes: GS1 and ISO/IEC 15417 want a quiet zone of at least 10 modules each side.
QUIET_MODULES = 10

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class TextBlock:
    """Place one text element: a template over label fields, in a box, with a size range.

    ``name`` identifies the element in errors; ``template`` uses ``str.format`` fields named
    after the label's dataclass fields.
    """

    name: str
    template: str
    x: float
    y: float
    w: float
    h: float
    max_pt: float
    min_pt: float
    bold: bool = False
    max_lines: int = 1
    align: Align = "left"
    valign: Literal["top", "middle"] = "middle"
    upper: bool = False
    optional: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        """Return the label fields the template reads."""
        return _template_fields(self.template)

    @property
    def font(self) -> str:
        """Return the font name."""
        return FONT_BOLD if self.bold else FONT


@lru_cache(maxsize=256)
def _template_fields(template: str) -> tuple[str, ...]:
    """Return the field names of a ``str.format`` template (parsed once per template)."""
    return tuple(f for _, f, _, _ in string.Formatter().parse(template) if f)


@dataclass(frozen=True)
class BarcodeBox:
    """Place the barcode: quiet zones and bars inside ``w``, human-readable line at the bottom.

    ``min_module_mm`` is the narrowest module accepted; the module is the widest whole number of
    printer dots that fits (see ``place_barcode``).
    """

    x: float
    y: float
    w: float
    h: float
    text_h: float
    text_max_pt: float
    text_min_pt: float
    min_module_mm: float = 0.25

    @property
    def bar_h(self) -> float:
        """Return the bar height (mm): the box less the human-readable line and a gap."""
        return self.h - self.text_h - 0.4

    def text_block(self) -> TextBlock:
        """Return the human-readable line as a text block centred under the bars."""
        return TextBlock(
            "barcode",
            "{barcode}",
            self.x,
            self.y + self.h - self.text_h,
            self.w,
            self.text_h,
            self.text_max_pt,
            self.text_min_pt,
            align="center",
        )


@dataclass(frozen=True)
class MatrixBox:
    """Place a DataMatrix: the widest whole-dot module that fits, quiet zone inside the box.

    ``min_module_mm`` 0.25 gives at least 2 dots at 203 dpi and 3 at 300 dpi (SPEC 6.2).
    """

    x: float
    y: float
    w: float
    h: float
    min_module_mm: float = 0.25


@dataclass(frozen=True)
class Rule:
    """Draw a horizontal rule from ``x`` over ``w`` at ``y``."""

    x: float
    y: float
    w: float
    thickness: float = 0.25


@dataclass(frozen=True)
class Frame:
    """Draw a rectangle outline (used to set off a statement such as ``Compounded drug``)."""

    x: float
    y: float
    w: float
    h: float
    thickness: float = 0.3


@dataclass(frozen=True)
class LabelLayout:
    """Hold every box of one label type at one stock size."""

    kind: str
    width_mm: float
    height_mm: float
    texts: tuple[TextBlock, ...]
    barcode: BarcodeBox | MatrixBox
    rules: tuple[Rule, ...] = ()
    frames: tuple[Frame, ...] = ()

    @property
    def stock(self) -> Stock:
        """Return the stock this layout fills."""
        return Stock(self.width_mm / MM_PER_INCH, self.height_mm / MM_PER_INCH)

    def scaled(self, width_mm: float, height_mm: float) -> LabelLayout:
        """Return this layout stretched to another stock; font sizes follow the smaller scale."""
        sx, sy = width_mm / self.width_mm, height_mm / self.height_mm
        sf = min(sx, sy)
        texts = tuple(
            replace(
                t,
                x=t.x * sx,
                y=t.y * sy,
                w=t.w * sx,
                h=t.h * sy,
                # The minimum is a legibility floor: it does not shrink with the stock.
                max_pt=max(t.max_pt * sf, t.min_pt),
            )
            for t in self.texts
        )
        b = self.barcode
        barcode: BarcodeBox | MatrixBox
        if isinstance(b, MatrixBox):
            barcode = replace(b, x=b.x * sx, y=b.y * sy, w=b.w * sx, h=b.h * sy)
        else:
            barcode = replace(
                b,
                x=b.x * sx,
                y=b.y * sy,
                w=b.w * sx,
                h=b.h * sy,
                text_h=b.text_h * sy,
                text_max_pt=max(b.text_max_pt * sf, b.text_min_pt),
            )
        rules = tuple(replace(r, x=r.x * sx, y=r.y * sy, w=r.w * sx) for r in self.rules)
        frames = tuple(
            replace(f, x=f.x * sx, y=f.y * sy, w=f.w * sx, h=f.h * sy) for f in self.frames
        )
        return LabelLayout(self.kind, width_mm, height_mm, texts, barcode, rules, frames)


# --- the layouts, drawn for the default stocks -------------------------------------------------

# Prescription label, 4 x 2 in (101.6 x 50.8 mm): the patient's name and the directions are the
# largest text; the drug, BUD and barcode sit in the lower half.
PRESCRIPTION_LAYOUT = LabelLayout(
    kind="prescription",
    width_mm=101.6,
    height_mm=50.8,
    texts=(
        TextBlock("pharmacy_name", "{pharmacy_name}", 2.0, 1.4, 62.0, 4.2, 10, 6, bold=True),
        TextBlock(
            "pharmacy_phone",
            "{pharmacy_phone}",
            64.0,
            1.4,
            35.6,
            4.2,
            9,
            6,
            bold=True,
            align="right",
        ),
        TextBlock("pharmacy_address", "{pharmacy_address}", 2.0, 5.5, 97.6, 3.0, 7, 5),
        TextBlock(
            "rx_number",
            "Rx {rx_number}   Fill {fill_number}",
            2.0,
            9.3,
            44.0,
            4.0,
            10,
            6,
            bold=True,
        ),
        TextBlock("date_dispensed", "Filled {date_dispensed}", 46.0, 9.3, 27.0, 4.0, 8, 5),
        TextBlock(
            "compounded_statement",
            "{compounded_statement}",
            73.8,
            9.6,
            25.6,
            3.5,
            8,
            5,
            bold=True,
            align="center",
            upper=True,
        ),
        TextBlock("patient_name", "{patient_name}", 2.0, 13.5, 97.6, 5.6, 14, 8, bold=True),
        TextBlock(
            "directions",
            "{directions}",
            2.0,
            19.3,
            97.6,
            11.2,
            11,
            7,
            max_lines=4,
            valign="top",
        ),
        TextBlock("drug_strength", "{drug_strength}", 2.0, 31.2, 56.0, 4.2, 10, 6, bold=True),
        TextBlock("dosage_form_route", "{dosage_form_route}", 2.0, 35.4, 56.0, 3.0, 7.5, 5),
        TextBlock("quantity", "Qty: {quantity}", 2.0, 38.4, 56.0, 3.0, 7.5, 5),
        TextBlock("prescriber", "Prescriber: {prescriber}", 2.0, 41.4, 56.0, 3.0, 7.5, 5),
        TextBlock(
            "batch_lots",
            "Lot: {batch_lots}",
            2.0,
            44.4,
            56.0,
            3.0,
            7.5,
            5,
            bold=False,
        ),
        TextBlock("storage", "{storage}", 2.0, 47.4, 56.0, 3.0, 7.5, 5, bold=True),
        TextBlock(
            "bud",
            "Use by (BUD) {bud}",
            58.6,
            31.2,
            41.0,
            4.2,
            9.5,
            6,
            bold=True,
            align="right",
        ),
        TextBlock(
            "refills_left",
            "Refills left: {refills_left}",
            58.6,
            35.4,
            22.0,
            3.0,
            7.5,
            5,
        ),
        TextBlock(
            "pharmacist_initials",
            "RPh: {pharmacist_initials}",
            80.6,
            35.4,
            19.0,
            3.0,
            7.5,
            5,
            align="right",
        ),
    ),
    barcode=BarcodeBox(56.6, 38.6, 44.5, 11.4, 2.6, 7, 5),
    rules=(Rule(2.0, 8.9, 97.6, 0.35), Rule(2.0, 31.0, 97.6, 0.25)),
    frames=(Frame(73.8, 9.6, 25.6, 3.5, 0.35),),
)

# Vial label, 2.25 x 1.25 in (57.15 x 31.75 mm) inside a 1/16 in margin: drug and strength, the
# patient's name (fill vials) and the BUD are the largest text. The GS1 DataMatrix sits at the right
# beside the Rx, BUD, lot and storage lines; its human-readable element string runs along the foot.
_VX, _VW, _VCOL = 1.6, 53.95, 38.6
VIAL_LAYOUT = LabelLayout(
    kind="vial",
    width_mm=57.15,
    height_mm=31.75,
    texts=(
        TextBlock("drug_strength", "{drug_strength}", _VX, 1.6, _VW, 3.8, 10, 6, bold=True),
        TextBlock("volume", "{volume}", _VX, 5.4, 12.0, 2.8, 8.5, 5, bold=True),
        TextBlock("route", "{route}", 13.6, 5.4, 41.95, 2.8, 7.5, 4.5, align="right"),
        TextBlock("container_statement", "{container_statement}", _VX, 8.2, _VW, 2.4, 6.5, 4.5),
        TextBlock(
            "patient_name",
            "{patient_name}",
            _VX,
            10.6,
            _VW,
            3.0,
            9,
            4.5,
            bold=True,
            optional=True,
        ),
        TextBlock("rx_reference", "{rx_reference}", _VX, 13.6, 23.0, 2.3, 7, 4.5, optional=True),
        TextBlock(
            "serial",
            "Vial #{serial}",
            24.6,
            13.6,
            15.6,
            2.3,
            7,
            4.5,
            bold=True,
            align="right",
            optional=True,
        ),
        TextBlock("bud", "BUD {bud}", _VX, 15.9, _VCOL, 3.0, 9.5, 6, bold=True),
        TextBlock("lot", "Lot {lot}", _VX, 18.9, _VCOL, 2.4, 8, 5, bold=True),
        TextBlock("storage", "{storage}", _VX, 21.3, _VCOL, 2.3, 6.5, 4.5, bold=True),
        TextBlock(
            "compounded_statement",
            "{compounded_statement}",
            _VX,
            23.6,
            20.0,
            2.2,
            6,
            4.5,
            bold=True,
            align="center",
            upper=True,
        ),
        TextBlock(
            "pharmacy",
            "{pharmacy_name}  {pharmacy_phone}",
            _VX,
            25.8,
            _VW,
            2.2,
            6,
            4.5,
            align="center",
        ),
        TextBlock("barcode", "{barcode}", _VX, 28.0, _VW, 2.15, 6, 4.5, align="center"),
    ),
    barcode=MatrixBox(40.6, 13.4, 14.95, 12.4),
    rules=(),
    frames=(Frame(_VX, 23.6, 20.0, 2.2, 0.25),),
)

# Batch label, 4 x 2 in: lot and status are the largest text; status is framed.
BATCH_LAYOUT = LabelLayout(
    kind="batch",
    width_mm=101.6,
    height_mm=50.8,
    texts=(
        TextBlock(
            "formulation",
            "{formulation}",
            2.0,
            1.5,
            97.6,
            8.6,
            11,
            7,
            bold=True,
            max_lines=2,
            valign="top",
        ),
        TextBlock("lot", "Lot {lot}", 2.0, 10.6, 62.0, 6.8, 18, 9, bold=True),
        TextBlock(
            "status",
            "{status}",
            66.0,
            11.0,
            33.6,
            6.0,
            14,
            7,
            bold=True,
            align="center",
            upper=True,
        ),
        TextBlock("vials", "Vials: {vials}", 2.0, 18.2, 30.0, 4.0, 10, 6),
        TextBlock(
            "compounded_at",
            "Compounded {compounded_at}",
            32.0,
            18.2,
            67.6,
            4.0,
            10,
            6,
            align="right",
        ),
        TextBlock("bud", "BUD {bud}", 2.0, 22.4, 50.0, 5.0, 13, 7, bold=True),
        TextBlock(
            "storage",
            "{storage}",
            52.6,
            22.4,
            47.0,
            5.0,
            9,
            5,
            bold=True,
            max_lines=2,
            align="right",
        ),
    ),
    barcode=BarcodeBox(2.0, 29.2, 97.6, 20.2, 3.2, 9, 6),
    rules=(Rule(2.0, 28.2, 97.6, 0.3),),
    frames=(Frame(66.0, 11.0, 33.6, 6.0, 0.5),),
)

BASE_LAYOUTS = {
    PrescriptionLabel: (PRESCRIPTION_LAYOUT, PRESCRIPTION_STOCK),
    VialLabel: (VIAL_LAYOUT, VIAL_STOCK),
    BatchLabel: (BATCH_LAYOUT, BATCH_STOCK),
}

# Tuple fields print as one line; storage items are sentences.
JOINERS = {"batch_lots": ", ", "storage": ". "}


def layout_of(label: Label, stock: Stock | None = None) -> LabelLayout:
    """Return the layout for ``label``'s type scaled to ``stock`` (default: the type's stock).

    :raise TypeError: ``label`` is not one of the label dataclasses.
    """
    if type(label) not in BASE_LAYOUTS:
        raise TypeError(f"not a label: {type(label).__name__}")
    return layout_for(type(label), stock)


def default_stock(label_type: type) -> Stock:
    """Return the default stock of a label type (prescription 4 x 2, vial 2.25 x 1.25 in)."""
    return BASE_LAYOUTS[label_type][1]


def layout_for(label_type: type, stock: Stock | None = None) -> LabelLayout:
    """Return the layout of ``label_type`` scaled to ``stock`` (default: its own stock)."""
    stock = stock or default_stock(label_type)
    return _scaled_layout(label_type, round(stock.width_mm, 4), round(stock.height_mm, 4))


@lru_cache(maxsize=64)
def _scaled_layout(label_type: type, width_mm: float, height_mm: float) -> LabelLayout:
    """Return the cached scaled layout (stock sizes are few; labels are many)."""
    base = BASE_LAYOUTS[label_type][0]
    if math.isclose(width_mm, base.width_mm) and math.isclose(height_mm, base.height_mm):
        return within_margins(base)
    return within_margins(base.scaled(width_mm, height_mm))


def _extent(layout: LabelLayout) -> tuple[float, float, float, float]:
    """Return (left, top, right, bottom) of everything the layout draws, in mm."""
    boxes = [(t.x, t.y, t.x + t.w, t.y + t.h) for t in layout.texts]
    b = layout.barcode
    boxes.append((b.x, b.y, b.x + b.w, b.y + b.h))
    boxes += [(r.x, r.y - r.thickness / 2, r.x + r.w, r.y + r.thickness / 2) for r in layout.rules]
    boxes += [
        (f.x - f.thickness / 2, f.y - f.thickness / 2, f.x + f.w + f.thickness, f.y + f.h)
        for f in layout.frames
    ]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def within_margins(layout: LabelLayout, margin: float = MARGIN_MM) -> LabelLayout:
    """Return ``layout`` squeezed, where needed, to keep ``margin`` mm clear on every side.

    Each axis whose content reaches into the margin is mapped linearly onto the space inside it
    (font sizes stay: the text is fitted to the smaller boxes when drawn).
    """
    left, top, right, bottom = _extent(layout)
    lo_x, hi_x = max(left, margin), min(right, layout.width_mm - margin)
    lo_y, hi_y = max(top, margin), min(bottom, layout.height_mm - margin)
    if (lo_x, hi_x, lo_y, hi_y) == (left, right, top, bottom):
        return layout
    kx = (hi_x - lo_x) / (right - left)
    ky = (hi_y - lo_y) / (bottom - top)

    def mx(x: float) -> float:
        return lo_x + (x - left) * kx

    def my(y: float) -> float:
        return lo_y + (y - top) * ky

    texts = tuple(replace(t, x=mx(t.x), y=my(t.y), w=t.w * kx, h=t.h * ky) for t in layout.texts)
    b = layout.barcode
    barcode: BarcodeBox | MatrixBox
    if isinstance(b, MatrixBox):
        barcode = replace(b, x=mx(b.x), y=my(b.y), w=b.w * kx, h=b.h * ky)
    else:
        barcode = replace(b, x=mx(b.x), y=my(b.y), w=b.w * kx, h=b.h * ky, text_h=b.text_h * ky)
    rules = tuple(replace(r, x=mx(r.x), y=my(r.y), w=r.w * kx) for r in layout.rules)
    frames = tuple(replace(f, x=mx(f.x), y=my(f.y), w=f.w * kx, h=f.h * ky) for f in layout.frames)
    return replace(layout, texts=texts, barcode=barcode, rules=rules, frames=frames)


def field_text(label: Label, name: str) -> str:
    """Return one label field as printed text (tuples joined, numbers as written, None empty)."""
    value = getattr(label, name)
    if value is None:
        return ""
    if isinstance(value, Barcode):
        return human_readable(value)
    if isinstance(value, tuple):
        return JOINERS.get(name, ", ").join(str(v).strip() for v in value)
    return str(value).strip()


def shown(block: TextBlock, label: Label) -> bool:
    """Return whether the block is drawn: an optional block is left out when its fields are empty."""
    return not block.optional or any(field_text(label, f) for f in block.fields)


def block_text(block: TextBlock, label: Label) -> str:
    """Return the text of one block for ``label``."""
    text = block.template.format_map({f: field_text(label, f) for f in block.fields})
    return text.upper() if block.upper else text


# --- fitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fitted:
    """Hold text fitted to a block: font size and leading (pt), the lines and their widths (pt)."""

    size: float
    leading: float
    lines: tuple[str, ...]
    widths: tuple[float, ...]

    def ink_height_pt(self) -> float:
        """Return the height from the first line's ascender to the last line's descender."""
        return (len(self.lines) - 1) * self.leading + (ASCENT + DESCENT) * self.size


@lru_cache(maxsize=65536)
def unit_width(text: str, font: str) -> float:
    """Return the width of ``text`` at 1 pt (stringWidth is linear in the size)."""
    return float(stringWidth(text, font, 1000)) / 1000


def fit_text(block: TextBlock, text: str) -> Fitted:
    """Return ``text`` at the largest size (in 0.25 pt steps) that fits ``block``.

    :raise LabelOverflow: it does not fit even at ``block.min_pt`` (never truncated).
    """
    return _fit(
        text, block.font, block.w, block.h, block.max_pt, block.min_pt, block.max_lines, block.name
    )


@lru_cache(maxsize=16384)
def _fit(
    text: str,
    font: str,
    w: float,
    h: float,
    max_pt: float,
    min_pt: float,
    max_lines: int,
    name: str,
) -> Fitted:
    """Fit text to a w x h mm box (cached: the same text recurs across a print run)."""
    w_pt, h_pt = w * PT_PER_MM, h * PT_PER_MM
    # Upper bound from the height of one line and, for one line, the width: a closed form, so a
    # single-line block needs no search.
    limit = min(max_pt, h_pt / (ASCENT + DESCENT))
    if max_lines == 1:
        width = unit_width(text, font)
        if width:
            limit = min(limit, w_pt / width)
    size = math.floor(limit / SIZE_STEP + 1e-9) * SIZE_STEP
    words = text.split()
    while size >= min_pt - 1e-9:
        # One-line blocks keep their spacing as written ("Rx 100023   Fill 0").
        lines = (text,) if max_lines == 1 else _wrap(words, font, size, w_pt, max_lines)
        if lines is not None:
            widths = tuple(unit_width(line, font) * size for line in lines)
            fitted = Fitted(size, size * LEADING, lines, widths)
            if fitted.ink_height_pt() <= h_pt + 1e-6:
                return fitted
        size -= SIZE_STEP
    raise LabelOverflow(
        name, text, f"box {w:.1f} x {h:.1f} mm, {max_lines} line(s), minimum {min_pt:g} pt"
    )


def _wrap(
    words: list[str], font: str, size: float, w_pt: float, max_lines: int
) -> tuple[str, ...] | None:
    """Break words into at most ``max_lines`` lines no wider than ``w_pt``; None if impossible."""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if unit_width(candidate, font) * size <= w_pt + 1e-6:
            current = candidate
            continue
        if not current or unit_width(word, font) * size > w_pt + 1e-6:
            return None  # a single word wider than the box: only a smaller size can help
        lines.append(current)
        current = word
        if len(lines) >= max_lines:
            return None
    lines.append(current)
    return tuple(lines)


# --- barcode placement -----------------------------------------------------------------------


@dataclass(frozen=True)
class BarPlacement:
    """Hold the barcode's position on the printer's dot grid.

    ``x_dots``: left edge of the first bar; ``module_dots``: module width; ``dot_mm``: dot size.
    """

    x_dots: int
    module_dots: int
    dot_mm: float

    @property
    def module_mm(self) -> float:
        """Return the module width in millimetres."""
        return self.module_dots * self.dot_mm


def place_barcode(box: BarcodeBox, modules: int, dpi: int, text: str = "") -> BarPlacement:
    """Return the widest whole-dot module that fits ``box``, bars centred on the dot grid.

    Whole dots keep every bar edge on a print-head dot boundary, so a 203 dpi printer (and a
    raster of the PDF at that resolution) reproduces the bar widths exactly.

    :raise LabelOverflow: even ``box.min_module_mm`` does not fit the symbol and quiet zones.
    """
    dot_mm = MM_PER_INCH / dpi
    first = math.ceil(box.x / dot_mm - 1e-9)
    last = math.floor((box.x + box.w) / dot_mm + 1e-9)
    span = modules + 2 * QUIET_MODULES
    module = (last - first) // span
    minimum = max(1, math.ceil(box.min_module_mm / dot_mm - 0.05))
    if module < minimum:
        raise LabelOverflow(
            "barcode",
            text,
            f"{modules} modules need {span * minimum * dot_mm:.1f} mm at {dpi} dpi, "
            f"box is {box.w:.1f} mm",
        )
    spare = (last - first) - span * module
    return BarPlacement(first + spare // 2 + QUIET_MODULES * module, module, dot_mm)


@dataclass(frozen=True)
class MatrixPlacement:
    """Hold a DataMatrix on the printer's dot grid.

    Top-left of the symbol (quiet zone outside it), module size in dots, and the dot size in mm.
    """

    x_dots: int
    y_dots: int
    module_dots: int
    dot_mm: float

    @property
    def module_mm(self) -> float:
        """Return the module size in millimetres."""
        return self.module_dots * self.dot_mm


def place_matrix(box: MatrixBox, size: int, dpi: int, text: str = "") -> MatrixPlacement:
    """Return the largest whole-dot module that fits a symbol in ``box``.

    A ``size`` x ``size`` symbol and a one-module quiet zone fit ``box``, centred on the dot grid.

    :raise LabelOverflow: not even ``box.min_module_mm`` fits.
    """
    dot_mm = MM_PER_INCH / dpi
    x0 = math.ceil(box.x / dot_mm - 1e-9)
    x1 = math.floor((box.x + box.w) / dot_mm + 1e-9)
    y0 = math.ceil(box.y / dot_mm - 1e-9)
    y1 = math.floor((box.y + box.h) / dot_mm + 1e-9)
    span = size + 2  # the quiet zone: one module each side (SPEC 6.2)
    module = min((x1 - x0) // span, (y1 - y0) // span)
    minimum = max(1, math.ceil(box.min_module_mm / dot_mm - 0.05))
    if module < minimum:
        raise LabelOverflow(
            "barcode",
            text,
            f"a {size}x{size} DataMatrix needs {span * minimum * dot_mm:.1f} mm at {dpi} dpi, "
            f"box is {box.w:.1f} x {box.h:.1f} mm",
        )
    spare_x = (x1 - x0) - span * module
    spare_y = (y1 - y0) - span * module
    return MatrixPlacement(x0 + spare_x // 2 + module, y0 + spare_y // 2 + module, module, dot_mm)


@lru_cache(maxsize=16384)
def check_text(name: str, text: str) -> None:
    """Refuse characters the label font cannot draw (they would come out as blanks).

    :raise LabelError: ``text`` has a control character or one the label font lacks.
    """
    if _CONTROL.search(text):
        raise LabelError(name, "control characters cannot be printed")
    missing = missing_glyphs(text)
    if missing:
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
        raise LabelError(name, f"the label font cannot print {shown}")
