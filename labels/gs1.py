"""The GS1 rules the labels and the scans share (GS1 General Specifications).

Nothing else is imported here, so the label encoder and the domain's scan reader check GTINs
and lot characters the same way.
"""

from __future__ import annotations

import re

GS = "\x1d"
"""ASCII group separator: how a scanner transmits an FNC1 that separates GS1 fields."""

# GS1 character set 82 for lots and serials (gs1-syntax-dictionary src/lint_cset82.c,
# domain.md 5.1): no space, #, $, @, [, \, ], ^, `, {, |, }, ~.
CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)

# The application identifiers this system prints and reads (GS1 General Specifications 3.2;
# the syntax dictionary's "*" marks the predefined-length ones, which need no separator).
FIXED_LENGTH = {"01": 14, "11": 6, "17": 6}  # GTIN, production date, expiry (YYMMDD)
VARIABLE_MAX_LENGTH = {"10": 20, "21": 20}  # batch/lot, serial: up to 20 CSET 82 characters
NEEDS_GTIN = frozenset({"10", "11", "17", "21"})  # valid only with a GTIN (01)

_DIGITS = re.compile(r"[0-9]+")


def gtin_check_digit(body: str) -> int:
    """Return the GS1 mod-10 check digit of a GTIN without its last digit.

    Weights 3, 1, 3, ... apply from the rightmost digit of ``body`` (13 digits for a
    GTIN-14); the check digit brings the weighted sum up to a multiple of 10.

    :raise ValueError: ``body`` is not all digits.
    """
    if not isinstance(body, str) or not _DIGITS.fullmatch(body):
        raise ValueError(f"A GTIN is made of digits only, not {body!r}.")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return -total % 10


def is_valid_gtin(gtin14: object) -> bool:
    """Tell whether ``gtin14`` is 14 digits whose last digit is the right check digit."""
    if not isinstance(gtin14, str) or len(gtin14) != 14 or not _DIGITS.fullmatch(gtin14):
        return False
    return gtin_check_digit(gtin14[:13]) == int(gtin14[13])
