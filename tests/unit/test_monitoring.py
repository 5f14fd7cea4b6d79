"""Lab monitoring checkpoints over a planned regimen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.errors import DomainError
from pharmacy.domain.monitoring import Checkpoint, monitoring_checkpoints
from pharmacy.domain.regimen import PRESETS, Phase, Regimen, expand_regimen
from pharmacy.domain.vials import PlanRequest, VialSpec, plan_vials

HIGH_DOSE = PRESETS["high-dose"][1]
BASE = ("serum B12", "CBC")


def day(text: str) -> date:
    """Parse an ISO date."""
    return date.fromisoformat(text)


def checkpoint_dates(regimen: Regimen, start: str, until: str, **kwargs) -> list[str]:
    """Return the checkpoint dates for the regimen expanded from ``start`` to ``until``."""
    doses = expand_regimen(regimen, day(start), day(until))
    return [c.date.isoformat() for c in monitoring_checkpoints(doses, regimen, **kwargs)]


@pytest.mark.parametrize(
    ("regimen", "start", "until", "kwargs", "expected"),
    [
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2027-03-01",
            {},
            ["2027-01-05"],
            id="spec-example-90-days-after-loading-only",
        ),
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2027-12-01",
            {},
            ["2027-01-05", "2027-04-05", "2027-07-05", "2027-10-05"],
            id="every-3-months-up-to-last-dose-nov-4",
        ),
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2027-12-01",
            {"interval_months": 6},
            ["2027-01-05", "2027-07-05"],
            id="six-monthly",
        ),
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2026-12-20",
            {},
            [],
            id="loading-not-finished-no-checkpoint",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "day", 3), Phase(1000, 1, "week", 2))),
            "2026-12-01",
            "2027-12-01",
            {},
            ["2026-12-04"],
            id="finite-maintenance-no-periodic-check-past-its-end",
        ),
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2027-01-05",
            {},
            ["2027-01-05"],
            id="loading-check-kept-even-after-last-planned-dose",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "month", None),)),
            "2026-01-31",
            "2026-12-01",
            {},
            ["2026-04-30", "2026-07-31", "2026-10-31"],
            id="single-phase-counts-from-first-dose-not-chained",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "month", None),)),
            "2026-01-31",
            "2026-04-30",
            {},
            [],
            id="checkpoint-after-last-dose-is-not-planned",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "month", None),)),
            "2026-01-31",
            "2026-05-01",
            {},
            ["2026-04-30"],
            id="checkpoint-on-the-last-dose-day",
        ),
        pytest.param(
            # Loading: Jan 1-7 daily, Jan 9-21 every 2 days, Jan 24-Feb 11 every 3 days.
            PRESETS["label-dosing"][1],
            "2026-01-01",
            "2026-06-15",
            {},
            ["2026-02-12", "2026-05-12"],
            id="label-dosing-loading-ends-after-phase-3",
        ),
    ],
)
def test_checkpoint_dates(regimen, start, until, kwargs, expected):
    assert checkpoint_dates(regimen, start, until, **kwargs) == expected


def test_checkpoint_reasons_and_tests():
    doses = expand_regimen(HIGH_DOSE, day("2026-12-01"), day("2027-06-01"))
    first, second = monitoring_checkpoints(doses, HIGH_DOSE, extra_tests=("MMA", "homocysteine"))
    assert first == Checkpoint(
        day("2027-01-05"), "after loading doses", (*BASE, "MMA", "homocysteine")
    )
    assert second.reason == "maintenance check, every 3 months"
    assert second.tests == (*BASE, "MMA", "homocysteine")


@pytest.mark.parametrize(
    ("extra", "tests"),
    [((), BASE), (("MMA",), (*BASE, "MMA")), (("CBC", "MMA", "MMA"), (*BASE, "MMA"))],
)
def test_tests_are_listed_once(extra, tests):
    doses = expand_regimen(HIGH_DOSE, day("2026-12-01"), day("2027-03-01"))
    (checkpoint,) = monitoring_checkpoints(doses, HIGH_DOSE, extra_tests=extra)
    assert checkpoint.tests == tests


def test_works_on_planned_doses():
    plan = plan_vials(
        PlanRequest(
            regimen=HIGH_DOSE,
            start_date=day("2026-12-01"),
            concentration_mcg_per_ml=Decimal(1000),
            vial=VialSpec(Decimal(10), "multiple-dose"),
            days_supply=90,
            fills=4,
        )
    )
    dates = [c.date.isoformat() for c in monitoring_checkpoints(plan.doses, HIGH_DOSE)]
    assert dates == ["2027-01-05", "2027-04-05", "2027-07-05", "2027-10-05"]


def test_no_doses_no_checkpoints():
    assert monitoring_checkpoints((), HIGH_DOSE) == ()


def test_interval_must_be_positive():
    with pytest.raises(DomainError) as info:
        monitoring_checkpoints((), HIGH_DOSE, interval_months=0)
    assert info.value.field == "interval_months"
