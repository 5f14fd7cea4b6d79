"""Regimen expansion (SPEC 2.1) and presets."""

from __future__ import annotations

from datetime import date

import pytest

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import (
    PRESETS,
    Dose,
    Phase,
    Regimen,
    expand_regimen,
    presets_as_json,
)

HIGH_DOSE = Regimen(
    (Phase(1000, 1, "day", 7), Phase(1000, 1, "week", 4), Phase(1000, 1, "month", None))
)


def d(text: str) -> date:
    """Parse an ISO date."""
    return date.fromisoformat(text)


def dates(regimen: Regimen, start: str, until: str) -> list[str]:
    """Return the expanded dose dates as ISO strings."""
    return [dose.date.isoformat() for dose in expand_regimen(regimen, d(start), d(until))]


@pytest.mark.parametrize(
    ("regimen", "start", "until", "expected"),
    [
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2027-03-01",  # 90-day supply: Mar 4 is outside
            [
                *(f"2026-12-0{day}" for day in range(1, 8)),
                "2026-12-14",
                "2026-12-21",
                "2026-12-28",
                "2027-01-04",
                "2027-02-04",
            ],
            id="spec-worked-example",
        ),
        pytest.param(
            HIGH_DOSE,
            "2026-12-01",
            "2027-05-05",
            [
                *(f"2026-12-0{day}" for day in range(1, 8)),
                "2026-12-14",
                "2026-12-21",
                "2026-12-28",
                "2027-01-04",
                "2027-02-04",
                "2027-03-04",
                "2027-04-04",
                "2027-05-04",
            ],
            id="spec-open-ended-monthly-stops-before-until",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "month", 5),)),
            "2026-01-31",
            "2027-01-01",
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"],
            id="month-end-start-not-chained",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "month", 3),)),
            "2028-01-31",
            "2029-01-01",
            ["2028-01-31", "2028-02-29", "2028-03-31"],
            id="month-end-start-in-leap-year",
        ),
        pytest.param(
            Regimen((Phase(1000, 12, "month", 5),)),
            "2028-02-29",
            "2040-01-01",
            ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"],
            id="leap-day-start-yearly-returns-to-29th",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "month", None),)),
            "2028-02-29",
            "2028-06-01",
            ["2028-02-29", "2028-03-29", "2028-04-29", "2028-05-29"],
            id="leap-day-start-monthly",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "day", 1), Phase(1000, 1, "month", 3))),
            "2026-01-31",
            "2027-01-01",
            ["2026-01-31", "2026-02-28", "2026-03-28", "2026-04-28"],
            id="later-monthly-phase-counts-from-its-own-first-dose",
        ),
        pytest.param(
            Regimen(
                (Phase(1000, 2, "day", 3), Phase(500, 2, "week", 2), Phase(250, 3, "month", 2))
            ),
            "2026-03-01",
            "2027-01-01",
            [
                "2026-03-01",
                "2026-03-03",
                "2026-03-05",
                "2026-03-19",
                "2026-04-02",
                "2026-07-02",
                "2026-10-02",
            ],
            id="later-phase-starts-one-new-interval-after",
        ),
        pytest.param(
            Regimen(
                (Phase(1000, 1, "week", 6, ("mon", "wed", "fri")), Phase(1000, 3, "month", None))
            ),
            "2026-12-01",  # a Tuesday
            "2027-07-01",
            [
                "2026-12-02",
                "2026-12-04",
                "2026-12-07",
                "2026-12-09",
                "2026-12-11",
                "2026-12-14",
                "2027-03-14",
                "2027-06-14",
            ],
            id="weekday-phase-first-listed-day-on-or-after-start",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "week", 3, ("fri", "mon")),)),
            "2026-12-04",  # a Friday: on or after includes it
            "2027-01-01",
            ["2026-12-04", "2026-12-07", "2026-12-11"],
            id="weekday-phase-starting-on-a-listed-day-any-order",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "day", 3), Phase(1000, 1, "week", 3, ("mon", "wed", "fri")))),
            "2026-11-30",  # Monday; daily doses Mon, Tue, Wed
            "2027-01-01",
            ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-04", "2026-12-07", "2026-12-09"],
            id="weekday-phase-after-strictly-after-last-dose",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "week", None, ("sun",)),)),
            "2026-12-01",
            "2026-12-20",
            ["2026-12-06", "2026-12-13"],
            id="open-ended-weekday-phase-stops-at-until",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "day", 5),)),
            "2026-12-01",
            "2026-12-03",
            ["2026-12-01", "2026-12-02"],
            id="until-is-exclusive",
        ),
        pytest.param(
            Regimen((Phase(1000, 1, "day", 2), Phase(1000, 1, "week", 2))),
            "2026-12-01",
            "2027-12-01",
            ["2026-12-01", "2026-12-02", "2026-12-09", "2026-12-16"],
            id="finite-regimen-ends-before-until",
        ),
        pytest.param(HIGH_DOSE, "2026-12-01", "2026-12-01", [], id="empty-window"),
    ],
)
def test_expand_regimen_dates(regimen, start, until, expected):
    assert dates(regimen, start, until) == expected


