"""Exact quantities: dose volumes (SPEC 2.2), number formatting and JSON numbers.

Every quantity is a :class:`~decimal.Decimal`; binary floats appear only in what
:func:`to_json_number` returns for the JSON encoder.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from pharmacy.domain.errors import DomainError

ML_STEP = Decimal("0.01")  # syringe graduation (SPEC 2.2)
MIN_DOSE_ML = Decimal("0.05")  # smaller volumes cannot be measured (SPEC 2.2)


# --- Reading numbers -------------------------------------------------------------------
# Every parser (API schemas, plan, order, formulation, lot and FHIR readers) reads numbers
# through :func:`read_decimal`, so they all agree on what a number is (issue 13: "1_000" was
# refused by one and accepted by three). Plain ASCII decimal notation only: ``Decimal()``
# alone also takes "1_000", "Infinity", "NaN" and other scripts' digits ("١٢").
MAX_NUMBER_TEXT = 40  # characters of a number (JSON number or numeric string) we read at all
MAX_EXPONENT = 30  # |adjusted exponent| of a number we convert; beyond it is out of range
NUMBER_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMERIC = re.compile(NUMBER_PATTERN)


class NumberError(ValueError):
    """A value is not a number we read; ``kind`` says why, ``message`` says it to a user."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def read_decimal(value: object) -> Decimal:
    """Return ``value`` (a JSON or form number, or a numeric string) as a bounded Decimal.

    The size is checked before any conversion, so ``"1e999999"`` or a 10,000-digit number
    costs microseconds and never reaches ``int()``. Floats go through ``repr`` (0.1 stays
    0.1); booleans are refused even though Python counts them as ints.

    :raise NumberError: not a number, not finite, too long or out of range.
    """
    if isinstance(value, bool) or value is None:
        raise NumberError("number_type", "Enter a number.")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise NumberError("number_too_long", "The number is too long.")
        if not _NUMERIC.fullmatch(text):
            raise NumberError("number_type", "Enter a number.")
        number = Decimal(text)
    elif isinstance(value, int):
        if value.bit_length() > 128:
            raise NumberError("number_range", "The number is out of range.")
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        try:
            number = Decimal(repr(value))
        except InvalidOperation:
            raise NumberError("number_type", "Enter a number.") from None
    else:
        raise NumberError("number_type", "Enter a number.")
    if not number.is_finite():
        raise NumberError("number_finite", "Enter a finite number.")
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise NumberError("number_range", "The number is out of range.")
    return number


class DoseVolumeError(DomainError):
    """A dose cannot be drawn up as ordered (SPEC 2.2)."""


class DoseTooSmall(DoseVolumeError):
    """The dose volume is below what a syringe can measure (0.05 mL)."""


class DoseExceedsVial(DoseVolumeError):
    """The dose volume is larger than the vial: doses are never drawn from two vials."""


def round_ml(value: Decimal | Fraction | int) -> Decimal:
    """Return ``value`` rounded ROUND_HALF_UP to 0.01 mL, computed exactly.

    ``dose / concentration`` is often a repeating decimal (1000/3000), and dividing in a
    decimal context first rounds to 28 digits, which could move a value onto or off a tie.
    Truncating the exact fraction to 0.001 keeps every digit that decides the half-up
    rounding to 0.01, so the result is exact.
    """
    thousandths = int(Fraction(value) * 1000)  # int() truncates toward zero
    return Decimal(thousandths).scaleb(-3).quantize(ML_STEP, rounding=ROUND_HALF_UP)


def dose_volume_ml(
    dose_mcg: int,
    concentration_mcg_per_ml: Decimal,
    vial_volume_ml: Decimal | None = None,
    *,
    phase: int | None = None,
    field: str | None = None,
) -> Decimal:
    """Return the volume to draw up for ``dose_mcg``, rounded half-up to 0.01 mL (SPEC 2.2).

    :param phase: 1-based phase number, named in error messages.
    :param field: the input field to blame; defaults to ``phases[i].dose_mcg`` for ``phase``.
    :raise DoseTooSmall: the rounded volume is below 0.05 mL.
    :raise DoseExceedsVial: the rounded volume is larger than ``vial_volume_ml``.
    """
    if concentration_mcg_per_ml <= 0:
        raise DomainError("concentration_mcg_per_ml", "The concentration must be more than 0.")
    volume = round_ml(Fraction(dose_mcg) / Fraction(concentration_mcg_per_ml))
    if field is None:
        field = f"phases[{phase - 1}].dose_mcg" if phase is not None else "dose_mcg"
    where = f"Phase {phase}: " if phase is not None else ""
    what = (
        f"{format_qty(dose_mcg)} mcg at {format_qty(concentration_mcg_per_ml)} mcg/mL"
        f" is {format_ml(volume)}"
    )
    if volume < MIN_DOSE_ML:
        raise DoseTooSmall(
            field,
            f"{where}{what}, below the {format_ml(MIN_DOSE_ML)} a syringe can measure;"
            " use a lower concentration or a larger dose.",
        )
    if vial_volume_ml is not None and volume > vial_volume_ml:
        raise DoseExceedsVial(
            field,
            f"{where}{what}, more than the {format_ml(vial_volume_ml)} vial holds;"
            " a dose is never drawn from two vials.",
        )
    return volume


def plain_decimal(value: Decimal | int) -> str:
    """Return ``value`` in fixed notation, no separators, no trailing zeros: ``1.5000`` -> ``1.5``."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def format_qty(value: Decimal | int | None, places: int | None = None) -> str:
    """Return a quantity for people: ``1,000``, ``2.5`` (no trailing zeros); ``""`` for None.

    :param places: show exactly this many decimals instead (``format_qty(2.5, 2)`` -> ``2.50``).
    """
    if value is None:
        return ""
    number = Decimal(value)
    if places is not None:
        return f"{number.quantize(Decimal(1).scaleb(-places)):,.{places}f}"
    return f"{number.normalize():,f}"


def format_ml(volume_ml: Decimal) -> str:
    """Return a volume for people: ``1 mL``, ``0.33 mL``, ``2.5 mL``."""
    return f"{format_qty(volume_ml)} mL"


def json_decimal(value: Decimal | int) -> int | float:
    """Return a stored quantity for JSON without rounding: an int when whole, else a float.

    ``float("33.105")`` prints as 33.105, so clients see the decimal that was stored.
    """
    if isinstance(value, int):
        return value
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(format(value.normalize(), "f"))


def to_json_number(value: Decimal | int) -> int | float:
    """Return ``value`` for a JSON encoder: an int when whole, else the float of its 2-dp value.

    Plan quantities are already whole hundredths of a mL; anything finer is rounded
    half-up to 0.01 first, so the float always prints as the exact 2-dp decimal.
    """
    if isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return float(str(round_ml(value)))
