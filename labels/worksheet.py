"""Printable batch worksheet (compounding record) as a letter-size PDF.

Plain values in, PDF bytes out: the caller formats every date and amount as it should be
printed. The page lists each component with its lot, the required and the to-weigh amount,
blank "weighed" and initials cells for the technician and the pharmacist's check, then the
BUD and what limited it, and sign-off lines. Nothing here knows Flask, the database or
``pharmacy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
MARGIN = 0.6 * inch
ROW_HEIGHT = 0.36 * inch

# Table columns: (heading, width in inches); the widths add up to the printable width.
COLUMNS = (
    ("Component", 1.85),
    ("Lot", 1.15),
    ("Required", 0.95),
    ("Weigh / measure", 1.2),
    ("Weighed", 0.9),
    ("Tech", 0.6),
    ("RPh", 0.6),
)


@dataclass(frozen=True)
class WorksheetRow:
    """One component line: amounts already formatted with their unit (``33.105 mg``)."""

    component: str
    lot: str
    required: str
    weigh: str  # e.g. "33.105 mg" or "q.s. to 31.500 mL"


@dataclass(frozen=True)
class WorksheetDocument:
    """Everything printed on a batch worksheet, as display strings."""

    pharmacy_name: str
    lot_number: str
    formulation: str  # e.g. "CYB-10ML-MDV v1 - Cyanocobalamin 1,000 mcg/mL, 10 mL MDV"
    vials: str  # e.g. "40 x 10 mL (+0.5 mL overfill) = 420 mL"
    compounded_at: str
    bud: str
    bud_limited_by: str  # "USP <797> table" or "ingredient lot FG-1 expiry"
    bud_rule: str
    storage: str
    status: str
    sterility: str
    rows: tuple[WorksheetRow, ...]
    notes: tuple[str, ...] = field(default=())


def render_worksheet(doc: WorksheetDocument) -> bytes:
    """Render the worksheet on one or more letter pages and return the PDF bytes."""
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True)
    canvas.setTitle(f"Batch worksheet {doc.lot_number}")
    width, height = letter
    y = _header(canvas, doc, height)
    y = _table_head(canvas, y)
    for row in doc.rows:
        if y - ROW_HEIGHT < MARGIN + 2.4 * inch:
            canvas.showPage()
            y = _table_head(canvas, height - MARGIN)
        y = _table_row(canvas, row, y)
    y -= 0.3 * inch
    _footer(canvas, doc, y)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _header(canvas: Canvas, doc: WorksheetDocument, top: float) -> float:
    """Draw the title block; return the y below it."""
    y = top - MARGIN
    canvas.setFont(BOLD, 16)
    canvas.drawString(MARGIN, y, "Batch compounding worksheet")
    canvas.setFont(BOLD, 16)
    canvas.drawRightString(letter[0] - MARGIN, y, doc.lot_number)
    y -= 0.22 * inch
    canvas.setFont(FONT, 9)
    canvas.drawString(MARGIN, y, doc.pharmacy_name)
    canvas.drawRightString(letter[0] - MARGIN, y, f"Status: {doc.status}")
    y -= 0.35 * inch
    facts = (
        ("Formulation", doc.formulation),
        ("Batch", doc.vials),
        ("Compounded", doc.compounded_at),
        ("Beyond-use date", f"{doc.bud}  (limited by {doc.bud_limited_by})"),
        ("BUD rule", doc.bud_rule),
        ("Storage", doc.storage),
        ("Sterility test", doc.sterility),
    )
    for label, value in facts:
        canvas.setFont(BOLD, 9.5)
        canvas.drawString(MARGIN, y, label)
        canvas.setFont(FONT, 9.5)
        canvas.drawString(MARGIN + 1.3 * inch, y, _fit(value, FONT, 9.5, 5.9 * inch))
        y -= 0.2 * inch
    return y - 0.15 * inch


def _table_head(canvas: Canvas, y: float) -> float:
    """Draw the column headings; return the y of the first row's top."""
    canvas.setFillGray(0.9)
    canvas.rect(MARGIN, y - ROW_HEIGHT, _table_width(), ROW_HEIGHT, stroke=0, fill=1)
    canvas.setFillGray(0)
    canvas.setFont(BOLD, 9)
    x = MARGIN
    for heading, width_in in COLUMNS:
        canvas.drawString(x + 4, y - ROW_HEIGHT + 9, heading)
        x += width_in * inch
    _grid_line(canvas, y)
    _grid_line(canvas, y - ROW_HEIGHT)
    return y - ROW_HEIGHT


def _table_row(canvas: Canvas, row: WorksheetRow, y: float) -> float:
    """Draw one component row with empty cells to write in; return the next row's top."""
    values = (row.component, row.lot, row.required, row.weigh, "", "", "")
    x = MARGIN
    canvas.setFont(FONT, 9.5)
    for (heading, width_in), value in zip(COLUMNS, values, strict=True):
        font = BOLD if heading == "Weigh / measure" else FONT
        canvas.setFont(font, 9.5)
        canvas.drawString(x + 4, y - ROW_HEIGHT + 9, _fit(value, font, 9.5, width_in * inch - 8))
        x += width_in * inch
    bottom = y - ROW_HEIGHT
    _grid_line(canvas, bottom)
    x = MARGIN
    canvas.setLineWidth(0.5)
    for _, width_in in COLUMNS:
        canvas.line(x, y, x, bottom)
        x += width_in * inch
    canvas.line(x, y, x, bottom)
    return bottom


def _footer(canvas: Canvas, doc: WorksheetDocument, y: float) -> None:
    """Draw notes and the sign-off lines."""
    canvas.setFont(FONT, 8.5)
    notes = doc.notes or (
        "Weigh the active as shown: potency-adjusted for the lot's assay and loss on drying.",
        "Record the actual amount weighed or measured; initial each line.",
    )
    for note in notes:
        canvas.drawString(MARGIN, y, _fit(note, FONT, 8.5, _table_width()))
        y -= 0.17 * inch
    y -= 0.35 * inch
    for role in ("Compounded by (technician)", "Checked and released by (pharmacist)"):
        canvas.setLineWidth(0.7)
        canvas.line(MARGIN, y, MARGIN + 3.6 * inch, y)
        canvas.line(MARGIN + 3.9 * inch, y, MARGIN + 5.0 * inch, y)
        canvas.line(MARGIN + 5.3 * inch, y, MARGIN + _table_width(), y)
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, y - 11, f"{role}: name")
        canvas.drawString(MARGIN + 3.9 * inch, y - 11, "Initials")
        canvas.drawString(MARGIN + 5.3 * inch, y - 11, "Date / time")
        y -= 0.55 * inch


def _grid_line(canvas: Canvas, y: float) -> None:
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, y, MARGIN + _table_width(), y)


def _table_width() -> float:
    return sum(width for _, width in COLUMNS) * inch


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Shorten ``text`` with an ellipsis so it fits ``width`` points (worksheets never clip)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."
