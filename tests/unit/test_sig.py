"""Directions for use written from a regimen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import PRESETS, Phase, Regimen
from pharmacy.domain.sig import frequency, sig
from pharmacy.domain.units import DoseTooSmall


@pytest.mark.parametrize(
    ("phases", "concentration", "route", "expected"),
    [
        pytest.param(
            PRESETS["high-dose"][1].phases,
            "1000",
            "IM",
            "Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses,"
            " then once weekly for 4 doses, then once monthly.",
            id="spec-high-dose",
        ),
        pytest.param(
            (Phase(1000, 1, "day", 7), Phase(500, 1, "week", 4), Phase(500, 1, "month", None)),
            "1000",
            "IM",
            "Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses,"
            " then inject 0.5 mL (500 mcg) once weekly for 4 doses, then once monthly.",
            id="dose-change-restated-once",
        ),
        pytest.param(
            (Phase(1000, 1, "week", 6, ("mon", "wed", "fri")), Phase(1000, 3, "month", None)),
            "1000",
            "SC",
            "Inject 1 mL (1,000 mcg) subcutaneously on Monday, Wednesday and Friday"
            " for 6 doses, then every 3 months.",
            id="weekdays-and-subcutaneous",
        ),
        pytest.param(
            (Phase(1000, 1, "day", 1),),
            "3000",
            "IM",
            "Inject 0.33 mL (1,000 mcg) intramuscularly once daily for 1 dose.",
            id="one-dose-singular",
        ),
        pytest.param(
            (Phase(2500, 2, "day", 3), Phase(2500, 2, "week", 2), Phase(500, 1, "month", 12)),
            "5000",
            "SC",
            "Inject 0.5 mL (2,500 mcg) subcutaneously every 2 days for 3 doses,"
            " then every 2 weeks for 2 doses, then inject 0.1 mL (500 mcg)"
            " once monthly for 12 doses.",
            id="every-n-days-and-weeks",
        ),
        pytest.param(
            (Phase(1000, 2, "month", 1000),),
            "1000",
            "IM",
            "Inject 1 mL (1,000 mcg) intramuscularly every 2 months for 1,000 doses.",
            id="thousands-separator-in-count",
        ),
        pytest.param(
            PRESETS["label-dosing"][1].phases,
            "1000",
            "IM",
            "Inject 0.1 mL (100 mcg) intramuscularly once daily for 7 doses,"
            " then every 2 days for 7 doses, then every 3 days for 7 doses, then once monthly.",
            id="label-dosing-preset",
        ),
    ],
)
def test_sig(phases, concentration, route, expected):
    assert sig(Regimen(tuple(phases)), Decimal(concentration), route) == expected


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase(1, 1, "day", 1), "once daily"),
        (Phase(1, 2, "day", 1), "every 2 days"),
        (Phase(1, 1, "week", 1), "once weekly"),
        (Phase(1, 2, "week", 1), "every 2 weeks"),
        (Phase(1, 1, "month", 1), "once monthly"),
        (Phase(1, 3, "month", 1), "every 3 months"),
        (Phase(1, 1, "week", 1, ("wed",)), "every Wednesday"),
        (Phase(1, 1, "week", 1, ("thu", "tue")), "on Tuesday and Thursday"),
        (Phase(1, 1, "week", 1, ("fri", "mon", "wed")), "on Monday, Wednesday and Friday"),
    ],
)
def test_frequency_words(phase, expected):
    assert frequency(phase) == expected


def test_unknown_route_is_a_field_error():
    with pytest.raises(DomainError) as info:
        sig(PRESETS["high-dose"][1], Decimal(1000), "IV")
    assert info.value.field == "route"


def test_unmeasurable_dose_is_refused():
    with pytest.raises(DoseTooSmall):
        sig(Regimen((Phase(10, 1, "day", 1),)), Decimal(1000), "IM")
