"""Draw a vial plan (SPEC 3 plan response) as an SVG timeline people can read at a glance.

Rows, top to bottom: a date axis with month ticks, fill boundaries (dashed lines labelled
"Fill 0", "Refill 1", ...), one mark per dose coloured by phase (uncovered doses in red),
and one bar per vial from the day it is opened to its discard-by day, packed into as few
lanes as stay legible. A legend names every phase.

The page's Content Security Policy forbids inline ``style`` attributes, so every colour
and size is an SVG presentation attribute (``fill=``, ``stroke=``...).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup, escape

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import Phase
from pharmacy.domain.sig import frequency
from pharmacy.domain.units import format_qty

# The --phase-1..5 colours of static/css/app.css, as explicit values (no CSS in SVG attrs).
PHASE_COLOURS = ("#0f766e", "#7c3aed", "#c2410c", "#2563eb", "#be185d")
UNCOVERED_COLOUR = "#b42318"
INK, MUTED, LINE = "#1d2733", "#5b6878", "#d6dde6"
VIAL_FILL, VIAL_STROKE, VIAL_TAIL = "#cfe3ea", "#0f5f78", "#eef5f8"

LEFT, RIGHT = 64, 16
AXIS_Y, FILL_LABEL_Y, DOSE_TOP, DOSE_HEIGHT = 18, 40, 50, 26
LANE_HEIGHT, LANE_GAP = 20, 6
CHAR_PX = 6.4  # average width of a 12 px system-ui character, for label fitting
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_ids = itertools.count(1)


def phase_colour(phase: int) -> str:
    """Return the colour of 1-based ``phase`` (cycling after five)."""
    return PHASE_COLOURS[(phase - 1) % len(PHASE_COLOURS)]


def _day(text: str) -> date:
    """Parse a ``YYYY-MM-DD`` date from the plan response."""
    return date.fromisoformat(text)


def _num(value: float) -> str:
    """Format an SVG coordinate with at most two decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _ml(value: float) -> str:
    """Format a JSON volume for people: ``18 mL``, ``0.5 mL``."""
    return f"{value:g} mL"


def phase_label(number: int, phase: Mapping[str, Any] | None, doses: Sequence[Mapping]) -> str:
    """Return a legend label such as ``Phase 1: 1,000 mcg once daily x7``."""
    if phase is not None:
        try:
            how = frequency(
                Phase(
                    phase["dose_mcg"],
                    phase["every"],
                    phase["unit"],
                    phase.get("count"),
                    tuple(phase.get("weekdays") or ()),
                )
            )
        except (DomainError, KeyError, TypeError):
            how = ""
        count = phase.get("count")
        span = f" x{format_qty(count)}" if count else " until stopped"
        return f"Phase {number}: {format_qty(phase['dose_mcg'])} mcg {how}{span}".replace("  ", " ")
    mine = [d for d in doses if d["phase"] == number]
    dose = f"{format_qty(mine[0]['dose_mcg'])} mcg" if mine else ""
    return f"Phase {number}: {dose} ({len(mine)} planned)"


def _tick_step(px_per_month: float) -> int:
    """Return how many months apart labelled ticks go so labels never overlap."""
    for step in (1, 2, 3, 6, 12, 24, 60):
        if step * px_per_month >= 58:
            return step
    return 120


def _months(start: date, end: date):
    """Yield the first day of each month after ``start`` up to ``end``."""
    day = date(start.year, start.month, 1)
    while day <= end:
        if day >= start:
            yield day
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _pack(extents: Sequence[tuple[float, float]]) -> list[int]:
    """Return a lane per extent (x0, x1), first fit, so no two in a lane overlap."""
    lanes: list[float] = []
    assigned = []
    for x0, x1 in extents:
        for i, right in enumerate(lanes):
            if x0 >= right + 3:
                lanes[i] = x1
                assigned.append(i)
                break
        else:
            lanes.append(x1)
            assigned.append(len(lanes) - 1)
    return assigned


