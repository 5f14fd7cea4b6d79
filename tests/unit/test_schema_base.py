"""The strict base model, bounded scalars and the 422 field paths of pharmacy.api.schemas.base."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.api.schemas.base import Day, Id, Int, Num, Strict, Text, field_path, validate
from pharmacy.domain.errors import ValidationFailed


class PhaseIn(Strict):
    dose_mcg: Int(ge=1, le=100_000)
    count: Int(ge=1, le=10_000) | None = None


class BodyIn(Strict):
    name: Text(80, min_length=1)
    volume_ml: Num(gt=0, le=100)
    lot: Id | None = None
    start: Day | None = None
    phases: tuple[PhaseIn, ...] = ()


def _fields(data: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate(BodyIn, data)
    return caught.value.errors


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("phases", 1, "count"), "phases[1].count"),
        (("name",), "name"),
        (("vial_options", 0, "vial_volume_ml"), "vial_options[0].vial_volume_ml"),
        ((), ""),
    ],
)
def test_field_path(loc, path):
    assert field_path(loc) == path


def test_valid_body_converts_numbers_and_dates():
    body = validate(
        BodyIn,
        {
            "name": "  Ann ",
            "volume_ml": "2.5",
            "lot": 7,
            "start": "2026-03-01",
            "phases": [{"dose_mcg": "1000", "count": Decimal("4.0")}],
        },
    )
    assert body.name == "Ann"
    assert body.volume_ml == Decimal("2.5")
    assert body.start == date(2026, 3, 1)
    assert body.phases[0].dose_mcg == 1000 and body.phases[0].count == 4


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("1e999999", "phases[1].count"),
        (Decimal("1e999999"), "phases[1].count"),
        ("9" * 10_000, "phases[1].count"),
        (10**400, "phases[1].count"),
        ("1_000", "phases[1].count"),
        ("Infinity", "phases[1].count"),
        (Decimal("NaN"), "phases[1].count"),
        (True, "phases[1].count"),
        ("2.5", "phases[1].count"),
        (0, "phases[1].count"),
    ],
)
def test_bad_numbers_are_field_errors(value, path):
    fields = _fields(
        {"name": "A", "volume_ml": 1, "phases": [{"dose_mcg": 1}, {"dose_mcg": 1, "count": value}]}
    )
    assert path in fields


@pytest.mark.parametrize(
    ("text", "ok"),
    [("Ann", True), ("A\x00nn", False), ("A\ud800", False), ("A\x07", False), ("x" * 81, False)],
)
def test_text_hygiene(text, ok):
    data = {"name": text, "volume_ml": 1}
    if ok:
        assert validate(BodyIn, data).name == text
    else:
        assert "name" in _fields(data)


def test_ids_bounded_and_unknown_fields_refused():
    fields = _fields({"name": "A", "volume_ml": 1, "lot": 2**31, "extra": 1})
    assert set(fields) == {"lot", "extra"}
    assert "volume_ml" in _fields({"name": "A", "volume_ml": "0"})
    assert _fields([]) == {"": "The request body must be a JSON object."}
    assert "start" in _fields({"name": "A", "volume_ml": 1, "start": "2026-02-30"})
