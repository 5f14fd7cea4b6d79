"""Batch lot numbers and ingredient expiry text."""

from __future__ import annotations

from datetime import date

import pytest

from pharmacy.domain.errors import DomainError
from pharmacy.domain.lots import (
    batch_lot_number,
    month_end,
    next_batch_sequence,
    parse_expiry_text,
    validate_batch_lot,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03", date(2027, 3, 31)),  # SPEC 2.4: month-only = end of the month
        ("2027-04", date(2027, 4, 30)),
        ("2024-02", date(2024, 2, 29)),  # leap year
        ("2023-02", date(2023, 2, 28)),
        ("2027-12", date(2027, 12, 31)),
        ("2027-03-15", date(2027, 3, 15)),
        (" 2027-03-15\n", date(2027, 3, 15)),
    ],
)
def test_parse_expiry_text(text, expected):
    assert parse_expiry_text(text) == expected


@pytest.mark.parametrize(
    "text", ["2027-13", "2027-00", "2027-02-30", "2027-3", "03/2027", "2027", "", None, 202703]
)
def test_parse_expiry_text_refuses(text):
    with pytest.raises(DomainError) as info:
        parse_expiry_text(text)
    assert info.value.field == "expiry"


def test_parse_expiry_text_names_the_given_field():
    with pytest.raises(DomainError) as info:
        parse_expiry_text("soon", field="lots[2].expiry")
    assert info.value.field == "lots[2].expiry"


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [(2026, 2, date(2026, 2, 28)), (2028, 2, date(2028, 2, 29)), (2026, 11, date(2026, 11, 30))],
)
def test_month_end(year, month, expected):
    assert month_end(year, month) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CY261201-01", "CY261201-01"),
        ("  CY261201-01\r\n", "CY261201-01"),
        ("A", "A"),
        ("12345678901234567890", "12345678901234567890"),  # exactly 20
    ],
)
def test_validate_batch_lot_accepts(text, expected):
    assert validate_batch_lot(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "required"),
        ("   ", "required"),
        (None, "required"),
        ("123456789012345678901", "at most 20"),
        ("cy261201-01", "capital letters"),
        ("CY 261201", "capital letters"),
        ("CY261201_01", "capital letters"),
        ("RX1000123-1", "RX"),
    ],
)
def test_validate_batch_lot_refuses(text, fragment):
    with pytest.raises(DomainError) as info:
        validate_batch_lot(text)
    assert info.value.field == "lot_number"
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("prefix", "day", "sequence", "expected"),
    [
        ("CY", date(2026, 12, 1), 1, "CY261201-01"),
        ("CY", date(2026, 12, 1), 9, "CY261201-09"),
        ("CY", date(2026, 12, 1), 99, "CY261201-99"),
        ("CY", date(2026, 12, 1), 100, "CY261201-100"),
        ("CY", date(2027, 1, 9), 2, "CY270109-02"),
        ("B", date(2030, 6, 30), 12, "B300630-12"),
    ],
)
def test_batch_lot_number(prefix, day, sequence, expected):
    lot = batch_lot_number(prefix, day, sequence)

    assert lot == expected
    assert validate_batch_lot(lot) == lot


@pytest.mark.parametrize(
    ("prefix", "sequence", "field"),
    [
        ("CY", 0, "sequence"),
        ("CY", -1, "sequence"),
        ("CY", True, "sequence"),
        ("cy", 1, "prefix"),
        ("", 1, "prefix"),
        ("C-Y", 1, "prefix"),
        ("RX", 1, "prefix"),  # would read as a prescription barcode
        ("CYANOCO", 1, "prefix"),  # more than 6 letters
    ],
)
def test_batch_lot_number_refuses(prefix, sequence, field):
    with pytest.raises(DomainError) as info:
        batch_lot_number(prefix, date(2026, 12, 1), sequence)
    assert info.value.field == field


def test_batch_lot_number_refuses_a_result_over_20_characters():
    with pytest.raises(DomainError):
        batch_lot_number("CYANOC", date(2026, 12, 1), 10**7)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ([], 1),
        (["CY261201-01"], 2),
        (["CY261201-01", "CY261201-03", "CY261130-07"], 4),
        (["CY261130-07", "XY261201-05"], 1),  # other day, other prefix
        (["CY261201-99"], 100),
        (["CY261201-AB", "CY261201-"], 1),
    ],
)
def test_next_batch_sequence(existing, expected):
    assert next_batch_sequence(existing, "CY", date(2026, 12, 1)) == expected
