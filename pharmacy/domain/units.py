"""Exact quantities: dose volumes (SPEC 2.2), number formatting and JSON numbers.

Every quantity is a :class:`~decimal.Decimal`; binary floats appear only in what
:func:`to_json_number` returns for the JSON encoder.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from pharmacy.domain.errors import DomainError

ML_STEP = Decimal("0.01")  # syringe graduation (SPEC 2.2)
MIN_DOSE_ML = Decimal("0.05")  # smaller volumes cannot be measured (SPEC 2.2)


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
        f"{format_number(dose_mcg)} mcg at {format_number(concentration_mcg_per_ml)} mcg/mL"
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


def _plain(value: Decimal) -> str:
    """Return ``value`` in fixed notation without trailing fractional zeros."""
    if value == value.to_integral_value():
        return format(value.to_integral_value(), ",f")
    return format(value, ",f").rstrip("0")


def format_number(value: int | Decimal) -> str:
    """Return ``value`` with thousands separators and no trailing zeros: ``1,000``, ``2.5``."""
    if isinstance(value, int):
        return f"{value:,}"
    return _plain(value)


def format_ml(volume_ml: Decimal) -> str:
    """Return a volume for people: ``1 mL``, ``0.33 mL``, ``2.5 mL``."""
    return f"{_plain(volume_ml)} mL"


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
