"""National Provider Identifier check digit."""

from __future__ import annotations

from pharmacy.domain.errors import DomainError

# CMS: the NPI check digit is the Luhn check digit computed over the 9-digit base
# prefixed with the card issuer prefix 80840 (which contributes a constant 24).
NPI_PREFIX = "80840"


def luhn_check_digit(digits: str) -> int:
    """Return the Luhn check digit for the digit string ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # the rightmost payload digit is doubled
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def validate_npi(npi: str, field: str = "npi") -> str:
    """Return ``npi`` stripped if it is a valid 10-digit NPI.

    :raise DomainError: not 10 digits, or the check digit does not match.
    """
    npi = (npi or "").strip()
    if len(npi) != 10 or not npi.isdigit():
        raise DomainError(field, "An NPI is exactly 10 digits.")
    expected = luhn_check_digit(NPI_PREFIX + npi[:9])
    if int(npi[9]) != expected:
        raise DomainError(field, f"This NPI's check digit is wrong (expected {expected} last).")
    return npi
