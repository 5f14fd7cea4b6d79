"""Printable batch worksheet (compounding record) as a letter-size PDF, laid out with platypus.

Plain values in, PDF bytes out: the caller formats every date and amount as it should be
printed. The record lists the batch facts, each component with its lot, the required and the
to-weigh amount and blank cells for what was weighed and who did and checked it, the
formulation's equipment and procedure steps (each with initials to write), the checks to sign
(visual inspection, yield reconciliation, compounded by, verified by) and the yield line.

Nothing is ever cut off or shortened (SPEC 6.5): every cell is a wrapping paragraph, tables
split across pages with their heading row repeated, and the document takes as many pages as it
needs, each numbered and headed with the lot. Nothing here knows Flask, the database or
``pharmacy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from labels.data import LabelError
from labels.fonts import FONT, FONT_BOLD, missing_glyphs

MARGIN = 0.6 * inch
WIDTH = letter[0] - 2 * MARGIN
GRID = colors.Color(0.35, 0.35, 0.35)
HEAD_FILL = colors.Color(0.9, 0.9, 0.9)

# Component table columns: (heading, width in inches); the widths add up to the printable width.
COLUMNS = (
    ("Component", 1.85),
    ("Lot", 1.15),
    ("Required", 0.95),
    ("Weigh / measure", 1.2),
    ("Weighed", 0.9),
    ("Tech", 0.6),
    ("RPh", 0.6),
)
# The checks to sign before the batch goes to quarantine (SPEC 6.5).
CHECKS = (
    (
        "Visual inspection",
        (
            "Every vial inspected against light and dark backgrounds: clear red solution, free "
            "of visible particles, intact seal and crimp."
        ),
    ),
    (
        "Yield reconciliation",
        "Vials filled + vials rejected + samples taken = vials planned; difference explained.",
    ),
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
    """Everything printed on a batch worksheet, as display strings.

    ``procedure``: the formulation's steps in order; ``equipment``: one item each;
    ``expected_yield``: the vials the batch should give (``40 vials of 10 mL``).
    """

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
    procedure: tuple[str, ...] = field(default=())
    equipment: tuple[str, ...] = field(default=())
    expected_yield: str = ""


def _styles() -> dict[str, ParagraphStyle]:
    """Return the paragraph styles (the embedded label font throughout)."""
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=10.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=11),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=FONT_BOLD, fontSize=9,
                                    leading=11),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=9, leading=11),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=16,
                                leading=19),
        "title_right": ParagraphStyle("title_right", parent=base, fontName=FONT_BOLD,
                                      fontSize=16, leading=19, alignment=2),
        "section": ParagraphStyle("section", parent=base, fontName=FONT_BOLD, fontSize=11.5,
                                  leading=14, spaceBefore=10, spaceAfter=4),
        "label": ParagraphStyle("label", parent=base, fontName=FONT_BOLD),
    }  # fmt: skip


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """Return ``text`` as a wrapping paragraph (markup characters escaped)."""
    return Paragraph(escape(text), style)


def render_worksheet(doc: WorksheetDocument) -> bytes:
    """Render the worksheet on as many letter pages as it needs and return the PDF bytes.

    :raise LabelError: a text has a character the worksheet font cannot draw.
    """
    _check(doc)
    buffer = BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 14,
        bottomMargin=MARGIN + 14,
        title=f"Batch worksheet {doc.lot_number}",
        author=doc.pharmacy_name,
        invariant=True,
        initialFontName=FONT,
    )

    def page_frame(canvas: Canvas, _template: object) -> None:
        """Head and foot every page with the lot and page number (pages get separated)."""
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, letter[1] - MARGIN, f"{doc.pharmacy_name} - batch worksheet")
        canvas.drawRightString(letter[0] - MARGIN, letter[1] - MARGIN, f"Lot {doc.lot_number}")
        canvas.drawString(MARGIN, MARGIN - 2, f"Lot {doc.lot_number}")
        canvas.drawRightString(letter[0] - MARGIN, MARGIN - 2, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()

    template.build(_story(doc, _styles()), onFirstPage=page_frame, onLaterPages=page_frame)
    return buffer.getvalue()


def _check(doc: WorksheetDocument) -> None:
    """Refuse text the embedded font cannot draw (it would print as blanks on a record)."""
    texts = [
        getattr(doc, name)
        for name in (
            "pharmacy_name",
            "lot_number",
            "formulation",
            "vials",
            "storage",
            "bud_rule",
            "bud_limited_by",
        )
    ]
    texts += [v for row in doc.rows for v in (row.component, row.lot, row.required, row.weigh)]
    texts += [*doc.notes, *doc.procedure, *doc.equipment, doc.expected_yield]  # fmt: skip
    for text in texts:
        missing = missing_glyphs(text)
        if missing:
            raise LabelError("worksheet", f"the worksheet font cannot print {missing[0]!r}")


def _story(doc: WorksheetDocument, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Return the flowables, top to bottom."""
    story: list[Flowable] = []
    title = Table(
        [[_p("Batch compounding worksheet", s["title"]), _p(doc.lot_number, s["title_right"])]],
        colWidths=[WIDTH * 0.6, WIDTH * 0.4],
        style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT),
                          ("ALIGN", (1, 0), (1, 0), "RIGHT"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                          ("RIGHTPADDING", (0, 0), (-1, -1), 0)]),
    )  # fmt: skip
    story.append(title)
    story.append(_p(f"{doc.pharmacy_name}    Status: {doc.status}", s["small"]))
    story.append(Spacer(1, 8))
    facts = [
        ("Formulation", doc.formulation),
        ("Batch", doc.vials),
        ("Compounded", doc.compounded_at),
        ("Beyond-use date", f"{doc.bud}  (limited by {doc.bud_limited_by})"),
        ("BUD rule", doc.bud_rule),
        ("Storage", doc.storage),
        ("Sterility test", doc.sterility),
    ]
    story.append(
        Table(
            [[_p(k, s["label"]), _p(v, s["body"])] for k, v in facts],
            colWidths=[1.3 * inch, WIDTH - 1.3 * inch],
            style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT),
                              ("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("TOPPADDING", (0, 0), (-1, -1), 1),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]),
        )
    )  # fmt: skip
    story += _components(doc, s)
    story += _equipment(doc, s)
    story += _procedure(doc, s)
    story += _checks(doc, s)
    return story


