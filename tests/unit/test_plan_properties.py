"""Properties of vial plans over random regimens, vials, fills and BUDs (SPEC 2.3)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pharmacy.domain.plan_input import parse_plan_request
from pharmacy.domain.plan_json import options_to_dict, plan_to_dict
from pharmacy.domain.regimen import WEEKDAYS, Phase, Regimen, expand_regimen, phase_to_dict
from pharmacy.domain.units import dose_volume_ml
from pharmacy.domain.vials import PlanRequest, VialSpec, plan_options, plan_vials

PROPERTIES = settings(max_examples=200, deadline=None)

# Doses and concentrations chosen so every dose is measurable (>= 0.1 mL) and <= 2 mL.
DOSES = [500, 1000, 1500, 2000]
CONCENTRATIONS = [Decimal(c) for c in ("1000", "2500", "3000", "5000")]
VOLUMES = [Decimal(v) for v in ("0.5", "1", "2", "2.5", "5", "10", "30")]


@st.composite
def phases(draw, last: bool) -> Phase:
    """Draw one phase; only a last phase may be open-ended."""
    dose = draw(st.sampled_from(DOSES))
    count = draw(st.one_of(st.none(), st.integers(1, 12)) if last else st.integers(1, 12))
    if draw(st.booleans()) and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(list(WEEKDAYS)), min_size=1, max_size=7, unique=True))
        return Phase(dose, 1, "week", count, tuple(days))
    unit = draw(st.sampled_from(["day", "week", "month"]))
    return Phase(dose, draw(st.integers(1, 4)), unit, count)


@st.composite
def regimens(draw) -> Regimen:
    """Draw a regimen of one to four phases."""
    n = draw(st.integers(1, 4))
    return Regimen(tuple(draw(phases(last=i == n - 1)) for i in range(n)))


@st.composite
def vial_specs(draw, regimen: Regimen, concentration: Decimal) -> VialSpec:
    """Draw a vial that holds the regimen's largest dose."""
    largest = max(dose_volume_ml(p.dose_mcg, concentration) for p in regimen.phases)
    volume = draw(st.sampled_from([v for v in VOLUMES if v >= largest]))
    return VialSpec(volume, draw(st.sampled_from(["single-dose", "multiple-dose"])))


@st.composite
def requests(draw) -> PlanRequest:
    """Draw a valid plan request."""
    regimen = draw(regimens())
    concentration = draw(st.sampled_from(CONCENTRATIONS))
    return PlanRequest(
        regimen=regimen,
        start_date=draw(st.dates(date(2024, 1, 1), date(2030, 12, 31))),
        concentration_mcg_per_ml=concentration,
        vial=draw(vial_specs(regimen, concentration)),
        in_use_days=draw(st.integers(1, 28)),
        days_supply=draw(st.integers(1, 120)),
        fills=draw(st.integers(1, 5)),
        bud_days=draw(st.one_of(st.none(), st.integers(1, 60))),
        route=draw(st.sampled_from(["IM", "SC"])),
    )


@st.composite
def option_requests(draw) -> tuple[PlanRequest, list[VialSpec]]:
    """Draw a request and two to four vial options that all hold its doses."""
    request = draw(requests())
    spec = vial_specs(request.regimen, request.concentration_mcg_per_ml)
    return request, draw(st.lists(spec, min_size=2, max_size=4))


@PROPERTIES
@given(requests())
def test_each_planned_dose_is_served_by_exactly_one_vial(request):
    plan = plan_vials(request)
    served = Counter((v.number, day) for v in plan.vials for day in v.doses)
    planned = Counter((d.vial, d.date) for d in plan.doses)
    assert served == planned
    assert all(d.vial is not None for d in plan.doses)
    assert sum(len(v.doses) for v in plan.vials) == plan.totals.doses == len(plan.doses)
    assert [v.number for v in plan.vials] == list(range(1, len(plan.vials) + 1))


