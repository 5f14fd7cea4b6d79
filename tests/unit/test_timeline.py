"""The SVG timeline: one mark per dose, one bar per vial, red uncovered marks, fill lines."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from pharmacy.domain.plan_input import parse_plan_request
from pharmacy.domain.plan_json import plan_to_dict
from pharmacy.domain.regimen import phase_to_dict
from pharmacy.plan.timeline import PHASE_COLOURS, UNCOVERED_COLOUR, timeline_svg

NS = {"s": "http://www.w3.org/2000/svg"}
HIGH_DOSE = [
    {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
    {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
    {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
]


def plan_for(**changes):
    body = {
        "phases": HIGH_DOSE,
        "start_date": "2026-12-01",
        "concentration_mcg_per_ml": 1000,
        "vial_volume_ml": 10,
        "container": "multiple-dose",
        "days_supply": 90,
        "fills": 1,
    }
    body.update(changes)
    parsed = parse_plan_request(body)
    phases = [phase_to_dict(p) for p in parsed.request.regimen.phases]
    return plan_to_dict(parsed.plan()), phases


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


def test_worked_example_counts():
    plan, phases = plan_for()
    root = parse(timeline_svg(plan, phases=phases))
    assert root.get("role") == "img"
    assert root.find("s:title", NS) is not None and root.find("s:desc", NS) is not None
    marks = by_class(root, "dose-mark")
    assert len(marks) == len(plan["doses"]) == 12
    assert {m.get("fill") for m in marks if m.get("data-phase") == "1"} == {PHASE_COLOURS[0]}
    assert {m.get("fill") for m in marks if m.get("data-phase") == "3"} == {PHASE_COLOURS[2]}
    assert len(by_class(root, "vial-bar")) == len(plan["vials"]) == 3
    labels = [t.text for t in by_class(root, "vial-label")]
    assert labels and labels[0].startswith("Vial 1")
    assert len(by_class(root, "fill-line")) == 1
    assert by_class(root, "uncovered-mark") == []
    legend = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Phase 1: 1,000 mcg once daily x7" in legend
    assert "Phase 3: 1,000 mcg once monthly until stopped" in legend


def test_no_inline_style_attributes():
    plan, phases = plan_for(fills=3, days_supply=30)
    root = parse(timeline_svg(plan, phases=phases))
    assert all("style" not in el.attrib for el in root.iter())


def test_fill_lines_and_labels():
    plan, phases = plan_for(fills=3, days_supply=30)
    root = parse(timeline_svg(plan, phases=phases))
    lines = by_class(root, "fill-line")
    assert [line.get("data-fill") for line in lines] == ["0", "1", "2"]
    assert all(line.get("stroke-dasharray") for line in lines)
    labels = [t.text for t in by_class(root, "fill-label")]
    assert labels == ["Fill 0", "Refill 1", "Refill 2"]


def test_uncovered_doses_are_red_with_a_legend():
    # A 3-day BUD on a 30-day fill leaves later doses without an in-date vial.
    plan, phases = plan_for(bud_days=3, days_supply=30)
    assert plan["uncovered_doses"]
    root = parse(timeline_svg(plan, phases=phases))
    red = by_class(root, "uncovered-mark")
    assert len(red) == len(plan["uncovered_doses"])
    assert {m.get("fill") for m in red} == {UNCOVERED_COLOUR}
    assert len(by_class(root, "dose-mark")) == len(plan["doses"])
    assert by_class(root, "legend-uncovered")


def test_five_year_plan_stays_readable():
    daily = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": None}]
    plan, phases = plan_for(phases=daily, days_supply=365, fills=5, vial_volume_ml=30)
    assert len(plan["doses"]) > 1800
    root = parse(timeline_svg(plan, phases=phases, width=960))
    marks = by_class(root, "dose-mark")
    assert len(marks) == len(plan["doses"])
    assert all(1 <= float(m.get("width")) <= 6 for m in marks)
    assert all(float(m.get("x")) <= 960 for m in marks)
    # Month ticks exist but only some are labelled: labels never crowd.
    axis = next(el for el in root.iter() if el.get("class") == "axis")
    texts = axis.findall("s:text", NS)
    assert 4 <= len(texts) <= 16
    xs = sorted(float(t.get("x")) for t in texts)
    assert all(b - a >= 50 for a, b in itertools.pairwise(xs))
    assert float(root.get("height")) < 600


def test_single_dose_vials_share_a_lane():
    plan, phases = plan_for(vial_volume_ml=1, container="single-dose")
    root = parse(timeline_svg(plan, phases=phases))
    bars = by_class(root, "vial-bar")
    assert len(bars) == 12
    assert len({b.get("y") for b in bars}) <= 2


def test_legend_without_phases_falls_back_to_doses():
    plan, _ = plan_for()
    root = parse(timeline_svg(plan))
    legend = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Phase 2: 1,000 mcg (4 planned)" in legend


def test_empty_plan():
    root = parse(timeline_svg({"doses": [], "vials": [], "fills": [], "uncovered_doses": []}))
    assert root.get("role") == "img"
    assert by_class(root, "dose-mark") == []
