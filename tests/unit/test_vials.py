"""Vial plans (SPEC 2.3), dose volumes and units (SPEC 2.2), and the plan JSON shape."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.plan_json import options_to_dict, plan_to_dict
from pharmacy.domain.regimen import Phase, Regimen
from pharmacy.domain.units import (
    DoseExceedsVial,
    DoseTooSmall,
    dose_volume_ml,
    format_ml,
    format_qty,
    to_json_number,
)
from pharmacy.domain.vials import PlanRequest, VialSpec, plan_options, plan_vials

D = Decimal
HIGH_DOSE = Regimen(
    (Phase(1000, 1, "day", 7), Phase(1000, 1, "week", 4), Phase(1000, 1, "month", None))
)
WEEKLY_8 = Regimen((Phase(1000, 1, "week", 8),))
MULTI_10 = VialSpec(D("10"), "multiple-dose")
SPEC_OPTIONS = (
    VialSpec(D("1"), "single-dose"),
    VialSpec(D("2"), "multiple-dose"),
    VialSpec(D("10"), "multiple-dose"),
    VialSpec(D("30"), "multiple-dose"),
)


def day(text: str) -> date:
    """Parse an ISO date."""
    return date.fromisoformat(text)


def request(**overrides) -> PlanRequest:
    """Return the SPEC worked example request, with ``overrides``."""
    values = {
        "regimen": HIGH_DOSE,
        "start_date": day("2026-12-01"),
        "concentration_mcg_per_ml": D("1000"),
        "vial": MULTI_10,
        "days_supply": 90,
        "fills": 1,
    }
    values.update(overrides)
    return PlanRequest(**values)


def vial_rows(plan) -> list[tuple]:
    """Return (number, fill, opened, discard_by, first dose, last dose, doses, used, waste)."""
    return [
        (
            v.number,
            v.fill_number,
            v.opened.isoformat(),
            v.discard_by.isoformat(),
            v.doses[0].isoformat(),
            v.doses[-1].isoformat(),
            len(v.doses),
            str(v.used_ml),
            str(v.waste_ml),
        )
        for v in plan.vials
    ]


# --- SPEC 2.3 worked example -------------------------------------------------------------


def test_spec_worked_example_10ml_multiple_dose():
    plan = plan_vials(request())
    assert [x.date.isoformat() for x in plan.doses] == [
        *(f"2026-12-0{n}" for n in range(1, 8)),
        "2026-12-14",
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
        "2027-02-04",
    ]
    assert vial_rows(plan) == [
        (1, 0, "2026-12-01", "2026-12-28", "2026-12-01", "2026-12-28", 10, "10.00", "0.00"),
        (2, 0, "2027-01-04", "2027-01-31", "2027-01-04", "2027-01-04", 1, "1.00", "9.00"),
        (3, 0, "2027-02-04", "2027-03-03", "2027-02-04", "2027-02-04", 1, "1.00", "9.00"),
    ]
    assert plan.totals.doses == 12
    assert plan.totals.vials == 3
    assert plan.totals.waste_ml == D("18")
    assert plan.totals.dose_volume_ml == D("12")
    assert plan.totals.mcg == 12000
    assert plan.uncovered_doses == ()
    assert plan.warnings == ()
    assert plan.vials_for_fill(0) == 3
    assert plan.fills[0].dispense_date == day("2026-12-01")
    assert plan.fills[0].last_day == day("2027-02-28")


@pytest.mark.parametrize(
    ("index", "vials", "waste"),
    [(0, 12, "0"), (1, 7, "2"), (2, 3, "18"), (3, 3, "78")],
    ids=["1mL-single", "2mL-multi", "10mL-multi", "30mL-multi"],
)
def test_spec_worked_example_options(index, vials, waste):
    result = plan_options(request(), SPEC_OPTIONS)
    option = result.options[index]
    assert option.totals.vials == vials
    assert option.totals.waste_ml == D(waste)
    assert option.vial_spec == SPEC_OPTIONS[index]


def test_spec_worked_example_recommends_single_dose():
    result = plan_options(request(), SPEC_OPTIONS)
    assert result.recommended == 0
    assert result.best.totals.vials == 12 and result.best.totals.waste_ml == 0
    sentence = result.recommendation
    assert sentence.startswith("Recommended: 1 mL single-dose")
    assert "least waste" in sentence
    for text in (
        "0 mL waste, 12 vials",
        "2 mL waste, 7 vials",
        "18 mL waste, 3 vials",
        "78 mL waste, 3 vials",
    ):
        assert text in sentence


@pytest.mark.parametrize(
    ("options", "recommended", "phrase"),
    [
        pytest.param(
            (
                VialSpec(D("1"), "single-dose"),
                VialSpec(D("2"), "multiple-dose"),
                VialSpec(D("4"), "multiple-dose"),
            ),
            2,
            "then the fewest vials",
            id="tie-on-waste-fewest-vials",
        ),
        pytest.param(
            (VialSpec(D("4"), "multiple-dose"), VialSpec(D("4"), "multiple-dose")),
            0,
            "given first",
            id="full-tie-first-given",
        ),
        pytest.param((VialSpec(D("5"), "multiple-dose"),), 0, "only option", id="one-option"),
    ],
)
def test_recommendation_tie_breaks(options, recommended, phrase):
    four_daily = Regimen((Phase(1000, 1, "day", 4),))
    result = plan_options(request(regimen=four_daily), options)
    assert result.recommended == recommended
    assert phrase in result.recommendation


def test_plan_options_reports_too_small_options_by_index():
    options = (VialSpec(D("1"), "single-dose"), VialSpec(D("0.5"), "multiple-dose"))
    with pytest.raises(ValidationFailed) as info:
        plan_options(request(), options)
    assert list(info.value.errors) == ["vial_options[1].vial_volume_ml"]
    assert "Phase 1" in info.value.errors["vial_options[1].vial_volume_ml"]


def test_plan_options_needs_an_option():
    with pytest.raises(DomainError) as info:
        plan_options(request(), ())
    assert info.value.field == "vial_options"


# --- in-use windows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_use_days", "vials", "first_vial_last_dose", "first_discard_by"),
    [
        (28, 3, "2026-12-28", "2026-12-28"),
        (14, 4, "2026-12-14", "2026-12-14"),  # day 14 is inside a 14-day window
        (13, 4, "2026-12-07", "2026-12-13"),  # Dec 14 opens vial 2, which reaches Dec 21
        (8, 4, "2026-12-07", "2026-12-08"),
        (7, 6, "2026-12-07", "2026-12-07"),
        (1, 12, "2026-12-01", "2026-12-01"),
    ],
)
def test_in_use_window_shorter_than_28_days(
    in_use_days, vials, first_vial_last_dose, first_discard_by
):
    plan = plan_vials(request(in_use_days=in_use_days))
    assert plan.totals.vials == vials
    first = plan.vials[0]
    assert first.doses[-1].isoformat() == first_vial_last_dose
    assert first.discard_by.isoformat() == first_discard_by
    assert all(v.opened <= dose <= v.discard_by for v in plan.vials for dose in v.doses)


def test_volume_limits_a_vial_before_its_in_use_window():
    # 1,000 mcg at 3,000 mcg/mL is 0.33 mL: a 1 mL vial holds 3 doses (0.99 mL).
    daily = Regimen((Phase(1000, 1, "day", 7),))
    plan = plan_vials(
        request(
            regimen=daily,
            concentration_mcg_per_ml=D("3000"),
            vial=VialSpec(D("1"), "multiple-dose"),
        )
    )
    assert [len(v.doses) for v in plan.vials] == [3, 3, 1]
    assert [str(v.waste_ml) for v in plan.vials] == ["0.01", "0.01", "0.67"]
    assert plan.totals.dose_volume_ml == D("2.31")


def test_single_dose_vial_serves_exactly_one_dose():
    plan = plan_vials(request(vial=VialSpec(D("2"), "single-dose")))
    assert plan.totals.vials == plan.totals.doses == 12
    assert all(len(v.doses) == 1 and v.discard_by == v.opened == v.doses[0] for v in plan.vials)
    assert plan.totals.waste_ml == D("12")  # 1 mL left in each 2 mL vial


# --- fills, BUD, carry-over --------------------------------------------------------------


def test_open_vial_carries_over_into_next_fill():
    # Weekly doses Dec 1 .. Jan 19; 14-day fills: Dec 1, Dec 15, Dec 29, Jan 12.
    plan = plan_vials(request(regimen=WEEKLY_8, days_supply=14, fills=4))
    assert vial_rows(plan) == [
        (1, 0, "2026-12-01", "2026-12-28", "2026-12-01", "2026-12-22", 4, "4.00", "6.00"),
        (2, 2, "2026-12-29", "2027-01-25", "2026-12-29", "2027-01-19", 4, "4.00", "6.00"),
    ]
    assert [(f.fill_number, f.doses, f.vials, f.carried_over_vial) for f in plan.fills] == [
        (0, 2, 1, None),
        (1, 2, 0, 1),
        (2, 2, 1, None),
        (3, 2, 0, 2),
    ]
    assert [plan.vials_for_fill(k) for k in range(4)] == [1, 0, 1, 0]
    assert [d.fill_number for d in plan.doses] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [d.vial for d in plan.doses] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert [d.date.isoformat() for d in plan.doses_for_fill(1)] == ["2026-12-15", "2026-12-22"]


def test_bud_stops_carry_over():
    plan = plan_vials(request(regimen=WEEKLY_8, days_supply=14, fills=4, bud_days=14))
    assert [plan.vials_for_fill(k) for k in range(4)] == [1, 1, 1, 1]
    assert [v.discard_by.isoformat() for v in plan.vials] == [
        "2026-12-14",
        "2026-12-28",
        "2027-01-11",
        "2027-01-25",
    ]
    assert plan.uncovered_doses == ()


def test_bud_shorter_than_days_supply_leaves_doses_uncovered():
    plan = plan_vials(request(bud_days=30))  # in date Dec 1 .. Dec 30
    assert plan.totals.doses == 10
    assert plan.totals.vials == 1
    assert plan.vials[0].discard_by == day("2026-12-28")  # in-use window ends first
    assert [x.date.isoformat() for x in plan.uncovered_doses] == ["2027-01-04", "2027-02-04"]
    assert all(x.vial is None and x.fill_number == 0 for x in plan.uncovered_doses)
    assert plan.totals.dose_volume_ml == D("10") and plan.totals.mcg == 10000
    assert plan.fills[0].uncovered == 2
    (warning,) = plan.warnings
    assert "2 doses from 2027-01-04" in warning
    assert "Shorten the days supply" in warning and "longer BUD" in warning


def test_bud_caps_discard_by():
    plan = plan_vials(request(bud_days=20))  # in date Dec 1 .. Dec 20
    assert plan.vials[0].discard_by == day("2026-12-20")
    assert plan.vials[0].doses[-1] == day("2026-12-14")
    assert [x.date.isoformat() for x in plan.uncovered_doses] == [
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
        "2027-02-04",
    ]


def test_bud_window_boundary_day_is_included():
    plan = plan_vials(request(bud_days=28))  # last in-date day Dec 28
    assert plan.vials[0].doses[-1] == day("2026-12-28")
    plan = plan_vials(request(bud_days=27))
    assert plan.vials[0].doses[-1] == day("2026-12-21")
    assert plan.uncovered_doses[0].date == day("2026-12-28")


def test_uncovered_doses_per_refill_warn_per_fill():
    plan = plan_vials(request(regimen=WEEKLY_8, days_supply=28, fills=2, bud_days=14))
    assert [x.date.isoformat() for x in plan.uncovered_doses] == [
        "2026-12-15",
        "2026-12-22",
        "2027-01-12",
        "2027-01-19",
    ]
    assert len(plan.warnings) == 2
    assert plan.warnings[0].startswith("The original fill")
    assert plan.warnings[1].startswith("Refill 1")


def test_doses_after_the_last_fill_are_not_planned():
    plan = plan_vials(request(days_supply=30, fills=2))  # Dec 1 .. Jan 29
    assert plan.doses[-1].date == day("2027-01-04")
    assert [f.dispense_date.isoformat() for f in plan.fills] == ["2026-12-01", "2026-12-31"]


def test_vials_for_fill_out_of_range():
    plan = plan_vials(request())
    with pytest.raises(DomainError):
        plan.vials_for_fill(1)


# --- dose volume and units (SPEC 2.2) ------------------------------------------------------


@pytest.mark.parametrize(
    ("dose_mcg", "concentration", "expected"),
    [
        (1000, "1000", "1.00"),
        (1000, "3000", "0.33"),
        (2000, "3000", "0.67"),
        (125, "1000", "0.13"),  # a tie rounds up, not to even
        (1125, "1000", "1.13"),
        (1005, "1000", "1.01"),
        (1015, "1000", "1.02"),
        (45, "1000", "0.05"),  # rounds up to the smallest measurable volume
        (100, "1000", "0.10"),
        (500, "1000", "0.50"),
        (1000, "1500", "0.67"),
        (1000, "2500.5", "0.40"),
    ],
)
def test_dose_volume_rounds_half_up(dose_mcg, concentration, expected):
    volume = dose_volume_ml(dose_mcg, D(concentration))
    assert isinstance(volume, Decimal)
    assert str(volume) == expected


@pytest.mark.parametrize(
    ("dose_mcg", "concentration", "vial", "error"),
    [
        (44, "1000", None, DoseTooSmall),  # 0.044 -> 0.04 mL
        (10, "1000", None, DoseTooSmall),
        (1000, "100", "5", DoseExceedsVial),
        (1005, "1000", "1", DoseExceedsVial),  # 1.005 -> 1.01 mL
    ],
)
def test_dose_volume_errors_name_the_phase(dose_mcg, concentration, vial, error):
    with pytest.raises(error) as info:
        dose_volume_ml(dose_mcg, D(concentration), None if vial is None else D(vial), phase=2)
    assert info.value.field == "phases[1].dose_mcg"
    assert info.value.message.startswith("Phase 2:")


def test_plan_rejects_a_dose_larger_than_the_vial():
    regimen = Regimen((Phase(1000, 1, "day", 1), Phase(5000, 1, "month", None)))
    with pytest.raises(DoseExceedsVial) as info:
        plan_vials(request(regimen=regimen, vial=VialSpec(D("2"), "multiple-dose")))
    assert info.value.field == "phases[1].dose_mcg"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1000, "1,000"),
        (D("1000"), "1,000"),
        (D("100000.50"), "100,000.5"),
        (7, "7"),
        (D("1E+3"), "1,000"),
    ],
)
def test_format_qty(value, text):
    assert format_qty(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1"), "1 mL"),
        (D("1.00"), "1 mL"),
        (D("0.33"), "0.33 mL"),
        (D("2.50"), "2.5 mL"),
        (D("30"), "30 mL"),
    ],
)
def test_format_ml(value, text):
    assert format_ml(value) == text


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [
        (D("18.00"), 18, int),
        (D("0.33"), 0.33, float),
        (D("2.5"), 2.5, float),
        (5, 5, int),
        (D("0.125"), 0.13, float),
    ],
)
def test_to_json_number(value, expected, kind):
    result = to_json_number(value)
    assert result == expected and type(result) is kind


# --- JSON shape (SPEC 3 "Plan response") ---------------------------------------------------


def test_plan_to_dict_shape():
    data = plan_to_dict(plan_vials(request(concentration_mcg_per_ml=D("3000"))))
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    assert {"doses", "vials", "fills", "totals", "uncovered_doses", "warnings", "sig"} <= set(data)
    assert data["doses"][0] == {
        "date": "2026-12-01",
        "dose_mcg": 1000,
        "volume_ml": 0.33,
        "phase": 1,
        "index": 0,
        "fill_number": 0,
        "vial": 1,
    }
    assert {"vial", "fill_number", "opened", "discard_by", "doses", "used_ml", "waste_ml"} <= set(
        data["vials"][0]
    )
    assert data["vials"][0]["discard_by"] == "2026-12-28"
    assert data["vials"][0]["doses"] == 10
    assert data["vials"][0]["used_ml"] == 3.3
    assert {"fill_number", "dispense_date", "doses", "vials"} <= set(data["fills"][0])
    assert data["totals"] == {
        "doses": 12,
        "vials": 3,
        "dose_volume_ml": 3.96,
        "waste_ml": 26.04,
        "mcg": 12000,
    }
    assert data["uncovered_doses"] == [] and data["warnings"] == []
    assert data["sig"].startswith("Inject 0.33 mL (1,000 mcg) intramuscularly")


def test_uncovered_doses_json_have_null_vial():
    data = plan_to_dict(plan_vials(request(bud_days=30)))
    assert [x["vial"] for x in data["uncovered_doses"]] == [None, None]
    assert data["uncovered_doses"][0]["date"] == "2027-01-04"
    assert len(data["warnings"]) == 1


def test_options_to_dict_shape():
    data = options_to_dict(plan_options(request(), SPEC_OPTIONS))
    assert json.loads(json.dumps(data)) == data
    assert data["recommended"] == 0
    assert data["recommendation"].startswith("Recommended:")
    assert [(o["vial_volume_ml"], o["container"]) for o in data["options"]] == [
        (1, "single-dose"),
        (2, "multiple-dose"),
        (10, "multiple-dose"),
        (30, "multiple-dose"),
    ]
    assert data["options"][2]["totals"]["waste_ml"] == 18