@PROPERTIES
@given(requests())
def test_no_vial_serves_outside_its_windows_or_beyond_its_volume(request):
    plan = plan_vials(request)
    volumes = {d.date: d.volume_ml for d in plan.doses}
    for vial in plan.vials:
        assert all(vial.opened <= day <= vial.discard_by for day in vial.doses)
        assert vial.opened == vial.doses[0]
        if vial.spec.single_dose:
            assert vial.discard_by == vial.opened
        else:
            assert vial.discard_by <= vial.opened + timedelta(days=request.in_use_days - 1)
        if request.bud_days is not None:
            bud_last = request.dispense_date(vial.fill_number) + timedelta(
                days=request.bud_days - 1
            )
            assert vial.discard_by <= bud_last
        assert vial.used_ml == sum(volumes[day] for day in vial.doses)
        assert Decimal(0) <= vial.waste_ml and vial.used_ml <= vial.spec.volume_ml
        # A vial belongs to the fill whose window holds its first dose.
        assert (vial.opened - request.start_date).days // request.days_supply == vial.fill_number


@PROPERTIES
@given(requests())
def test_used_plus_waste_is_all_vial_volume(request):
    plan = plan_vials(request)
    used = sum((v.used_ml for v in plan.vials), Decimal(0))
    assert used + plan.totals.waste_ml == len(plan.vials) * request.vial.volume_ml
    assert used == plan.totals.dose_volume_ml


@PROPERTIES
@given(requests())
def test_single_dose_vials_equal_doses_served(request):
    plan = plan_vials(request)
    if request.vial.single_dose:
        assert plan.totals.vials == plan.totals.doses
        assert all(len(v.doses) == 1 for v in plan.vials)


@PROPERTIES
@given(requests())
def test_uncovered_plus_covered_is_every_dose_in_the_fill_windows(request):
    plan = plan_vials(request)
    end = request.start_date + timedelta(days=request.fills * request.days_supply)
    expected = [
        (d.date, d.phase, d.index) for d in expand_regimen(request.regimen, request.start_date, end)
    ]
    got = sorted((d.date, d.phase, d.index) for d in plan.doses + plan.uncovered_doses)
    assert got == expected
    for dose in plan.uncovered_doses:
        assert request.bud_days is not None and dose.vial is None
        assert dose.date > request.dispense_date(dose.fill_number) + timedelta(
            days=request.bud_days - 1
        )
    assert bool(plan.uncovered_doses) == bool(plan.warnings)
    assert sum(f.doses for f in plan.fills) == len(plan.doses)
    assert sum(f.uncovered for f in plan.fills) == len(plan.uncovered_doses)
    assert sum(plan.vials_for_fill(k) for k in range(request.fills)) == len(plan.vials)


@PROPERTIES
@given(option_requests())
def test_recommended_option_has_least_waste_then_fewest_vials(drawn):
    request, options = drawn
    result = plan_options(request, options)
    keys = [(p.totals.waste_ml, p.totals.vials) for p in result.options]
    assert keys[result.recommended] == min(keys)
    assert keys.index(min(keys)) == result.recommended  # first among equals
    # Uncovered doses depend on fill windows and BUD only, never on the vial.
    assert len({tuple(d.date for d in p.uncovered_doses) for p in result.options}) == 1
    data = options_to_dict(result)
    assert json.loads(json.dumps(data)) == data


@PROPERTIES
@given(requests())
def test_json_body_round_trips_through_parse(request):
    body = {
        "phases": [phase_to_dict(p) for p in request.regimen.phases],
        "start_date": request.start_date.isoformat(),
        "concentration_mcg_per_ml": str(request.concentration_mcg_per_ml),
        "vial_volume_ml": float(request.vial.volume_ml),
        "container": request.vial.container,
        "in_use_days": request.in_use_days,
        "days_supply": request.days_supply,
        "fills": request.fills,
        "bud_days": request.bud_days,
        "route": request.route,
    }
    parsed = parse_plan_request(json.loads(json.dumps(body)))
    assert parsed.request == request
    data = plan_to_dict(parsed.plan())
    assert data["totals"]["doses"] == len(data["doses"])
