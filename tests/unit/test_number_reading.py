"""One reading of numbers for every parser (issue 13: "1_000" was refused by the plan parser
and accepted by the formulation, lot and FHIR parsers). Each row goes through the shared
reader and through each parser's own door, which must all give the same verdict."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from pharmacy.api.schemas.base import Num
from pharmacy.domain import fhir, plan_input
from pharmacy.domain.errors import DomainError
from pharmacy.domain.formulation import parse_decimal
from pharmacy.domain.units import NumberError, read_decimal


class _Body(BaseModel):
    value: Num()


def _schema(value):
    try:
        return _Body(value=value).value
    except ValidationError:
        return None


def _formulation(value):
    try:
        return parse_decimal(value, "vial_volume_ml")
    except DomainError:
        return None


def _plan(value):
    result = plan_input._to_decimal(value)
    return result if isinstance(result, Decimal) else None


READERS = {
    "schema": _schema,
    "plan": _plan,
    "formulation and lots": _formulation,
    "fhir": fhir._decimal,
}

ACCEPTED = [
    ("1000", Decimal(1000)),
    (" 12.5 ", Decimal("12.5")),
    ("-0.25", Decimal("-0.25")),
    (".5", Decimal("0.5")),
    ("1e3", Decimal(1000)),
    (1000, Decimal(1000)),
    (Decimal("2.50"), Decimal("2.50")),
    (0.1, Decimal("0.1")),
    ("1e30", Decimal("1e30")),
]
REFUSED = [
    ("1_000", "number_type"),
    ("Infinity", "number_type"),
    ("NaN", "number_type"),
    (Decimal("Infinity"), "number_finite"),
    (Decimal("NaN"), "number_finite"),
    (float("inf"), "number_finite"),
    ("\u0661\u0662", "number_type"),  # Arabic-Indic digits: Decimal() alone reads them
    ("\u00b2", "number_type"),  # superscript two
    ("0x10", "number_type"),
    ("", "number_type"),
    ("1,000", "number_type"),
    (True, "number_type"),
    (None, "number_type"),
    ([1], "number_type"),
    ("1e999999", "number_range"),
    (Decimal("1e999999"), "number_range"),
    ("1e31", "number_range"),
    ("9" * 41, "number_too_long"),
    (10**10_000, "number_range"),
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED)
def test_numbers_every_parser_reads_alike(value, expected):
    assert read_decimal(value) == expected
    for name, reader in READERS.items():
        assert reader(value) == expected, name


@pytest.mark.parametrize(
    ("value", "kind"),
    REFUSED,
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else type(v).__name__,
)
def test_numbers_every_parser_refuses_alike(value, kind):
    with pytest.raises(NumberError) as caught:
        read_decimal(value)
    assert caught.value.kind == kind
    for name, reader in READERS.items():
        assert reader(value) is None, name


def test_a_huge_number_is_refused_before_any_conversion():
    start = time.perf_counter()
    for value in ("1e999999", "9" * 10_000, 10**10_000):
        with pytest.raises(NumberError):
            read_decimal(value)
    # Generous: the unbounded conversion took about 26 s (issue 13); this takes microseconds.
    assert time.perf_counter() - start < 5
