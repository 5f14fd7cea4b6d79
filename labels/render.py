"""Render labels to PDF with reportlab: one label a page, the page the size of the stock.

One draw function per element (text block, barcode, rule, frame); geometry comes from
``labels.layout``. Output is byte-stable (``invariant=True``) so golden files and caches work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from io import BytesIO

from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.pathobject import PDFPathObject
from reportlab.pdfgen.textobject import PDFTextObject

from labels.barcode import encode, human_readable
from labels.data import (
    Barcode,
    BatchLabel,
    Label,
    LabelError,
    PrescriptionLabel,
    Stock,
    VialLabel,
    check_label,
)
from labels.datamatrix import encode_matrix, is_matrix
from labels.fonts import ASCENT, FONT
from labels.layout import (
    PRINTER_DPIS,
    PT_PER_MM,
    BarcodeBox,
    Fitted,
    Frame,
    LabelLayout,
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

# Each bar is drawn this many dots narrower on each side. Bar edges then fall strictly inside a
# dot instead of on a boundary, so a rasteriser that rounds edges outwards (pdfium does, and so do
# many printer drivers) cannot widen every bar by a dot: at 2-dot modules that 50 % bar gain made
# the symbol unreadable. A quarter dot or less is far below what a scanner notices.
BAR_INSET_DOTS = 0.2


def render_pdf(
    labels: Sequence[PrescriptionLabel | VialLabel | BatchLabel],
    stock: Stock | Mapping[type, Stock] | None = None,
    *,
    dpi: int = 203,
) -> bytes:
    """Render ``labels`` as one PDF, one label a page, and return its bytes.

    :param stock: label stock for every page, or a stock per label type (each page is the size
        of its own label's stock); default, and for types the mapping leaves out: each label
        type's own stock (prescription and batch 4 x 2 in, vial 2.25 x 1.25 in).
    :param dpi: the label printer's resolution; bar modules are whole printer dots at it.
    :raise LabelError: a required element is empty or has characters the font cannot print.
    :raise LabelOverflow: an element does not fit its box even at its minimum size.
    """
    if dpi not in PRINTER_DPIS:
        raise LabelError("dpi", f"printer resolution must be one of {PRINTER_DPIS}, got {dpi}")
    if not labels:
        raise LabelError("labels", "nothing to render")
    buf = BytesIO()
    canvas = Canvas(buf, invariant=True, initialFontName=FONT)
    for label in labels:
        page_stock = stock.get(type(label)) if isinstance(stock, Mapping) else stock
        _draw_label(canvas, label, layout_of(label, page_stock), dpi)
    canvas.save()
    return buf.getvalue()


def check_symbology(label: Label, layout: LabelLayout) -> None:
    """Refuse a barcode of the wrong kind for the label.

    Vial labels carry a DataMatrix (SPEC 6.2), prescription and batch labels a linear barcode.

    :raise LabelError: naming ``barcode``.
    """
    wants_matrix = isinstance(layout.barcode, MatrixBox)
    if is_matrix(label.barcode) != wants_matrix:
        kind = "a DataMatrix" if wants_matrix else "a Code 128 or GS1-128 barcode"
        raise LabelError("barcode", f"the {layout.kind} label carries {kind}")


def _draw_label(canvas: Canvas, label: Label, layout: LabelLayout, dpi: int) -> None:
    """Draw one label on its own page."""
    check_label(label)
    check_symbology(label, layout)
    # Fit everything before drawing, so a refused label leaves no half-drawn page behind.
    texts = [
        (block, _fitted(block, block_text(block, label)))
        for block in layout.texts
        if shown(block, label)
    ]
    barcode = label.barcode
    readable = human_readable(barcode)
    page_h = layout.height_mm * PT_PER_MM
    if isinstance(layout.barcode, BarcodeBox):
        readable_block = layout.barcode.text_block()
        texts.append((readable_block, _fitted(readable_block, readable)))
        path = _bars_path(layout.barcode, barcode, readable, page_h, dpi)
    else:
        path = _matrix_path(layout.barcode, barcode, readable, page_h, dpi)
    canvas.setPageSize((layout.width_mm * PT_PER_MM, page_h))
    canvas.drawPath(path, stroke=0, fill=1)
    # One text object for the page, blocks grouped by font and size: each font change and each
    # separate string costs PDF operators, and these are most of a label's content stream.
    text = canvas.beginText()
    font = None
    for block, fitted in sorted(texts, key=lambda item: (item[0].font, item[1].size)):
        font = _draw_text(text, block, fitted, page_h, font)
    canvas.drawText(text)
    for rule in layout.rules:
        _draw_rule(canvas, rule, page_h)
    for frame in layout.frames:
        _draw_frame(canvas, frame, page_h)
    canvas.showPage()


def _fitted(block: TextBlock, text: str) -> Fitted:
    """Check and fit one element's text."""
    check_text(block.name, text)
    return fit_text(block, text)


def _draw_text(
    text: PDFTextObject,
    block: TextBlock,
    fitted: Fitted,
    page_h: float,
    font: tuple[str, float] | None,
) -> tuple[str, float]:
    """Draw a fitted text block; return the font now set, so unchanged fonts are not re-set."""
    wanted = (block.font, fitted.size)
    if wanted != font:
        text.setFont(block.font, fitted.size, fitted.leading)
    top = block.y * PT_PER_MM
    if block.valign == "middle":
        top += (block.h * PT_PER_MM - fitted.ink_height_pt()) / 2
    baseline = page_h - top - ASCENT * fitted.size
    x0 = block.x * PT_PER_MM
    spare = block.w * PT_PER_MM
    for line, width in zip(fitted.lines, fitted.widths):
        # Aligned with the widths measured when fitting, not re-measured by reportlab.
        if block.align == "left":
            x = x0
        elif block.align == "right":
            x = x0 + spare - width
        else:
            x = x0 + (spare - width) / 2
        text.setTextOrigin(x, baseline)
        text.textLine(line)
        baseline -= fitted.leading
    return wanted


@lru_cache(maxsize=1024)
def _matrix_path(
    box: MatrixBox, barcode: Barcode, readable: str, page_h: float, dpi: int
) -> PDFPathObject:
    """Return the DataMatrix as vector squares on the dot grid.

    One rectangle per run of dark modules in a row (each vial's serial makes its own symbol, so
    few paths repeat).
    """
    matrix = encode_matrix(barcode)
    place = place_matrix(box, matrix.rows, dpi, readable)
    dot = place.dot_mm * PT_PER_MM
    module = place.module_dots * dot
    x0 = place.x_dots * dot
    top = page_h - place.y_dots * dot
    path = PDFPathObject()
    for row, col, length in matrix.runs:
        path.rect(x0 + col * module, top - (row + 1) * module, length * module, module)
    return path


@lru_cache(maxsize=1024)
def _bars_path(
    box: BarcodeBox, barcode: Barcode, readable: str, page_h: float, dpi: int
) -> PDFPathObject:
    """Return the path of all bars (cached: the vials of one batch share one barcode)."""
    encoded = encode(barcode)
    place = place_barcode(box, encoded.modules, dpi, readable)
    dot = place.dot_mm * PT_PER_MM
    module = place.module_dots * dot
    inset = BAR_INSET_DOTS * dot
    x0 = place.x_dots * dot + inset
    bottom = page_h - (box.y + box.bar_h) * PT_PER_MM
    height = box.bar_h * PT_PER_MM
    path = PDFPathObject()
    for first, width in encoded.bars:
        path.rect(x0 + first * module, bottom, width * module - 2 * inset, height)
    return path


def _draw_rule(canvas: Canvas, rule: Rule, page_h: float) -> None:
    """Draw a horizontal rule."""
    canvas.setLineWidth(rule.thickness * PT_PER_MM)
    y = page_h - rule.y * PT_PER_MM
    canvas.line(rule.x * PT_PER_MM, y, (rule.x + rule.w) * PT_PER_MM, y)


def _draw_frame(canvas: Canvas, frame: Frame, page_h: float) -> None:
    """Draw a rectangle outline."""
    canvas.setLineWidth(frame.thickness * PT_PER_MM)
    canvas.rect(
        frame.x * PT_PER_MM,
        page_h - (frame.y + frame.h) * PT_PER_MM,
        frame.w * PT_PER_MM,
        frame.h * PT_PER_MM,
        stroke=1,
        fill=0,
    )