def _components(doc: WorksheetDocument, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Return the component table: heading row repeated on every page it runs onto."""
    head = [_p(heading, s["head"]) for heading, _ in COLUMNS]
    body = [
        [
            _p(row.component, s["cell"]),
            _p(row.lot, s["cell"]),
            _p(row.required, s["cell"]),
            _p(row.weigh, s["cell_bold"]),
            "",
            "",
            "",
        ]
        for row in doc.rows
    ]
    table = Table(
        [head, *body],
        colWidths=[w * inch for _, w in COLUMNS],
        repeatRows=1,
        rowHeights=None,
        style=_grid_style(),
    )
    notes = doc.notes or (
        "Weigh the active as shown: potency-adjusted for the lot's assay and loss on drying.",
        "Record the actual amount weighed or measured; initial each line.",
    )
    return [
        _p("Components", s["section"]),
        table,
        Spacer(1, 4),
        *[_p(note, s["small"]) for note in notes],
    ]


def _equipment(doc: WorksheetDocument, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Return the equipment list, each item with an ID / calibration cell to fill in."""
    items = list(doc.equipment) or ["", "", ""]
    rows = [[_p("Equipment", s["head"]), _p("ID / calibration due", s["head"]),
             _p("Checked (initials)", s["head"])]]  # fmt: skip
    rows += [[_p(item, s["cell"]), "", ""] for item in items]
    table = Table(
        rows,
        colWidths=[WIDTH - 2.9 * inch, 1.9 * inch, 1.0 * inch],
        repeatRows=1,
        style=_grid_style(min_height=18),
    )
    return [CondPageBreak(1.2 * inch), _p("Equipment", s["section"]), table]


def _procedure(doc: WorksheetDocument, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Return the numbered procedure steps, each with time and initials cells."""
    steps = list(doc.procedure) or ["", "", "", "", ""]
    rows = [[_p("#", s["head"]), _p("Procedure step", s["head"]), _p("Time", s["head"]),
             _p("Tech", s["head"]), _p("RPh", s["head"])]]  # fmt: skip
    rows += [[_p(str(i), s["cell"]), _p(step, s["cell"]), "", "", ""] for i, step in
             enumerate(steps, start=1)]  # fmt: skip
    table = Table(
        rows,
        colWidths=[0.35 * inch, WIDTH - 2.15 * inch, 0.6 * inch, 0.6 * inch, 0.6 * inch],
        repeatRows=1,
        style=_grid_style(min_height=20),
    )
    return [CondPageBreak(1.2 * inch), _p("Procedure", s["section"]), table]


def _checks(doc: WorksheetDocument, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Return the yield line and the checks to sign (kept together on one page)."""
    expected = doc.expected_yield or doc.vials
    yield_table = Table(
        [
            [_p("Yield", s["head"]), _p("Expected", s["head"]), _p("Filled", s["head"]),
             _p("Rejected", s["head"]), _p("Samples", s["head"]), _p("Yield %", s["head"])],
            [_p("Vials", s["cell"]), _p(expected, s["cell"]), "", "", "", ""],
        ],
        colWidths=[0.9 * inch, WIDTH - 4.9 * inch, 1.0 * inch, 1.0 * inch, 1.0 * inch, 1.0 * inch],
        style=_grid_style(min_height=22),
    )  # fmt: skip
    checks = [[_p("Check", s["head"]), _p("Result", s["head"]), _p("Initials", s["head"]),
               _p("Date / time", s["head"])]]  # fmt: skip
    checks += [[Paragraph(f"<b>{escape(name)}</b>: {escape(what)}", s["cell"]), "", "", ""]
               for name, what in CHECKS]  # fmt: skip
    check_table = Table(
        checks,
        colWidths=[WIDTH - 3.4 * inch, 1.2 * inch, 0.9 * inch, 1.3 * inch],
        style=_grid_style(min_height=26),
    )
    signatures = Table(
        [
            [_p("Sign-off", s["head"]), _p("Name", s["head"]), _p("Signature", s["head"]),
             _p("Date / time", s["head"])],
            [_p("Compounded by (technician)", s["cell"]), "", "", ""],
            [_p("Verified by (pharmacist)", s["cell"]), "", "", ""],
        ],
        colWidths=[1.9 * inch, 1.9 * inch, WIDTH - 5.1 * inch, 1.3 * inch],
        style=_grid_style(min_height=30),
    )  # fmt: skip
    return [
        Spacer(1, 6),
        KeepTogether([_p("Yield", s["section"]), yield_table]),
        KeepTogether([_p("Checks", s["section"]), check_table, Spacer(1, 8), signatures]),
    ]


def _grid_style(min_height: float = 0) -> TableStyle:
    """Return the ruled-table style: grid, shaded heading row, cells aligned top."""
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4 + min_height / 3),
    ]
    return TableStyle(commands)