def timeline_svg(
    plan: Mapping[str, Any], *, width: int = 960, phases: Sequence[Mapping[str, Any]] | None = None
) -> Markup:
    """Return the SVG timeline of one plan (a ``plan_to_dict`` result).

    :param width: drawing width in px (the SVG scales to its container).
    :param phases: the regimen's phases (SPEC JSON), for legend wording; without them the
        legend falls back to what the doses show.
    """
    doses = list(plan.get("doses", []))
    uncovered = list(plan.get("uncovered_doses", []))
    vials = list(plan.get("vials", []))
    fills = list(plan.get("fills", []))
    uid = f"timeline-{next(_ids)}"

    dates = [_day(d["date"]) for d in doses + uncovered]
    dates += [_day(v["opened"]) for v in vials] + [_day(v["discard_by"]) for v in vials]
    dates += [_day(f["dispense_date"]) for f in fills]
    dates += [_day(f["last_day"]) for f in fills if f.get("last_day")]
    if not dates:
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
            f'viewBox="0 0 {width} 40" width="{width}" height="40" aria-labelledby="{uid}-t">'
            f'<title id="{uid}-t">Empty plan: no doses</title>'
            f'<text x="{LEFT}" y="24" fill="{MUTED}" font-size="13">No doses in this plan.</text></svg>'
        )
    first, last = min(dates), max(dates) + timedelta(days=1)
    span = max((last - first).days, 1)
    plot = width - LEFT - RIGHT
    day_px = plot / span

    def x(day: date) -> float:
        return LEFT + (day - first).days * day_px

    out: list[str] = []
    # Vial lanes: in use from opened to the last dose served, then in date to discard_by.
    last_use: dict[int, date] = {}
    for dose in doses:
        if dose.get("vial") is not None:
            last_use[dose["vial"]] = max(last_use.get(dose["vial"], date.min), _day(dose["date"]))
    bars = []
    for vial in vials:
        x0 = x(_day(vial["opened"]))
        x1 = max(x(_day(vial["discard_by"]) + timedelta(days=1)), x0 + 2)
        label = f"Vial {vial['vial']}"
        waste = f"{_ml(vial['waste_ml'])} waste"
        text = f"{label} · {waste}"
        if len(text) * CHAR_PX + 8 > x1 - x0:
            text = label if len(label) * CHAR_PX + 8 <= x1 - x0 else ""
        bars.append((vial, x0, x1, text, waste))
    lanes = _pack([(b[1], b[2]) for b in bars])
    lane_count = max(lanes, default=-1) + 1
    vial_top = DOSE_TOP + DOSE_HEIGHT + 16
    plot_bottom = vial_top + lane_count * (LANE_HEIGHT + LANE_GAP)
    legend_top = plot_bottom + 18

    # Legend items, wrapped to the width.
    numbers = sorted({d["phase"] for d in doses + uncovered} | set(range(1, len(phases or []) + 1)))
    items = [
        (
            phase_colour(n),
            phase_label(n, phases[n - 1] if phases and n <= len(phases) else None, doses),
            "phase",
        )
        for n in numbers
    ]
    if uncovered:
        items.append(
            (UNCOVERED_COLOUR, f"Uncovered dose ({len(uncovered)}): no vial in date", "uncovered")
        )
    if vials:
        items.append((VIAL_FILL, "Vial in use (light: in date, unused)", "vial"))
    legend_rows: list[list[tuple[float, tuple]]] = [[]]
    cursor: float = LEFT
    for item in items:
        item_w = 22 + len(item[1]) * CHAR_PX + 18
        if cursor + item_w > width - RIGHT and legend_rows[-1]:
            legend_rows.append([])
            cursor = LEFT
        legend_rows[-1].append((cursor, item))
        cursor += item_w
    height = legend_top + len(legend_rows) * 20 + 6

    totals = plan.get("totals", {})
    summary = (
        f"{totals.get('doses', len(doses))} doses from {first.isoformat()} to "
        f"{(last - timedelta(days=1)).isoformat()} in {totals.get('vials', len(vials))} vials "
        f"over {len(fills)} fill{'s' if len(fills) != 1 else ''}; "
        f"{_ml(totals.get('waste_ml', 0))} waste; {len(uncovered)} uncovered."
    )
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'viewBox="0 0 {width} {_num(height)}" width="{width}" height="{_num(height)}" '
        f'aria-labelledby="{uid}-t {uid}-d" font-family="system-ui, sans-serif" font-size="12" '
        f'data-doses="{len(doses)}" data-vials="{len(vials)}">'
    )
    out.append(f'<title id="{uid}-t">Dosing timeline</title>')
    out.append(f'<desc id="{uid}-d">{escape(summary)}</desc>')

    # Row labels and the plot frame.
    out.append(f'<text x="4" y="{DOSE_TOP + 17}" fill="{MUTED}" font-weight="600">Doses</text>')
    if vials:
        out.append(f'<text x="4" y="{vial_top + 14}" fill="{MUTED}" font-weight="600">Vials</text>')
    out.append(
        f'<rect x="{LEFT}" y="{DOSE_TOP}" width="{_num(plot)}" height="{DOSE_HEIGHT}" '
        f'fill="#f4f6f9" stroke="{LINE}"/>'
    )

    # Month axis: every month ticks; labels every ``step`` months so they never collide.
    step = _tick_step(day_px * 30.44)
    out.append('<g class="axis">')
    out.append(
        f'<line x1="{LEFT}" y1="{AXIS_Y + 6}" x2="{width - RIGHT}" y2="{AXIS_Y + 6}" '
        f'stroke="{LINE}"/>'
    )
    labelled = 0
    for month in _months(first, last):
        mx = _num(x(month))
        index = month.year * 12 + month.month - 1
        if index % step == 0:
            text = (
                str(month.year)
                if step >= 12
                else f"{MONTH_NAMES[month.month - 1]}{' ' + str(month.year) if month.month == 1 or not labelled else ''}"
            )
            labelled += 1
            out.append(
                f'<line class="month-tick" x1="{mx}" y1="{AXIS_Y + 2}" x2="{mx}" '
                f'y2="{_num(plot_bottom)}" stroke="{LINE}" stroke-width="1"/>'
            )
            out.append(f'<text x="{_num(x(month) + 3)}" y="{AXIS_Y}" fill="{MUTED}">{text}</text>')
        else:
            out.append(
                f'<line class="month-tick minor" x1="{mx}" y1="{AXIS_Y + 3}" x2="{mx}" '
                f'y2="{AXIS_Y + 9}" stroke="{LINE}"/>'
            )
    if not labelled:
        out.append(
            f'<text x="{LEFT}" y="{AXIS_Y}" fill="{MUTED}">'
            f"{MONTH_NAMES[first.month - 1]} {first.year}</text>"
        )
    out.append("</g>")

    # Fill boundaries: dashed lines; labels thinned out when fills are close together.
    out.append('<g class="fills">')
    label_right = -1e9
    for fill in fills:
        fx = x(_day(fill["dispense_date"]))
        name = "Fill 0" if fill["fill_number"] == 0 else f"Refill {fill['fill_number']}"
        out.append(
            f'<line class="fill-line" data-fill="{fill["fill_number"]}" x1="{_num(fx)}" '
            f'y1="{FILL_LABEL_Y - 10}" x2="{_num(fx)}" y2="{_num(plot_bottom)}" '
            f'stroke="{INK}" stroke-width="1.2" stroke-dasharray="4 3"><title>{name}: '
            f"dispensed {fill['dispense_date']}</title></line>"
        )
        if fx >= label_right and fx + len(name) * CHAR_PX < width:
            out.append(
                f'<text class="fill-label" x="{_num(fx + 3)}" y="{FILL_LABEL_Y}" fill="{INK}" '
                f'font-weight="600">{name}</text>'
            )
            label_right = fx + len(name) * CHAR_PX + 10
    if fills and fills[-1].get("last_day"):
        ex = _num(x(_day(fills[-1]["last_day"]) + timedelta(days=1)))
        out.append(
            f'<line class="plan-end" x1="{ex}" y1="{FILL_LABEL_Y - 10}" x2="{ex}" '
            f'y2="{_num(plot_bottom)}" stroke="{MUTED}" stroke-dasharray="2 3"/>'
        )
    out.append("</g>")

    # Dose marks: thin enough for five years of daily doses, never under 1 px.
    mark_w = min(max(day_px * 0.7, 1.0), 6.0)
    out.append('<g class="doses">')
    for dose in doses:
        dx = x(_day(dose["date"])) + (day_px - mark_w) / 2
        out.append(
            f'<rect class="dose-mark" data-phase="{dose["phase"]}" x="{_num(dx)}" y="{DOSE_TOP + 3}" '
            f'width="{_num(mark_w)}" height="{DOSE_HEIGHT - 6}" fill="{phase_colour(dose["phase"])}">'
            f"<title>{dose['date']}: {format_qty(dose['dose_mcg'])} mcg "
            f"({_ml(dose['volume_ml'])}), phase {dose['phase']}, vial {dose['vial']}</title></rect>"
        )
    for dose in uncovered:
        dx = x(_day(dose["date"])) + (day_px - max(mark_w, 2)) / 2
        out.append(
            f'<rect class="uncovered-mark" x="{_num(dx)}" y="{DOSE_TOP - 2}" '
            f'width="{_num(max(mark_w, 2))}" height="{DOSE_HEIGHT + 4}" fill="{UNCOVERED_COLOUR}">'
            f"<title>{dose['date']}: uncovered (no vial in date)</title></rect>"
        )
    out.append("</g>")

    # Vial bars.
    out.append('<g class="vials">')
    for (vial, x0, x1, text, waste), lane in zip(bars, lanes):
        y = vial_top + lane * (LANE_HEIGHT + LANE_GAP)
        used_end = x1
        if vial["vial"] in last_use:
            used_end = min(max(x(last_use[vial["vial"]] + timedelta(days=1)), x0 + 2), x1)
        out.append(f'<g class="vial" data-vial="{vial["vial"]}">')
        out.append(
            f"<title>Vial {vial['vial']} (fill {vial['fill_number']}): opened {vial['opened']}, "
            f"discard by {vial['discard_by']}; {vial['doses']} dose{'s' if vial['doses'] != 1 else ''}, "
            f"{_ml(vial['used_ml'])} used, {waste}</title>"
        )
        out.append(
            f'<rect class="vial-bar" x="{_num(x0)}" y="{y}" width="{_num(x1 - x0)}" '
            f'height="{LANE_HEIGHT}" rx="3" fill="{VIAL_TAIL}" stroke="{VIAL_STROKE}" '
            f'stroke-width="1"/>'
        )
        out.append(
            f'<rect class="vial-used" x="{_num(x0)}" y="{y}" width="{_num(used_end - x0)}" '
            f'height="{LANE_HEIGHT}" rx="3" fill="{VIAL_FILL}"/>'
        )
        if text:
            out.append(
                f'<text class="vial-label" x="{_num(x0 + 5)}" y="{y + 14}" fill="{INK}">'
                f"{escape(text)}</text>"
            )
        out.append("</g>")
    out.append("</g>")

    # Legend.
    out.append('<g class="legend">')
    for row_index, row in enumerate(legend_rows):
        ly = legend_top + row_index * 20
        for lx, (colour, text, kind) in row:
            stroke = f' stroke="{VIAL_STROKE}"' if kind == "vial" else ""
            out.append(
                f'<rect class="legend-swatch legend-{kind}" x="{_num(lx)}" y="{ly - 10}" '
                f'width="14" height="12" rx="2" fill="{colour}"{stroke}/>'
            )
            out.append(f'<text x="{_num(lx + 20)}" y="{ly}" fill="{INK}">{escape(text)}</text>')
    out.append("</g></svg>")
    return Markup("".join(out))
