"""Stored Decimals leave through JSON unrounded; plan quantities round to 0.01 mL."""

from decimal import Decimal

import pytest

from pharmacy.domain.units import json_decimal, to_json_number


@pytest.mark.parametrize(
    "value, expected",
    [
        (Decimal("33.105"), 33.105),
        (Decimal("10.00"), 10),
        (Decimal("0.9000"), 0.9),
        (7, 7),
        (Decimal("1000.00"), 1000),
    ],
)
def test_json_decimal_keeps_the_stored_value(value, expected):
    result = json_decimal(value)
    assert result == expected and type(result) is type(expected)


def test_plan_numbers_round_but_stored_numbers_do_not():
    assert to_json_number(Decimal("33.105")) == 33.11
    assert json_decimal(Decimal("33.105")) == 33.105