@pytest.mark.parametrize(
    "regimen",
    [
        Regimen((Phase(1000, 1, "month", None),)),
        Regimen((Phase(1000, 1, "day", None),)),
        Regimen((Phase(1000, 1, "week", None, ("sun",)),)),
        Regimen((Phase(1000, 1, "day", 2), Phase(1000, 12, "month", 5))),
    ],
)
def test_expansion_stops_at_the_end_of_the_calendar(regimen):
    doses = expand_regimen(regimen, d("9999-12-01"), date.max)
    assert doses and all(x.date <= date.max for x in doses)


def test_dose_phase_numbers_and_indexes():
    doses = expand_regimen(HIGH_DOSE, d("2026-12-01"), d("2027-03-01"))
    assert doses[0] == Dose(d("2026-12-01"), 1000, 1, 0)
    assert doses[6] == Dose(d("2026-12-07"), 1000, 1, 6)
    assert doses[7] == Dose(d("2026-12-14"), 1000, 2, 0)
    assert doses[-1] == Dose(d("2027-02-04"), 1000, 3, 0)
    assert [x.index for x in doses if x.phase == 2] == [0, 1, 2, 3]


def test_dose_carries_each_phases_dose():
    regimen = Regimen((Phase(1000, 1, "day", 2), Phase(500, 1, "day", 2)))
    doses = expand_regimen(regimen, d("2026-12-01"), d("2027-01-01"))
    assert [x.dose_mcg for x in doses] == [1000, 1000, 500, 500]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Phase(0, 1, "day", 1), "dose_mcg"),
        (lambda: Phase(-5, 1, "day", 1), "dose_mcg"),
        (lambda: Phase(1000, 0, "day", 1), "every"),
        (lambda: Phase(1000, 1, "year", 1), "unit"),
        (lambda: Phase(1000, 1, "day", 0), "count"),
        (lambda: Phase(1000, 1, "day", 7, ("mon",)), "weekdays"),
        (lambda: Phase(1000, 2, "week", 7, ("mon",)), "weekdays"),
        (lambda: Phase(1000, 1, "week", 7, ("funday",)), "weekdays"),
        (lambda: Phase(1000, 1, "week", 7, ("mon", "mon")), "weekdays"),
        (lambda: Regimen(()), "phases"),
        (
            lambda: Regimen((Phase(1000, 1, "day", None), Phase(1000, 1, "week", 4))),
            "phases[0].count",
        ),
    ],
)
def test_invalid_phases_are_rejected(make, field):
    with pytest.raises(DomainError) as info:
        make()
    assert info.value.field == field


def test_weekdays_are_stored_in_week_order():
    assert Phase(1000, 1, "week", 3, ("fri", "mon", "wed")).weekdays == ("mon", "wed", "fri")
    assert Phase(1000, 1, "week", 3, ("fri", "mon", "wed")) == Phase(
        1000, 1, "week", 3, ("mon", "wed", "fri")
    )


def test_presets_follow_spec():
    assert list(PRESETS) == ["high-dose", "label-dosing", "three-times-weekly", "neurological"]
    assert PRESETS["high-dose"][1] == HIGH_DOSE
    label = PRESETS["label-dosing"][1].phases
    assert [(p.dose_mcg, p.every, p.unit, p.count) for p in label] == [
        (100, 1, "day", 7),
        (100, 2, "day", 7),
        (100, 3, "day", 7),
        (100, 1, "month", None),
    ]
    tiw = PRESETS["three-times-weekly"][1].phases
    assert tiw[0].weekdays == ("mon", "wed", "fri") and tiw[0].count == 6
    assert (tiw[1].every, tiw[1].unit, tiw[1].count) == (3, "month", None)
    neuro = PRESETS["neurological"][1].phases
    assert (neuro[0].every, neuro[0].unit, neuro[0].count) == (2, "day", 14)
    assert (neuro[1].every, neuro[1].unit, neuro[1].count) == (2, "month", None)
    assert "14" in PRESETS["neurological"][0]


def test_presets_as_json_round_trip_shape():
    data = presets_as_json()
    assert [p["key"] for p in data] == list(PRESETS)
    assert data[0]["phases"][0] == {
        "dose_mcg": 1000,
        "every": 1,
        "unit": "day",
        "count": 7,
        "weekdays": [],
    }
    assert data[2]["phases"][0]["weekdays"] == ["mon", "wed", "fri"]
    assert data[0]["phases"][-1]["count"] is None
