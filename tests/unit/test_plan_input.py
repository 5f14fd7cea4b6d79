"""Validation of ``POST /plan`` inputs: every bad field reported at once, by JSON path."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.plan_input import parse_phases, parse_plan_request
from pharmacy.domain.regimen import PRESETS, Phase, Regimen
from pharmacy.domain.vials import OptionsPlan, VialPlan, VialSpec

DELETE = object()


def body(**overrides) -> dict:
    """Return the SPEC worked example as a JSON body, with ``overrides`` (DELETE drops a key)."""
    data = {
        "phases": [
            {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
            {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
            {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
        ],
        "start_date": "2026-12-01",
        "concentration_mcg_per_ml": 1000,
        "vial_volume_ml": 10,
        "container": "multiple-dose",
        "days_supply": 90,
        "fills": 1,
    }
    for key, value in overrides.items():
        if value is DELETE:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def phase_body(index: int, **changes) -> dict:
    """Return the body with phase ``index`` changed (DELETE drops a key)."""
    data = body()
    phase = data["phases"][index]
    for key, value in changes.items():
        if value is DELETE:
            phase.pop(key, None)
        else:
            phase[key] = value
    return data


def errors_of(data) -> dict[str, str]:
    """Return the field errors ``parse_plan_request`` raises for ``data``."""
    with pytest.raises(ValidationFailed) as info:
        parse_plan_request(data)
    return info.value.errors


# --- good input ----------------------------------------------------------------------------


def test_spec_example_body_parses():
    parsed = parse_plan_request(body())
    request = parsed.request
    assert request.regimen == PRESETS["high-dose"][1]
    assert request.start_date == date(2026, 12, 1)
    assert request.concentration_mcg_per_ml == Decimal(1000)
    assert request.vial == VialSpec(Decimal("10.00"), "multiple-dose")
    assert (request.in_use_days, request.days_supply, request.fills) == (28, 90, 1)
    assert request.bud_days is None and request.route == "IM"
    assert not parsed.has_options and parsed.vial_options == ()
    plan = parsed.plan()
    assert isinstance(plan, VialPlan) and plan.totals.waste_ml == 18


@pytest.mark.parametrize(
    ("overrides", "attribute", "expected"),
    [
        ({"concentration_mcg_per_ml": "3000"}, "concentration_mcg_per_ml", Decimal(3000)),
        ({"concentration_mcg_per_ml": 2500.5}, "concentration_mcg_per_ml", Decimal("2500.5")),
        ({"concentration_mcg_per_ml": " 1e3 "}, "concentration_mcg_per_ml", Decimal(1000)),
        ({"days_supply": "30"}, "days_supply", 30),
        ({"days_supply": 30.0}, "days_supply", 30),
        ({"days_supply": "30.00"}, "days_supply", 30),
        ({"fills": 13}, "fills", 13),
        ({"in_use_days": 14}, "in_use_days", 14),
        ({"in_use_days": None}, "in_use_days", 28),
        ({"bud_days": 45}, "bud_days", 45),
        ({"bud_days": None}, "bud_days", None),
        ({"route": "SC"}, "route", "SC"),
        ({"route": None}, "route", "IM"),
        ({"start_date": "2028-02-29"}, "start_date", date(2028, 2, 29)),
    ],
)
def test_accepted_values(overrides, attribute, expected):
    request = parse_plan_request(body(**overrides)).request
    assert getattr(request, attribute) == expected
    assert type(getattr(request, attribute)) is type(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.5", Decimal("0.50")),
        (2.5, Decimal("2.50")),
        ("30", Decimal("30.00")),
        (1, Decimal("1.00")),
    ],
)
def test_vial_volume_is_exact(raw, expected):
    request = parse_plan_request(
        body(vial_volume_ml=raw, phases=[{"dose_mcg": 100, "every": 1, "unit": "day", "count": 1}])
    ).request
    assert request.vial.volume_ml == expected


def test_weekdays_are_parsed_and_normalised():
    data = phase_body(0, every=1, unit="week", count=6, weekdays=["FRI", "mon", "wed"])
    regimen = parse_plan_request(data).request.regimen
    assert regimen.phases[0] == Phase(1000, 1, "week", 6, ("mon", "wed", "fri"))


def test_empty_weekdays_mean_none():
    regimen = parse_plan_request(phase_body(0, weekdays=[])).request.regimen
    assert regimen.phases[0].weekdays == ()


def test_vial_options_parse_in_order():
    options = [
        {"vial_volume_ml": 1, "container": "single-dose"},
        {"vial_volume_ml": "2", "container": "multiple-dose"},
        {"vial_volume_ml": 10, "container": "multiple-dose"},
        {"vial_volume_ml": 30, "container": "multiple-dose"},
    ]
    parsed = parse_plan_request(body(vial_volume_ml=DELETE, container=DELETE, vial_options=options))
    assert parsed.has_options
    assert [(v.volume_ml, v.container) for v in parsed.vial_options] == [
        (Decimal(1), "single-dose"),
        (Decimal(2), "multiple-dose"),
        (Decimal(10), "multiple-dose"),
        (Decimal(30), "multiple-dose"),
    ]
    result = parsed.plan()
    assert isinstance(result, OptionsPlan) and result.recommended == 0


def test_in_use_days_is_ignored_for_single_dose_vials():
    parsed = parse_plan_request(body(container="single-dose", vial_volume_ml=1, in_use_days=5))
    assert parsed.plan().totals.vials == 12


def test_refills_instead_of_fills_for_orders():
    data = body(fills=DELETE, refills=2)
    assert parse_plan_request(data, refills=True).request.fills == 3
    with pytest.raises(ValidationFailed) as info:
        parse_plan_request(body(fills=DELETE, refills=13), refills=True)
    assert list(info.value.errors) == ["refills"]


@pytest.mark.parametrize("as_list", [True, False])
def test_parse_phases_takes_a_body_or_the_list(as_list):
    data = body()
    regimen = parse_phases(data["phases"] if as_list else data)
    assert regimen == PRESETS["high-dose"][1]


def test_parse_phases_reports_under_its_field():
    with pytest.raises(ValidationFailed) as info:
        parse_phases(
            {"regimen": [{"dose_mcg": 0, "every": 1, "unit": "day", "count": 1}]}, field="regimen"
        )
    assert list(info.value.errors) == ["regimen[0].dose_mcg"]


# --- bad input: one field error each --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        # phases
        pytest.param(body(phases=[]), "phases", id="empty-phases"),
        pytest.param(body(phases=DELETE), "phases", id="missing-phases"),
        pytest.param(body(phases="daily"), "phases", id="phases-not-a-list"),
        pytest.param(body(phases=[7]), "phases[0]", id="phase-not-an-object"),
        pytest.param(phase_body(1, dose_mcg="lots"), "phases[1].dose_mcg", id="dose-not-number"),
        pytest.param(phase_body(1, dose_mcg=0), "phases[1].dose_mcg", id="dose-zero"),
        pytest.param(phase_body(1, dose_mcg=-1000), "phases[1].dose_mcg", id="dose-negative"),
        pytest.param(phase_body(1, dose_mcg=1000.5), "phases[1].dose_mcg", id="dose-not-whole"),
        pytest.param(phase_body(1, dose_mcg=True), "phases[1].dose_mcg", id="dose-boolean"),
        pytest.param(phase_body(1, dose_mcg=DELETE), "phases[1].dose_mcg", id="dose-missing"),
        pytest.param(phase_body(1, dose_mcg=[1000]), "phases[1].dose_mcg", id="dose-list"),
        pytest.param(phase_body(1, dose_mcg="NaN"), "phases[1].dose_mcg", id="dose-nan-string"),
        pytest.param(phase_body(1, dose_mcg=float("nan")), "phases[1].dose_mcg", id="dose-nan"),
        pytest.param(phase_body(1, dose_mcg=float("inf")), "phases[1].dose_mcg", id="dose-inf"),
        pytest.param(phase_body(1, dose_mcg="Infinity"), "phases[1].dose_mcg", id="dose-inf-str"),
        pytest.param(phase_body(1, dose_mcg="1_000"), "phases[1].dose_mcg", id="dose-underscore"),
        pytest.param(phase_body(1, dose_mcg="1e999999"), "phases[1].dose_mcg", id="dose-huge"),
        pytest.param(phase_body(1, every=0), "phases[1].every", id="every-zero"),
        pytest.param(phase_body(1, every="weekly"), "phases[1].every", id="every-not-number"),
        pytest.param(phase_body(1, unit="fortnight"), "phases[1].unit", id="unknown-unit"),
        pytest.param(phase_body(1, unit=DELETE), "phases[1].unit", id="missing-unit"),
        pytest.param(phase_body(1, count=0), "phases[1].count", id="count-zero"),
        pytest.param(phase_body(1, count=2.5), "phases[1].count", id="count-not-whole"),
        pytest.param(phase_body(1, count=None), "phases[1].count", id="open-ended-not-last"),
        pytest.param(phase_body(1, count=DELETE), "phases[1].count", id="count-missing-not-last"),
        pytest.param(
            phase_body(0, weekdays=["mon"]), "phases[0].weekdays", id="weekdays-with-day-unit"
        ),
        pytest.param(
            phase_body(1, every=2, weekdays=["mon"]),
            "phases[1].weekdays",
            id="weekdays-with-every-2",
        ),
        pytest.param(
            phase_body(1, weekdays=["mon", "funday"]),
            "phases[1].weekdays",
            id="unknown-weekday",
        ),
        pytest.param(
            phase_body(1, weekdays=["mon", "mon"]), "phases[1].weekdays", id="weekday-twice"
        ),
        pytest.param(phase_body(1, weekdays="mon"), "phases[1].weekdays", id="weekdays-string"),
        # dates and counts
        pytest.param(body(start_date="2026-02-30"), "start_date", id="start-not-a-date"),
        pytest.param(body(start_date="12/01/2026"), "start_date", id="start-wrong-format"),
        pytest.param(body(start_date="20261201"), "start_date", id="start-basic-iso"),
        pytest.param(body(start_date=20261201), "start_date", id="start-number"),
        pytest.param(body(start_date=DELETE), "start_date", id="start-missing"),
        pytest.param(body(start_date="9999-12-01"), "start_date", id="start-far-future"),
        pytest.param(body(days_supply=0), "days_supply", id="days-supply-zero"),
        pytest.param(body(days_supply=366), "days_supply", id="days-supply-too-long"),
        pytest.param(body(days_supply=DELETE), "days_supply", id="days-supply-missing"),
        pytest.param(body(fills=0), "fills", id="fills-zero"),
        pytest.param(body(fills=14), "fills", id="fills-too-many"),
        pytest.param(body(fills=False), "fills", id="fills-boolean"),
        pytest.param(body(in_use_days=0), "in_use_days", id="in-use-zero"),
        pytest.param(body(in_use_days=29), "in_use_days", id="in-use-over-28"),
        pytest.param(body(bud_days=0), "bud_days", id="bud-zero"),
        pytest.param(body(bud_days="soon"), "bud_days", id="bud-not-number"),
        pytest.param(body(route="IV"), "route", id="route-unknown"),
        pytest.param(body(route=["IM"]), "route", id="route-list"),
        # concentration
        pytest.param(body(concentration_mcg_per_ml=0), "concentration_mcg_per_ml", id="conc-0"),
        pytest.param(
            body(concentration_mcg_per_ml=100001), "concentration_mcg_per_ml", id="conc-high"
        ),
        pytest.param(
            body(concentration_mcg_per_ml="strong"), "concentration_mcg_per_ml", id="conc-text"
        ),
        pytest.param(
            body(concentration_mcg_per_ml=DELETE), "concentration_mcg_per_ml", id="conc-missing"
        ),
        # vial
        pytest.param(body(vial_volume_ml=0), "vial_volume_ml", id="volume-zero"),
        pytest.param(body(vial_volume_ml=-10), "vial_volume_ml", id="volume-negative"),
        pytest.param(body(vial_volume_ml=31), "vial_volume_ml", id="multiple-dose-over-30"),
        pytest.param(body(vial_volume_ml="ten"), "vial_volume_ml", id="volume-text"),
        pytest.param(body(vial_volume_ml=10.005), "vial_volume_ml", id="volume-finer-than-0.01"),
        pytest.param(body(vial_volume_ml=DELETE), "vial_volume_ml", id="volume-missing"),
        pytest.param(body(container="bottle"), "container", id="container-unknown"),
        pytest.param(body(container=DELETE), "container", id="container-missing"),
        # dose volume (SPEC 2.2)
        pytest.param(phase_body(2, dose_mcg=40), "phases[2].dose_mcg", id="dose-volume-below-0.05"),
        pytest.param(
            phase_body(1, dose_mcg=11000), "phases[1].dose_mcg", id="dose-volume-over-vial"
        ),
        pytest.param(
            body(
                concentration_mcg_per_ml=50,
                phases=[{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 1}],
            ),
            "phases[0].dose_mcg",
            id="20-mL-dose-in-10-mL-vial",
        ),
        # vial options
        pytest.param(
            body(vial_volume_ml=DELETE, container=DELETE, vial_options=[]),
            "vial_options",
            id="options-empty",
        ),
        pytest.param(
            body(vial_options=[{"vial_volume_ml": 1, "container": "single-dose"}]),
            "vial_options",
            id="options-and-single-vial",
        ),
        pytest.param(
            body(
                vial_volume_ml=DELETE,
                container=DELETE,
                vial_options=[{"vial_volume_ml": 1, "container": "single-dose"}, "2 mL"],
            ),
            "vial_options[1]",
            id="option-not-an-object",
        ),
        pytest.param(
            body(
                vial_volume_ml=DELETE,
                container=DELETE,
                vial_options=[{"vial_volume_ml": "x", "container": "single-dose"}],
            ),
            "vial_options[0].vial_volume_ml",
            id="option-volume-text",
        ),
        pytest.param(
            body(
                vial_volume_ml=DELETE,
                container=DELETE,
                vial_options=[
                    {"vial_volume_ml": 1, "container": "single-dose"},
                    {"vial_volume_ml": 50, "container": "multiple-dose"},
                ],
            ),
            "vial_options[1].vial_volume_ml",
            id="option-multiple-dose-over-30",
        ),
        pytest.param(
            body(
                vial_volume_ml=DELETE,
                container=DELETE,
                vial_options=[{"vial_volume_ml": 1, "container": "jar"}],
            ),
            "vial_options[0].container",
            id="option-container-unknown",
        ),
        pytest.param(
            body(
                vial_volume_ml=DELETE,
                container=DELETE,
                vial_options=[
                    {"vial_volume_ml": 10, "container": "multiple-dose"},
                    {"vial_volume_ml": 0.5, "container": "single-dose"},
                ],
            ),
            "vial_options[1].vial_volume_ml",
            id="option-smaller-than-dose",
        ),
    ],
)
def test_each_bad_field_is_reported_by_path(data, field):
    errors = errors_of(data)
    assert list(errors) == [field]
    assert errors[field].endswith(".")


def test_all_errors_are_reported_at_once():
    data = body(start_date="someday", days_supply=0, route="IV")
    data["phases"][0]["dose_mcg"] = 0
    data["phases"][1]["count"] = None
    data["phases"][2]["unit"] = "year"
    errors = errors_of(data)
    assert set(errors) == {
        "phases[0].dose_mcg",
        "phases[1].count",
        "phases[2].unit",
        "start_date",
        "days_supply",
        "route",
    }


def test_body_must_be_an_object():
    with pytest.raises(ValidationFailed) as info:
        parse_plan_request(["not", "an", "object"])
    assert list(info.value.errors) == [""]


def test_input_is_not_mutated():
    data = body(
        phases=[
            {"dose_mcg": "1000", "every": 1, "unit": "week", "count": 2, "weekdays": ["fri", "mon"]}
        ]
    )
    before = copy.deepcopy(data)
    parse_plan_request(data)
    assert data == before


def test_message_names_the_phase_for_too_large_doses():
    errors = errors_of(phase_body(1, dose_mcg=11000))
    assert "Phase 2" in errors["phases[1].dose_mcg"]
    assert "10 mL" in errors["phases[1].dose_mcg"]


def test_regimen_type():
    regimen = parse_plan_request(body()).request.regimen
    assert isinstance(regimen, Regimen) and len(regimen.phases) == 3
