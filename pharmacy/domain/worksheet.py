"""Batch worksheets: what to weigh or measure for N vials, and ingredient-lot release specs.

Batch volume = vials x (vial volume + overfill) (SPEC 2.5). Each ingredient's per-mL amount
scales to that volume; the active is potency-adjusted with its lot's certificate of
analysis (COA), because the cyanocobalamin assay is on the dried basis and the powder holds
up to 12 % water (domain.md 4.1):

    weigh = required / (assay_fraction x (1 - LOD_fraction))

Amounts are shown to 3 decimals in their unit (mg, g or mL), rounded half up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.formulation import QS, FormulationSpec, Ingredient, parse_decimal

# USP monograph Cyanocobalamin: NLT 96.0 % and NMT 102.0 % calculated on the dried basis
# (USP-NF, DOI 10.31003/USPNF_M20750_02_01; domain.md section 4). Loss on drying NMT 12.0 %
# (Ph. Eur./BP-style method per pharmadekho.com, domain.md section 4; the USP LOD text itself
# is UNCONFIRMED there, and SPEC 2.5 adopts 12.0 %).
ASSAY_MIN_PERCENT = Decimal("96.0")
ASSAY_MAX_PERCENT = Decimal("102.0")
LOD_MAX_PERCENT = Decimal("12.0")

AMOUNT_QUANTUM = Decimal("0.001")  # SPEC 2.5: "show 3 decimals"
_HUNDRED = Decimal(100)
_MG_PER_MCG = Decimal("0.001")

# Per-mL unit -> (unit of the worksheet amount, factor from per-mL amount x mL to it).
_SCALING: dict[str, tuple[str, Decimal]] = {
    "mcg/mL": ("mg", _MG_PER_MCG),  # mcg/mL x mL = mcg; / 1000 = mg
    "mg/mL": ("mg", Decimal(1)),  # mg/mL x mL = mg
    "% w/v": ("g", Decimal("0.01")),  # g per 100 mL
    "% v/v": ("mL", Decimal("0.01")),  # mL per 100 mL
}

# Stock units of ingredient lots (SPEC 3, ingredient lot body), as multiples of 1 mg.
_MASS_IN_MG = {"mcg": _MG_PER_MCG, "mg": Decimal(1), "g": Decimal(1000)}
_VOLUME_UNITS = ("mL",)


@dataclass(frozen=True)
class Coa:
    """The active lot's certificate of analysis: assay (dried basis) and loss on drying, %."""

    assay_percent: Decimal
    lod_percent: Decimal


@dataclass(frozen=True)
class WorksheetLine:
    """One worksheet row: the amount the batch needs and the amount to weigh or measure.

    ``required`` is the pure amount; ``weigh`` is what to take from the lot (potency-adjusted
    for the active, else equal to ``required``). The q.s. vehicle has ``qs`` set: add it up
    to ``required`` mL, the batch volume.
    """

    component: str
    required: Decimal
    weigh: Decimal
    unit: str  # "mg" | "g" | "mL"
    active: bool
    qs: bool = False

    def describe(self) -> str:
        """Return the instruction as printed, e.g. ``33.105 mg`` or ``q.s. to 105.000 mL``."""
        return f"q.s. to {self.weigh} {self.unit}" if self.qs else f"{self.weigh} {self.unit}"


def batch_volume_ml(vials: int, vial_volume_ml: Decimal, overfill_ml: Decimal) -> Decimal:
    """Return the batch volume in mL: vials x (vial volume + overfill).

    :raise DomainError: ``vials`` below 1, a vial volume not above 0, or a negative overfill.
    """
    if isinstance(vials, bool) or not isinstance(vials, int) or vials < 1:
        raise DomainError("vials", "A batch has at least 1 vial.")
    volume = parse_decimal(vial_volume_ml, "vial_volume_ml")
    overfill = parse_decimal(overfill_ml, "overfill_ml")
    if volume <= 0:
        raise DomainError("vial_volume_ml", "The vial volume must be more than 0 mL.")
    if overfill < 0:
        raise DomainError("overfill_ml", "The overfill cannot be negative.")
    return vials * (volume + overfill)


