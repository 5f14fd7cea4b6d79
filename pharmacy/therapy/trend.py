"""Draw a patient's therapy trend as one server-rendered SVG (SPEC 7.8), readable at a glance.

Top to bottom, on one shared date axis:

* **B12** (pg/mL): the reference band shaded, each result a dot coloured by its flag (low,
  normal, high) joined by a line, the value written above it.
* **Doses**: one tick per injection the fills dispensed (solid) or planned (hollow).
* **Labs**: one diamond per checkpoint, coloured by its status (done, due, overdue, upcoming).
* **MMA**, **homocysteine**, **hemoglobin**: a small panel each, only when results exist.
* **Symptoms**: one square per report, red when something got worse or is new, green when
  better or resolved, grey when the same; its tooltip lists each symptom.

The page's Content Security Policy forbids inline ``style`` attributes: every colour is an
SVG presentation attribute. No chart library, no script.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 760
LEFT, RIGHT = 124, 20
INK, MUTED, LINE, GRID = "#1d2733", "#5b6878", "#d6dde6", "#eef2f6"
BAND = "#dcf3e8"
FLAG_COLOURS = {"low": "#c2410c", "normal": "#0f766e", "high": "#7c3aed"}
STATUS_COLOURS = {"done": "#0f766e", "due": "#b45309", "overdue": "#b42318", "upcoming": "#8a96a5"}
SYMPTOM_COLOURS = {"worse": "#b42318", "better": "#15803d", "same": "#8a96a5"}
DOSE_COLOUR = "#2563eb"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_ids = itertools.count(1)


@dataclass(frozen=True)
class Point:
    """One lab result: its date, value (canonical unit) and flag."""

    day: date
    value: Decimal
    flag: str


@dataclass(frozen=True)
class Series:
    """One test's results with its reference band."""

    name: str
    unit: str
    low: Decimal
    high: Decimal
    points: tuple[Point, ...]


@dataclass(frozen=True)
class SymptomMark:
    """One symptom report: its date, overall tone and a one-line description."""

    day: date
    tone: str  # worse | better | same
    text: str


@dataclass(frozen=True)
class TrendData:
    """Everything the picture shows, as plain values."""

    today: date
    b12: Series
    others: tuple[Series, ...] = ()
    doses: tuple[tuple[date, bool], ...] = ()  # (date, dispensed)
    checkpoints: tuple[tuple[date, str], ...] = ()  # (date, status)
    symptoms: tuple[SymptomMark, ...] = ()
    extra_days: tuple[date, ...] = field(default=())
    # False for a window of the past: its axis ends before today and draws no today line.
    show_today: bool = True


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fmt(value: Decimal) -> str:
    """Format a lab value for a label: ``474``, ``11.8``, ``0.52``."""
    if value >= 100:
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():f}"


class _Axis:
    """Map dates onto x pixels."""

    def __init__(self, start: date, end: date) -> None:
        self.start = start
        self.days = max(1, (end - start).days)

    def x(self, day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - self.start).days / self.days


