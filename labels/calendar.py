"""Render the patient's dosing calendar: a US-letter PDF to take home.

Page one opens with the prescription (pharmacy, patient, Rx, drug, directions) and a key; then
month grids (Sunday-first weeks, two months a row) mark every dose day with its phase, the vial
the dose comes from, the vial discard-by days and the lab checkpoints; lists of checkpoints,
vials and every dose (with a tick box) follow. Phases are told apart by a number in a circle as
well as by colour, and discard days and checkpoints by words, so a black-and-white print reads
the same as a colour one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO

from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from labels.data import CalendarData, CalendarDose, LabelError
from labels.fonts import ASCENT, FONT, FONT_BOLD
from labels.layout import (
    PT_PER_MM,
    TextBlock,
    check_text,
    fit_text,
    unit_width,
)

PAGE_W, PAGE_H = letter
MARGIN = 36.0
CONTENT_W = PAGE_W - 2 * MARGIN
GUTTER = 18.0
MONTH_W = (CONTENT_W - GUTTER) / 2
CELL_W = MONTH_W / 7
CELL_H = 30.0
MONTH_TITLE_H = 18.0
WEEKDAY_H = 12.0
FOOTER_H = 20.0
WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Light tints of the Okabe-Ito palette (distinguishable with colour-blindness); black text on
# them stays readable, and the phase number carries the meaning in black and white.
PHASE_TINTS = tuple(
    HexColor(c) for c in ("#F9D3A5", "#B5DEF5", "#A8E2CB", "#F7EFA0", "#E9C3DC", "#D9D9D9")
)
GRID_GREY = HexColor("#9A9A9A")
REQUIRED = ("pharmacy_name", "pharmacy_phone", "patient_name", "rx_number", "drug_strength", "sig")


def header_blocks() -> tuple[TextBlock, ...]:
    """Return the calendar's header boxes that print an order's texts (also for ``check_fit``).

    Templates read label field names: ``directions`` is the calendar's ``sig``.
    """
    width = CONTENT_W / PT_PER_MM
    return (
        TextBlock("patient_name", "Patient: {patient_name}", 0, 0, width, 20 / PT_PER_MM, 14, 9,
                  bold=True),
        TextBlock("drug_strength", "Rx {rx_number}    {drug_strength}", 0, 0, width,
                  16 / PT_PER_MM, 11, 8, bold=True),
        TextBlock("directions", "Directions: {directions}", 0, 0, width, 44 / PT_PER_MM, 11, 8,
                  max_lines=3),
    )  # fmt: skip


def render_calendar(data: CalendarData) -> bytes:
    """Render the patient dosing calendar for ``data`` as US-letter PDF bytes.

    :raise LabelError: a required header element is empty, there are no doses, or a text has
        characters the font cannot print.
    :raise LabelOverflow: the patient name or directions do not fit the header.
    """
    _check(data)
    buf = BytesIO()
    canvas = Canvas(buf, pagesize=letter, invariant=True, initialFontName=FONT)
    canvas.setTitle(f"Dosing calendar - Rx {data.rx_number}")
    _Calendar(canvas, data).draw()
    canvas.save()
    return buf.getvalue()


def _check(data: CalendarData) -> None:
    """Refuse a calendar with missing header elements or no doses."""
    for name in REQUIRED:
        value = getattr(data, name)
        if not str(value).strip():
            raise LabelError(name, "required on the dosing calendar but empty")
        check_text(name, str(value))
    if not data.doses:
        raise LabelError("doses", "a dosing calendar needs at least one dose")
    for _, description in (*data.phases, *data.checkpoints):
        check_text("calendar", description)
    for dose in data.doses:
        check_text("dose_text", dose.dose_text)


def fmt_day(day: date) -> str:
    """Return a date the way patients read it: ``Tue, Dec 1, 2026``."""
    return f"{WEEKDAYS[_column(day)]}, {MONTHS[day.month - 1][:3]} {day.day}, {day.year}"


def _column(day: date) -> int:
    """Return the Sunday-first weekday column (Sunday 0 ... Saturday 6)."""
    return (day.weekday() + 1) % 7


@dataclass
class _DayMarks:
    """Collect what one calendar day shows."""

    doses: list[CalendarDose]
    discards: list[int]
    checkpoints: list[str]


class _Calendar:
    """Lay out and draw the calendar pages, top to bottom, starting pages as needed."""

    def __init__(self, canvas: Canvas, data: CalendarData) -> None:
        """Index the doses, discard days and checkpoints by date."""
        self.c = canvas
        self.data = data
        self.page = 1
        self.y = PAGE_H - MARGIN
        self.days: dict[date, _DayMarks] = defaultdict(lambda: _DayMarks([], [], []))
        for dose in data.doses:
            self.days[dose.date].doses.append(dose)
        discards = {(number, discard) for number, _, discard in data.vials}
        discards |= {
            (d.vial, d.vial_discard_by) for d in data.doses if d.vial and d.vial_discard_by
        }
        for number, discard in sorted(discards):
            self.days[discard].discards.append(number)
        for day, description in data.checkpoints:
            self.days[day].checkpoints.append(description)
        self.phase_names = dict(data.phases)

    # --- flow ---------------------------------------------------------------------------------

    def draw(self) -> None:
        """Draw every section."""
        self._header()
        self._continuity()
        self._key()
        self._months()
        self._checkpoint_list()
        self._vial_list()
        self._dose_list()
        self._footer()

    def _need(self, height: float) -> None:
        """Start a new page unless ``height`` points fit above the footer."""
        if self.y - height < MARGIN + FOOTER_H:
            self._footer()
            self.c.showPage()
            self.page += 1
            self.y = PAGE_H - MARGIN
            self._running_head()

    def _running_head(self) -> None:
        """Name the patient and Rx on continuation pages (pages get separated)."""
        self.c.setFont(FONT_BOLD, 10)
        head = f"{self.data.patient_name}  -  Rx {self.data.rx_number}"
        self.c.drawString(MARGIN, self.y - 10, head)
        self.c.setFont(FONT, 9)
        self.c.drawRightString(PAGE_W - MARGIN, self.y - 10, "Dosing calendar (continued)")
        self.y -= 22

    def _footer(self) -> None:
        """Draw the page footer: who to call, and the page number."""
        self.c.setFont(FONT, 8)
        self.c.setFillColor(black)
        self.c.drawString(
            MARGIN,
            MARGIN,
            f"Questions about your doses? Call {self.data.pharmacy_name} at "
            f"{self.data.pharmacy_phone}.",
        )
        self.c.drawRightString(PAGE_W - MARGIN, MARGIN, f"Page {self.page}")

    def _text(
        self,
        text: str,
        name: str,
        size: tuple[float, float],
        h: float,
        *,
        x: float = MARGIN,
        bold: bool = False,
        lines: int = 1,
    ) -> float:
        """Draw text shrunk to fit from ``x`` to the right margin, ``h`` pt high, at the cursor.

        :param size: (largest, smallest) font size in points.
        :return: the height used, in points.
        :raise LabelOverflow: it does not fit at the smallest size.
        """
        w = PAGE_W - MARGIN - x
        block = TextBlock(
            name,
            "",
            0,
            0,
            w / PT_PER_MM,
            h / PT_PER_MM,
            size[0],
            size[1],
            bold=bold,
            max_lines=lines,
        )
        fitted = fit_text(block, text)
        self.c.setFillColor(black)
        self.c.setFont(block.font, fitted.size)
        baseline = self.y - ASCENT * fitted.size
        for line in fitted.lines:
            self.c.drawString(x, baseline, line)
            baseline -= fitted.leading
        return fitted.ink_height_pt() + 4

    # --- sections -----------------------------------------------------------------------------

    def _header(self) -> None:
        """Draw the title, pharmacy, patient, Rx, drug and directions."""
        c, d = self.c, self.data
        c.setFont(FONT_BOLD, 17)
        c.drawString(MARGIN, self.y - 17, "Your vitamin B12 injection calendar")
        c.setFont(FONT_BOLD, 10)
        c.drawRightString(PAGE_W - MARGIN, self.y - 10, d.pharmacy_name)
        c.setFont(FONT, 10)
        c.drawRightString(PAGE_W - MARGIN, self.y - 23, d.pharmacy_phone)
        self.y -= 34
        c.setLineWidth(0.8)
        c.line(MARGIN, self.y, PAGE_W - MARGIN, self.y)
        self.y -= 8
        values = {
            "patient_name": d.patient_name,
            "rx_number": d.rx_number,
            "drug_strength": d.drug_strength,
            "directions": d.sig,
        }
        for block in header_blocks():
            text = block.template.format_map(values)
            name = "sig" if block.name == "directions" else block.name
            self.y -= self._text(
                text,
                name,
                (block.max_pt, block.min_pt),
                block.h * PT_PER_MM,
                bold=block.bold,
                lines=block.max_lines,
            )
        self.y -= 6

    def _continuity(self) -> None:
        """Say when the next fill is due and which dose days no dispensed vial covers yet."""
        d = self.data
        if d.next_fill_due:
            self.y -= self._text(
                f"Next fill due: {fmt_day(d.next_fill_due)} - pick it up before your supply "
                "runs out.",
                "next_fill_due",
                (11, 8),
                30,
                bold=True,
                lines=2,
            )
        if d.uncovered_doses:
            days = "; ".join(fmt_day(day) for day in sorted(d.uncovered_doses))
            self._section("Doses not yet covered by your vials")
            self._line(
                f"{len(d.uncovered_doses)} dose day(s) need the next fill: {days}.",
                lines=None,
            )
            self.y -= 6

    def _key(self) -> None:
        """Draw the key: one swatch per phase, then the vial, discard and lab markers."""
        c = self.c
        c.setFont(FONT_BOLD, 10)
        c.drawString(MARGIN, self.y - 10, "How to read this calendar")
        self.y -= 16
        for number in self._phase_numbers():
            self._need(26)
            _phase_marker(c, MARGIN + 7, self.y - 6, number)
            label = f"Phase {number}: {self.phase_names.get(number, 'doses')}"
            used = self._text(label, "phases", (9, 6.5), 24, x=MARGIN + 18, lines=2)
            self.y -= max(15.0, used + 3)
        self._need(30)
        c.setFont(FONT, 9)
        c.setFillColor(black)
        c.setFont(FONT_BOLD, 8)
        c.drawString(MARGIN, self.y - 9, "V2")
        c.setFont(FONT, 9)
        c.drawString(MARGIN + 18, self.y - 9, "the dose is drawn from vial 2")
        _discard_marker(c, MARGIN + 190, self.y - 9, 2)
        c.setFillColor(black)
        c.setFont(FONT, 9)
        c.drawString(MARGIN + 232, self.y - 9, "throw vial 2 away on this day, even if not empty")
        self.y -= 15
        _lab_marker(c, MARGIN, self.y - 9)
        c.setFillColor(black)
        c.setFont(FONT, 9)
        c.drawString(MARGIN + 22, self.y - 9, "blood test due (see the list below)")
        self.y -= 22

    def _phase_numbers(self) -> list[int]:
        """Return the phases in the legend and the doses, in order."""
        return sorted(set(self.phase_names) | {dose.phase for dose in self.data.doses})

    def _months(self) -> None:
        """Draw the month grids, two a row, for every month with a dose or another mark."""
        months = sorted({(day.year, day.month) for day in self.days})
        for i in range(0, len(months), 2):
            pair = months[i : i + 2]
            height = max(self._month_height(*m) for m in pair)
            self._need(height)
            for j, (year, month) in enumerate(pair):
                self._month(year, month, MARGIN + j * (MONTH_W + GUTTER), self.y)
            self.y -= height + 12

    def _month_height(self, year: int, month: int) -> float:
        """Return the height of one month grid (4 to 6 week rows)."""
        return MONTH_TITLE_H + WEEKDAY_H + len(_weeks(year, month)) * CELL_H

    def _month(self, year: int, month: int, x: float, top: float) -> None:
        """Draw one month grid with its marked days."""
        c = self.c
        c.setFillColor(black)
        c.setFont(FONT_BOLD, 12)
        c.drawString(x, top - 13, f"{MONTHS[month - 1]} {year}")
        y = top - MONTH_TITLE_H
        c.setFont(FONT_BOLD, 7.5)
        for col, name in enumerate(WEEKDAYS):
            c.drawCentredString(x + (col + 0.5) * CELL_W, y - 9, name)
        y -= WEEKDAY_H
        c.setLineWidth(0.4)
        for row, week in enumerate(_weeks(year, month)):
            for col, day in enumerate(week):
                cx, cy = x + col * CELL_W, y - (row + 1) * CELL_H
                self._cell(day if day.month == month else None, cx, cy)

    def _cell(self, day: date | None, x: float, y: float) -> None:
        """Draw one day cell (``None``: a day of the neighbouring month, left blank)."""
        c = self.c
        marks = self.days.get(day) if day else None
        if marks and marks.doses:
            c.setFillColor(_tint(marks.doses[0].phase))
            c.rect(x, y, CELL_W, CELL_H, stroke=0, fill=1)
        c.setStrokeColor(GRID_GREY)
        c.rect(x, y, CELL_W, CELL_H, stroke=1, fill=0)
        c.setStrokeColor(black)
        if day is None:
            return
        c.setFillColor(black)
        c.setFont(FONT, 8)
        c.drawString(x + 2.5, y + CELL_H - 9, str(day.day))
        if not marks:
            return
        if marks.doses:
            dose = marks.doses[0]
            _phase_marker(c, x + CELL_W - 8, y + CELL_H - 8, dose.phase)
            c.setFillColor(black)
            vials = sorted({d.vial for d in marks.doses if d.vial})
            if vials:
                c.setFont(FONT_BOLD, 8)
                c.drawString(x + 2.5, y + CELL_H - 19.5, " ".join(f"V{v}" for v in vials))
        line_y = y + 3
        for number in reversed(marks.discards):
            _discard_marker(c, x + 2, line_y, number)
            line_y += 8
        if marks.checkpoints:
            _lab_marker(c, x + CELL_W - 20, y + CELL_H - 20.5)
        c.setFillColor(black)

    def _checkpoint_list(self) -> None:
        """List the monitoring checkpoints with their dates."""
        if not self.data.checkpoints:
            return
        self._section("Blood tests (monitoring checkpoints)")
        for day, description in sorted(self.data.checkpoints):
            self._line(f"{fmt_day(day)}:  {description}", lab=True)
        self.y -= 6

    def _vial_list(self) -> None:
        """List each vial: when it is first used and when to throw it away."""
        if not self.data.vials:
            return
        self._section("Vials")
        for number, opened, discard in sorted(self.data.vials):
            self._line(
                f"Vial {number}: first use {fmt_day(opened)}; throw away on {fmt_day(discard)}"
            )
        self.y -= 6

    def _dose_list(self) -> None:
        """List every dose with a tick box, two columns read top to bottom, over pages."""
        self._section("Dose checklist (tick each dose when given)")
        remaining = sorted(self.data.doses, key=lambda d: (d.date, d.phase))
        row_h, col_w = 13.0, CONTENT_W / 2
        while remaining:
            self._need(row_h)
            rows = int((self.y - MARGIN - FOOTER_H) // row_h)
            block, remaining = remaining[: 2 * rows], remaining[2 * rows :]
            per_column = -(-len(block) // 2)
            for i, dose in enumerate(block):
                column, row = divmod(i, per_column)
                x = MARGIN + column * col_w
                y = self.y - (row + 1) * row_h
                self.c.setLineWidth(0.6)
                self.c.rect(x, y + 1, 8, 8, stroke=1, fill=0)
                vial = f", vial {dose.vial}" if dose.vial else ""
                text = f"{fmt_day(dose.date)}  phase {dose.phase}: {dose.dose_text}{vial}"
                fitted = fit_text(
                    TextBlock("dose_text", "", 0, 0, (col_w - 18) / PT_PER_MM, 5, 8.5, 6), text
                )
                self.c.setFont(FONT, fitted.size)
                self.c.drawString(x + 13, y + 2, text)
            self.y -= per_column * row_h
            if remaining:
                self.y = 0  # page full: the next block starts a new page
        self.y -= 6

    def _section(self, title: str) -> None:
        """Start a list section with a bold title."""
        self._need(40)
        self.c.setFillColor(black)
        self.c.setFont(FONT_BOLD, 11)
        self.c.drawString(MARGIN, self.y - 11, title)
        self.y -= 17

    def _line(self, text: str, lab: bool = False, lines: int | None = None) -> None:
        """Draw one list entry, with a lab marker in front for checkpoints.

        The entry wraps onto as many lines, and pages, as it needs: nothing on the calendar is
        cut off.
        """
        self._need(26)
        self.y -= 2
        x = MARGIN
        if lab:
            _lab_marker(self.c, x, self.y - ASCENT * 9)  # on the first line's baseline
            x += 22
        self._flow(text, x, 9)
        self.y -= 2

    def _flow(self, text: str, x: float, size: float, font: str = FONT) -> None:
        """Draw ``text`` at ``size`` wrapped to the right margin, starting pages as needed."""
        width = PAGE_W - MARGIN - x
        lines = _wrap_words(text, font, size, width)
        leading = size * 1.2
        for line in lines:
            self._need(leading + 2)
            self.c.setFillColor(black)
            self.c.setFont(font, size)
            self.c.drawString(x, self.y - ASCENT * size, line)
            self.y -= leading


def _wrap_words(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` pt; a word wider than a line is split."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while unit_width(word, font) * size > width:
            # Split an overlong word (a long lab name, a URL) rather than run off the page.
            cut = max(1, int(len(word) * width / (unit_width(word, font) * size)) - 1)
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}" if current else word
        if current and unit_width(candidate, font) * size > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _weeks(year: int, month: int) -> list[list[date]]:
    """Return the Sunday-first weeks covering a month (days of neighbouring months included)."""
    first = date(year, month, 1)
    start = first - timedelta(days=_column(first))
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    weeks = []
    while start < next_month:
        weeks.append([start + timedelta(days=i) for i in range(7)])
        start += timedelta(days=7)
    return weeks


def _tint(phase: int) -> Color:
    """Return the background tint of a phase (cycling if there are more phases than tints)."""
    return PHASE_TINTS[(phase - 1) % len(PHASE_TINTS)]


def _phase_marker(c: Canvas, cx: float, cy: float, phase: int) -> None:
    """Draw the phase number in a tinted circle with a black outline."""
    c.setFillColor(_tint(phase))
    c.setStrokeColor(black)
    c.setLineWidth(0.7)
    c.circle(cx, cy, 5.5, stroke=1, fill=1)
    c.setFillColor(black)
    c.setFont(FONT_BOLD, 7)
    c.drawCentredString(cx, cy - 2.5, str(phase))


def _discard_marker(c: Canvas, x: float, y: float, vial: int) -> None:
    """Draw ``DISCARD V<n>`` in white on black, so it survives any printer."""
    text = f"DISCARD V{vial}"
    c.setFont(FONT_BOLD, 5)
    width = c.stringWidth(text, FONT_BOLD, 5) + 3
    c.setFillColor(black)
    c.rect(x, y - 1.5, width, 7, stroke=0, fill=1)
    c.setFillColor(white)
    c.drawString(x + 1.5, y, text)


def _lab_marker(c: Canvas, x: float, y: float) -> None:
    """Draw a framed ``LAB`` tag."""
    c.setFillColor(white)
    c.setStrokeColor(black)
    c.setLineWidth(0.8)
    c.rect(x, y - 2, 18, 9, stroke=1, fill=1)
    c.setFillColor(black)
    c.setFont(FONT_BOLD, 6.5)
    c.drawCentredString(x + 9, y + 0.3, "LAB")