def potency_adjusted(required: Decimal, coa: Coa) -> Decimal:
    """Return how much of the lot to weigh to get ``required`` of pure, dry active.

    ``required / (assay/100 x (1 - LOD/100))``, rounded half up to 0.001: 30.0 mg with
    assay 98.5 % and LOD 8.0 % gives 33.105 mg (SPEC 2.5).

    :raise DomainError: an assay not above 0 (field ``assay_percent``) or an LOD outside
        0 to below 100 (field ``lod_percent``).
    """
    assay = parse_decimal(coa.assay_percent, "assay_percent")
    lod = parse_decimal(coa.lod_percent, "lod_percent")
    if assay <= 0:
        raise DomainError("assay_percent", "The assay must be more than 0 %.")
    if not 0 <= lod < _HUNDRED:
        raise DomainError("lod_percent", "Loss on drying must be from 0 to below 100 %.")
    # Divide exactly (Fraction): a 28-digit Decimal quotient rounded again to 0.001 could
    # decide a half-up tie wrongly.
    factor = (Fraction(assay) / 100) * (1 - Fraction(lod) / 100)
    return _round(Fraction(required) / factor)


def worksheet(
    spec_or_ingredients: FormulationSpec | Sequence[Ingredient],
    vials: int,
    vial_volume_ml: Decimal | None = None,
    overfill_ml: Decimal | None = None,
    active_coa: Coa | None = None,
) -> tuple[WorksheetLine, ...]:
    """Return the worksheet lines for ``vials`` vials, one per ingredient, in order.

    Active mcg/mL and excipient mg/mL give mg; % w/v gives g; % v/v gives mL; the q.s.
    vehicle gives the batch volume in mL ("q.s. to").

    :param spec_or_ingredients: a formulation, or its ingredients.
    :param vial_volume_ml: defaults to the formulation's; required with bare ingredients.
    :param overfill_ml: defaults to the formulation's; required with bare ingredients.
    :param active_coa: the active lot's COA; required when there is an active ingredient.
    :raise DomainError: a missing or impossible input, naming its field.
    """
    if isinstance(spec_or_ingredients, FormulationSpec):
        spec = spec_or_ingredients
        ingredients: Sequence[Ingredient] = spec.ingredients
        vial_volume_ml = spec.vial_volume_ml if vial_volume_ml is None else vial_volume_ml
        overfill_ml = spec.overfill_ml if overfill_ml is None else overfill_ml
    else:
        ingredients = spec_or_ingredients
    if vial_volume_ml is None:
        raise DomainError("vial_volume_ml", "The vial volume is required.")
    if overfill_ml is None:
        raise DomainError("overfill_ml", "The overfill is required.")
    volume = batch_volume_ml(vials, vial_volume_ml, overfill_ml)
    return tuple(_line(ingredient, volume, active_coa) for ingredient in ingredients)


