"""NPI check digit (Luhn over the 80840 prefix)."""

import pytest

from pharmacy.domain.errors import DomainError
from pharmacy.domain.npi import luhn_check_digit, validate_npi


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi):
    assert validate_npi(f" {npi} ") == npi


@pytest.mark.parametrize(
    "npi, message",
    [
        ("1234567890", "check digit"),
        ("123456789", "10 digits"),
        ("12345678AB", "10 digits"),
        ("", "10 digits"),
    ],
)
def test_invalid_npis(npi, message):
    with pytest.raises(DomainError) as exc:
        validate_npi(npi)
    assert exc.value.field == "npi"
    assert message in exc.value.message


def test_luhn_digit_matches_cms_example():
    # CMS example: base 123456789 with prefix 80840 gives check digit 3.
    assert luhn_check_digit("80840123456789") == 3