def _span(data: TrendData) -> tuple[date, date]:
    days = [*([data.today] if data.show_today else []), *data.extra_days]
    days += [p.day for s in (data.b12, *data.others) for p in s.points]
    days += [d for d, _ in data.doses] + [d for d, _ in data.checkpoints]
    days += [m.day for m in data.symptoms]
    start, end = min(days), max(days)
    pad = max(3, (end - start).days // 30)
    return start - timedelta(days=pad), end + timedelta(days=pad)


def _panel(
    out: list[str], axis: _Axis, series: Series, top: float, height: float, *, labels: bool
) -> None:
    """Draw one lab panel: band, grid, line, dots (and values when ``labels``)."""
    values = [p.value for p in series.points]
    ceiling = max([series.high * Decimal("1.15"), *(v * Decimal("1.1") for v in values)])
    ceiling = max(ceiling, Decimal(1))
    # The B12 panel starts at 0; a small panel zooms on its band so the band stays readable.
    floor = Decimal(0) if labels else min([series.low, *values]) * Decimal("0.8")
    scale = max(ceiling - floor, Decimal("0.01"))

    def y(v: Decimal) -> float:
        return top + height - float((v - floor) / scale) * height

    right = WIDTH - RIGHT
    out.append(
        f'<rect x="{LEFT}" y="{_n(top)}" width="{right - LEFT}" height="{_n(height)}"'
        f' fill="#fff" stroke="{LINE}"/>'
    )
    band_top, band_bottom = y(series.high), y(series.low)
    out.append(
        f'<rect x="{LEFT}" y="{_n(band_top)}" width="{right - LEFT}"'
        f' height="{_n(max(1.0, band_bottom - band_top))}" fill="{BAND}"><title>Reference range'
        f" {_fmt(series.low)}-{_fmt(series.high)} {escape(series.unit)}</title></rect>"
    )
    placed: list[float] = []
    for v in (series.low, series.high):
        if any(abs(y(v) - other) < 12 for other in placed):
            continue  # a narrow band: one label is enough
        placed.append(y(v))
        out.append(
            f'<text x="{LEFT - 6}" y="{_n(y(v) + 4)}" text-anchor="end" font-size="11"'
            f' fill="{MUTED}">{_fmt(v)}</text>'
        )
    out.append(
        f'<text x="8" y="{_n(top + 14)}" font-size="12" font-weight="600" fill="{INK}">'
        f"{escape(series.name)}</text>"
        f'<text x="8" y="{_n(top + 28)}" font-size="11" fill="{MUTED}">{escape(series.unit)}</text>'
    )
    if not labels and series.points:
        latest = series.points[-1]
        out.append(
            f'<text x="8" y="{_n(top + 42)}" font-size="11" fill="{FLAG_COLOURS.get(latest.flag, INK)}">'
            f"latest {_fmt(latest.value)}</text>"
        )
    if not series.points:
        out.append(
            f'<text x="{_n((LEFT + right) / 2)}" y="{_n(top + height / 2 + 4)}"'
            f' text-anchor="middle" font-size="12" fill="{MUTED}">No results yet</text>'
        )
        return
    coords = [(axis.x(p.day), y(p.value), p) for p in series.points]
    if len(coords) > 1:
        path = " ".join(f"{_n(x)},{_n(yy)}" for x, yy, _ in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
    for x, yy, p in coords:
        colour = FLAG_COLOURS.get(p.flag, INK)
        out.append(
            f'<circle cx="{_n(x)}" cy="{_n(yy)}" r="{5 if labels else 4}" fill="{colour}"'
            f' stroke="#fff" stroke-width="1.5" class="trend-point trend-{p.flag}">'
            f"<title>{p.day:%b %-d, %Y}: {_fmt(p.value)} {escape(series.unit)} ({p.flag})</title>"
            "</circle>"
        )
        if labels:
            out.append(
                f'<text x="{_n(x)}" y="{_n(max(top + 11, yy - 9))}" text-anchor="middle"'
                f' font-size="11" fill="{colour}" font-weight="600">{_fmt(p.value)}</text>'
            )


def _row_label(out: list[str], text: str, y: float) -> None:
    out.append(
        f'<text x="8" y="{_n(y + 4)}" font-size="12" font-weight="600" fill="{INK}">{text}</text>'
    )


def _month_ticks(out: list[str], axis: _Axis, start: date, end: date, top: float, bottom: float):
    day = date(start.year, start.month, 1)
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = 1 if months <= 14 else 3 if months <= 40 else 12
    while day <= end:
        if day >= start and (day.month - 1) % step == 0:
            x = axis.x(day)
            out.append(
                f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}"'
                f' stroke="{GRID}"/>'
                f'<text x="{_n(x + 3)}" y="{_n(bottom + 14)}" font-size="11" fill="{MUTED}">'
                f"{MONTHS[day.month - 1]}{' ' + str(day.year) if day.month == 1 or step == 12 else ''}"
                "</text>"
            )
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def trend_svg(data: TrendData) -> Markup:
    """Return the patient's trend picture as inline SVG markup."""
    start, end = _span(data)
    axis = _Axis(start, end)
    uid = next(_ids)
    out: list[str] = []
    y = 8.0
    _panel(out, axis, data.b12, y, 170, labels=True)
    y += 170 + 16
    dose_y = y
    _row_label(out, "Doses", dose_y)
    for day, dispensed in data.doses:
        x = axis.x(day)
        fill = DOSE_COLOUR if dispensed else "#fff"
        out.append(
            f'<rect x="{_n(x - 1.5)}" y="{_n(dose_y - 7)}" width="3" height="14" fill="{fill}"'
            f' stroke="{DOSE_COLOUR}" stroke-width="0.8"><title>{day:%b %-d, %Y}:'
            f" {'dose dispensed' if dispensed else 'dose planned'}</title></rect>"
        )
    y += 26
    lab_y = y
    _row_label(out, "Labs due", lab_y)
    for day, status in data.checkpoints:
        x = axis.x(day)
        colour = STATUS_COLOURS.get(status, MUTED)
        out.append(
            f'<path d="M{_n(x)} {_n(lab_y - 7)} L{_n(x + 7)} {_n(lab_y)} L{_n(x)} {_n(lab_y + 7)}'
            f' L{_n(x - 7)} {_n(lab_y)} Z" fill="{colour}" class="checkpoint checkpoint-{status}">'
            f"<title>Lab checkpoint {day:%b %-d, %Y}: {status}</title></path>"
        )
    y += 22
    for series in data.others:
        if not series.points:
            continue
        _panel(out, axis, series, y, 60, labels=False)
        y += 60 + 10
    sym_y = y + 10
    _row_label(out, "Symptoms", sym_y)
    if not data.symptoms:
        out.append(
            f'<text x="{LEFT}" y="{_n(sym_y + 4)}" font-size="11" fill="{MUTED}">'
            "No symptom reports yet</text>"
        )
    for mark in data.symptoms:
        x = axis.x(mark.day)
        colour = SYMPTOM_COLOURS.get(mark.tone, MUTED)
        out.append(
            f'<rect x="{_n(x - 6)}" y="{_n(sym_y - 6)}" width="12" height="12" rx="2"'
            f' fill="{colour}" class="symptom symptom-{mark.tone}"><title>{mark.day:%b %-d, %Y}:'
            f" {escape(mark.text)}</title></rect>"
        )
    y = sym_y + 16
    if data.show_today:
        today_x = axis.x(data.today)
        out.append(
            f'<line x1="{_n(today_x)}" y1="8" x2="{_n(today_x)}" y2="{_n(y)}" stroke="{INK}"'
            f' stroke-dasharray="3 3" stroke-width="1"/>'
            f'<text x="{_n(today_x + 3)}" y="20" font-size="11" fill="{INK}">Today</text>'
        )
    grid: list[str] = []
    _month_ticks(grid, axis, start, end, 8, y)
    height = y + 44
    legend_y = y + 34
    legend: list[str] = []
    x = float(LEFT)
    for shape, colour, label in (
        ("dot", FLAG_COLOURS["normal"], "in range"),
        ("dot", FLAG_COLOURS["low"], "low"),
        ("dot", FLAG_COLOURS["high"], "high"),
        ("box", BAND, "reference range"),
        ("box", SYMPTOM_COLOURS["worse"], "symptoms worse or new"),
        ("box", SYMPTOM_COLOURS["better"], "better"),
    ):
        if shape == "dot":
            legend.append(
                f'<circle cx="{_n(x + 6)}" cy="{_n(legend_y - 4)}" r="5" fill="{colour}"/>'
            )
        else:
            legend.append(
                f'<rect x="{_n(x)}" y="{_n(legend_y - 10)}" width="12" height="10"'
                f' fill="{colour}"/>'
            )
        legend.append(
            f'<text x="{_n(x + 16)}" y="{_n(legend_y)}" font-size="11" fill="{MUTED}">'
            f"{label}</text>"
        )
        x += 24 + len(label) * 6.2
    summary = _summary(data)
    return Markup(
        f'<svg class="trend-chart" viewBox="0 0 {WIDTH} {_n(height)}" role="img"'
        f' xmlns="http://www.w3.org/2000/svg" aria-labelledby="trend-title-{uid}'
        f' trend-desc-{uid}"><title id="trend-title-{uid}">B12 trend</title>'
        f'<desc id="trend-desc-{uid}">{escape(summary)}</desc>'
        + "".join(grid)
        + "".join(out)
        + "".join(legend)
        + "</svg>"
    )


def _summary(data: TrendData) -> str:
    """Return one sentence describing the picture (for screen readers and tests)."""
    points = data.b12.points
    rng = f"reference {_fmt(data.b12.low)}-{_fmt(data.b12.high)} {data.b12.unit}"
    if not points:
        return f"No B12 results yet ({rng})."
    first, last = points[0], points[-1]
    if len(points) == 1:
        return f"One B12 result: {_fmt(last.value)} {data.b12.unit} ({last.flag}; {rng})."
    way = "rose" if last.value > first.value else "fell" if last.value < first.value else "held"
    return (
        f"B12 {way} from {_fmt(first.value)} to {_fmt(last.value)} {data.b12.unit}"
        f" between {first.day:%b %-d, %Y} and {last.day:%b %-d, %Y}; latest {last.flag} ({rng})."
    )


def trend_from_rows(
    *,
    today: date,
    observations: Sequence[dict],
    ranges: dict[str, tuple[Decimal, Decimal]],
    doses: Sequence[tuple[date, bool]] = (),
    checkpoints: Sequence[tuple[date, str]] = (),
    reports: Sequence[dict] = (),
    show_today: bool = True,
    extra_days: Sequence[date] = (),
) -> TrendData:
    """Return the picture's data from API-form observations and symptom reports.

    :param show_today: False for a window of the past (no today line, the axis ends there).
    :param extra_days: days the axis must reach even without data on them.
    """
    names = {
        "b12": ("B12", "pg/mL"),
        "mma": ("MMA", "nmol/L"),
        "homocysteine": ("Homocysteine", "umol/L"),
        "hemoglobin": ("Hemoglobin", "g/dL"),
    }

    def series(test: str) -> Series:
        rows = [o for o in observations if o["test"] == test]
        low, high = ranges[test]
        points = tuple(
            Point(date.fromisoformat(o["effective_date"]), Decimal(str(o["value"])), o["flag"])
            for o in sorted(rows, key=lambda o: (o["effective_date"], o["id"]))
        )
        name, unit = names[test]
        return Series(name, unit, low, high, points)

    marks = []
    for r in reports:
        changes = set(r["symptoms"].values())
        tone = (
            "worse"
            if changes & {"worse", "new"}
            else "better"
            if changes & {"better", "resolved"}
            else "same"
        )
        text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r["symptoms"].items())
        marks.append(SymptomMark(date.fromisoformat(r["date"]), tone, text))
    return TrendData(
        today=today,
        b12=series("b12"),
        others=tuple(series(t) for t in ("mma", "homocysteine", "hemoglobin")),
        doses=tuple(doses),
        checkpoints=tuple(checkpoints),
        symptoms=tuple(marks),
        extra_days=tuple(extra_days),
        show_today=show_today,
    )