def convert_amount(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert a worksheet amount into the stock unit of the lot it is drawn from.

    Masses convert among mcg, mg and g; a volume (mL) can be drawn only from a lot stocked
    in mL.

    :raise DomainError: field ``unit``, naming the lot's unit, when the two do not convert.
    """
    amount = parse_decimal(value, "quantity")
    if from_unit == to_unit and (from_unit in _MASS_IN_MG or from_unit in _VOLUME_UNITS):
        return amount
    if from_unit in _MASS_IN_MG and to_unit in _MASS_IN_MG:
        return amount * _MASS_IN_MG[from_unit] / _MASS_IN_MG[to_unit]
    raise DomainError(
        "unit",
        f"{amount} {from_unit} cannot be drawn from a lot stocked in {to_unit!r}: "
        f"{_unit_kind(from_unit)} needs a lot in {_unit_kind_units(from_unit)}.",
    )


def check_release(
    is_active: bool, assay_percent: Any, lod_percent: Any, coa_reference: Any
) -> None:
    """Check an ingredient lot against its release specification.

    The active (cyanocobalamin) needs an assay of 96.0-102.0 % on the dried basis, a loss
    on drying of at most 12.0 % and a COA reference; other ingredients need only a COA
    reference (503A bulk substances need a valid COA, 21 U.S.C. 353a(b)(1)(A), domain.md 2.3).

    :raise ValidationFailed: naming each failed spec (``assay_percent``, ``lod_percent``,
        ``coa_reference``).
    """
    errors: dict[str, str] = {}
    if is_active:
        assay = _read_percent(assay_percent, "assay_percent", "assay", errors)
        if assay is not None and not ASSAY_MIN_PERCENT <= assay <= ASSAY_MAX_PERCENT:
            errors["assay_percent"] = (
                f"Assay {assay} % is out of specification: it must be "
                f"{ASSAY_MIN_PERCENT}-{ASSAY_MAX_PERCENT} % on the dried basis (USP monograph)."
            )
        lod = _read_percent(lod_percent, "lod_percent", "loss on drying", errors)
        if lod is not None and lod > LOD_MAX_PERCENT:
            errors["lod_percent"] = (
                f"Loss on drying {lod} % is out of specification: it must be at most "
                f"{LOD_MAX_PERCENT} %."
            )
    if not isinstance(coa_reference, str) or not coa_reference.strip():
        errors["coa_reference"] = "A certificate of analysis reference is required."
    if errors:
        raise ValidationFailed(errors)


def _line(ingredient: Ingredient, batch_ml: Decimal, coa: Coa | None) -> WorksheetLine:
    """Scale one ingredient to the batch volume."""
    if ingredient.unit == QS:
        volume = _round(batch_ml)
        return WorksheetLine(ingredient.component, volume, volume, "mL", ingredient.active, True)
    if ingredient.unit not in _SCALING:
        raise DomainError("unit", f"Unknown ingredient unit {ingredient.unit!r}.")
    if ingredient.amount is None:
        raise DomainError("amount", f"{ingredient.component} has no amount per mL.")
    unit, factor = _SCALING[ingredient.unit]
    required = ingredient.amount * batch_ml * factor
    if not ingredient.active:
        return WorksheetLine(ingredient.component, _round(required), _round(required), unit, False)
    if coa is None:
        raise DomainError(
            "ingredient_lots", "The active lot's certificate of analysis (assay, LOD) is needed."
        )
    return WorksheetLine(
        ingredient.component, _round(required), potency_adjusted(required, coa), unit, True
    )


def _read_percent(value: Any, field: str, label: str, errors: dict[str, str]) -> Decimal | None:
    """Read a COA percentage (not negative) or record why it cannot be read."""
    if value is None or value == "":
        errors[field] = f"Enter the {label} from the certificate of analysis."
        return None
    try:
        number = parse_decimal(value, field)
    except DomainError as exc:
        errors[field] = exc.message
        return None
    if number < 0:
        # An assay may exceed 100 % (the spec allows up to 102.0 %), so only refuse negatives
        # here; the specification checks report values out of range.
        errors[field] = f"The {label} cannot be negative."
        return None
    return number


def _round(amount: Decimal | Fraction) -> Decimal:
    """Round a non-negative amount half up to the worksheet's 3 decimals, exactly."""
    if isinstance(amount, Decimal):
        return amount.quantize(AMOUNT_QUANTUM, rounding=ROUND_HALF_UP)
    thousandths = int(amount * 1000 + Fraction(1, 2))  # floor(x + 1/2): half up for x >= 0
    return Decimal(thousandths).scaleb(-3).quantize(AMOUNT_QUANTUM)


def _unit_kind(unit: str) -> str:
    """Name what a unit measures, for error messages."""
    if unit in _MASS_IN_MG:
        return "a mass"
    if unit in _VOLUME_UNITS:
        return "a volume"
    return f"unit {unit!r}"


def _unit_kind_units(unit: str) -> str:
    """List the lot units an amount in ``unit`` can be drawn from."""
    if unit in _MASS_IN_MG:
        return "mcg, mg or g"
    if unit in _VOLUME_UNITS:
        return "mL"
    return "a known unit (mg, g or mL)"
