"""Batch lot numbers and ingredient expiry dates.

Batch lot numbers (SPEC 2.5) are at most 20 characters from ``A-Z 0-9 -`` and look like
``CY261201-01``: a prefix, the compounding date as ``YYMMDD`` and a 1-based sequence for
that day. Uniqueness is the database's job; this module only checks and builds the text.

Expiry dates arrive as ``YYYY-MM-DD`` or ``YYYY-MM`` (SPEC 3, ingredient lot body). This
module holds the one implementation of the month-only rule, :func:`month_end`, which both
``Expiry`` (bud.py) and the GS1 ``(17)`` day-``00`` rule (scan.py) use.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date

from pharmacy.domain.errors import DomainError

MAX_BATCH_LOT_LENGTH = 20
"""SPEC 2.5: batch lot numbers are at most 20 characters (also GS1 AI (10)'s limit)."""

DEFAULT_BATCH_PREFIX = "CY"

_BATCH_LOT = re.compile(r"[A-Z0-9-]+")
_PREFIX = re.compile(r"[A-Z]{1,6}")
_EXPIRY_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_EXPIRY_MONTH = re.compile(r"(\d{4})-(\d{2})")

# "RX<rx>-<fill>" is the prescription-label barcode (SPEC 2.8). A batch lot starting with
# "RX" could be read as a prescription by the scanner parser, so that start is reserved.
_RESERVED_LOT_START = "RX"


def month_end(year: int, month: int) -> date:
    """Return the last day of ``month`` in ``year``.

    An expiry stated only as month and year means the last day of that month (USP General
    Notices, domain.md 1.7); GS1 (17) with day ``00`` means the same (domain.md 5.1).

    :raise ValueError: the month is not 1..12 or the year is out of ``date``'s range.
    """
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_expiry_text(text: object, field: str = "expiry") -> date:
    """Parse an expiry given as ``YYYY-MM-DD`` or ``YYYY-MM`` into the date it ends on.

    A month-only expiry (``2027-03``) means the last day of that month (2027-03-31).

    :param field: the input field to name in the error.
    :raise DomainError: the text is neither form or is not a real date.
    """
    if not isinstance(text, str):
        raise DomainError(field, "Enter the expiry as YYYY-MM-DD or YYYY-MM.")
    cleaned = text.strip()
    try:
        if match := _EXPIRY_DAY.fullmatch(cleaned):
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
        if match := _EXPIRY_MONTH.fullmatch(cleaned):
            year, month = (int(part) for part in match.groups())
            return month_end(year, month)
    except ValueError:
        raise DomainError(field, f"{cleaned!r} is not a real date.") from None
    raise DomainError(field, f"Enter the expiry as YYYY-MM-DD or YYYY-MM, not {cleaned!r}.")


def validate_batch_lot(text: str, field: str = "lot_number") -> str:
    """Check a batch lot number's format and return it without surrounding whitespace.

    The format is 1-20 characters from ``A-Z 0-9 -`` (SPEC 2.5); letters must already be
    capitals, so that the printed, stored and scanned forms are the same text. Lots may not
    start with ``RX``, which the scanner reads as a prescription barcode.

    :raise DomainError: the text breaks the format.
    """
    if not isinstance(text, str) or not text.strip():
        raise DomainError(field, "A batch lot number is required.")
    lot = text.strip()
    if len(lot) > MAX_BATCH_LOT_LENGTH:
        raise DomainError(
            field, f"A batch lot number has at most {MAX_BATCH_LOT_LENGTH} characters ({len(lot)})."
        )
    if not _BATCH_LOT.fullmatch(lot):
        raise DomainError(
            field, f"A batch lot number uses only capital letters, digits and '-', not {lot!r}."
        )
    if lot.startswith(_RESERVED_LOT_START):
        raise DomainError(
            field, "A batch lot number may not start with 'RX' (prescription barcodes do)."
        )
    return lot


def batch_lot_number(prefix: str, compounded_on: date, sequence: int) -> str:
    """Build the batch lot number for the ``sequence``-th batch compounded on a day.

    ``batch_lot_number("CY", date(2026, 12, 1), 1) == "CY261201-01"``; the sequence is
    1-based, two digits, and grows to more digits after 99 (``CY261201-100``).

    :param compounded_on: the local (pharmacy time zone) date of compounding.
    :raise DomainError: the prefix is not 1-6 capital letters (or starts with ``RX``),
        the sequence is below 1, or the result would exceed 20 characters.
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise DomainError("prefix", "The batch lot prefix is 1-6 capital letters (e.g. CY).")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise DomainError("sequence", "The batch sequence of the day starts at 1.")
    lot = f"{prefix}{compounded_on:%y%m%d}-{sequence:02d}"
    return validate_batch_lot(lot, field="prefix")


def next_batch_sequence(existing_lots: Iterable[str], prefix: str, compounded_on: date) -> int:
    """Return the sequence for the next batch of the day, given the lot numbers already used.

    Only lots of the form ``<prefix><YYMMDD>-<digits>`` for this prefix and day count; the
    result is one more than the highest such sequence, or 1 when there is none.
    """
    day_stem = f"{prefix}{compounded_on:%y%m%d}-"
    highest = 0
    for lot in existing_lots:
        suffix = lot[len(day_stem) :] if lot.startswith(day_stem) else ""
        if suffix.isascii() and suffix.isdigit():
            highest = max(highest, int(suffix))
    return highest + 1
