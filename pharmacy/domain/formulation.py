"""Master formulation records: the formulation body of SPEC 3, checked against SPEC 2.4-2.5.

:func:`parse_formulation` turns the JSON/form body into a :class:`FormulationSpec` or raises
``ValidationFailed`` with every field error at once, keyed by JSON path
(``ingredients[1].unit``), so a form or the API can show them all.

Preservatives: the formulation body has no preservative flag, and adding one would change the
API contract, so a multiple-dose formulation's preservative is recognised by the ingredient's
name (:data:`KNOWN_PRESERVATIVES`, e.g. "Benzyl alcohol"), which must be an inactive
ingredient with a stated amount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from itertools import pairwise
from typing import Any, TypeVar

from labels.gs1 import is_valid_gtin
from pharmacy.domain.bud import (
    CATEGORIES,
    STERILIZATION_METHODS,
    STORAGES,
    Preparation,
    bud_rule,
)
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.units import NumberError, read_decimal

DRUGS = ("cyanocobalamin",)
CONTAINERS = ("single-dose", "multiple-dose")
UNITS = ("mcg/mL", "mg/mL", "% w/v", "% v/v", "q.s.")
ACTIVE_UNIT = "mcg/mL"
QS = "q.s."
PERCENT_UNITS = ("% w/v", "% v/v")

MAX_CODE_LENGTH = 30
MAX_NAME_LENGTH = 200
MAX_COMPONENT_LENGTH = 100

# USP <1> Injections: multiple-dose containers hold at most 30 mL (domain.md 1.6).
MAX_MULTIPLE_DOSE_ML = Decimal(30)
# Procedure steps and equipment print on the batch worksheet (SPEC 6.5), one line each.
MAX_LIST_ITEMS = 60
MAX_LIST_ITEM_LENGTH = 500
# In-use time of a punctured multiple-dose vial: 28 days unless the manufacturer says
# otherwise (USP <797> 2008 text; Cal. Code Regs. tit. 16 s1751.9; domain.md 1.6); SPEC 2.3
# allows 1..28 and defaults to 28.
MIN_IN_USE_DAYS = 1
MAX_IN_USE_DAYS = 28
DEFAULT_IN_USE_DAYS = 28

# USP <51>: "One or more antimicrobial preservative(s) are expected in all sterile multidose
# units" (domain.md 1.6). Benzyl alcohol 1.5 % is what the FDA cyanocobalamin label uses
# (domain.md 3.6); the other names are common parenteral preservatives (general
# pharmaceutics knowledge, not from domain.md). Matched case-insensitively within the name.
KNOWN_PRESERVATIVES = (
    "benzyl alcohol",
    "chlorobutanol",
    "phenol",
    "metacresol",
    "m-cresol",
    "methylparaben",
    "propylparaben",
    "benzethonium chloride",
)

# USP <1151>/<1> recommended overfill for mobile liquids, labeled volume -> excess volume
# (domain.md section 4, USP 29 text): 1.0 mL +0.10, 10.0 mL +0.50, 30.0 mL +0.80.
OVERFILL_GUIDE_ML: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("1.0"), Decimal("0.10")),
    (Decimal("10.0"), Decimal("0.50")),
    (Decimal("30.0"), Decimal("0.80")),
)
_OVERFILL_QUANTUM = Decimal("0.01")


_CODE = re.compile(r"[A-Z0-9-]+")
_GTIN = re.compile(r"\d{14}")
_MISSING = object()


@dataclass(frozen=True)
class Ingredient:
    """One ingredient per mL of the preparation (``amount`` is None for the q.s. vehicle)."""

    component: str
    amount: Decimal | None
    unit: str  # "mcg/mL" | "mg/mL" | "% w/v" | "% v/v" | "q.s."
    active: bool


@dataclass(frozen=True)
class FormulationSpec:
    """A checked master formulation record (SPEC 3, formulation body)."""

    code: str
    name: str
    drug: str
    concentration_mcg_per_ml: Decimal
    vial_volume_ml: Decimal
    container: str  # "single-dose" | "multiple-dose"
    overfill_ml: Decimal
    category: int
    sterilization: str
    sterility_tested: bool
    nonsterile_components: bool
    storage: str
    protect_from_light: bool
    in_use_days: int | None  # None for single-dose containers
    gtin: str | None
    ingredients: tuple[Ingredient, ...]
    procedure: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()

    @property
    def active(self) -> Ingredient:
        """Return the active ingredient (a checked spec has exactly one)."""
        return next(ingredient for ingredient in self.ingredients if ingredient.active)

    @property
    def preparation(self) -> Preparation:
        """Return the attributes the USP <797> BUD table needs."""
        return Preparation(
            category=self.category,
            sterilization=self.sterilization,
            sterility_tested=self.sterility_tested,
            nonsterile_components=self.nonsterile_components,
            storage=self.storage,
        )

    @property
    def is_multiple_dose(self) -> bool:
        """Tell whether the vial may be punctured more than once."""
        return self.container == "multiple-dose"


def is_preservative(component: str) -> bool:
    """Tell whether an ingredient name names a known antimicrobial preservative."""
    name = component.casefold()
    return any(preservative in name for preservative in KNOWN_PRESERVATIVES)


def suggested_overfill_ml(vial_volume_ml: Decimal) -> Decimal:
    """Suggest the overfill per vial from the USP <1151> guide (domain.md section 4).

    Listed sizes (1, 10, 30 mL) get the listed excess. Between them the excess is linearly
    interpolated; below 1 mL it is the 1 mL value and above 30 mL the 30 mL value, since
    domain.md cites no other rows (for larger vials the pharmacist should set it). The
    result is rounded up to 0.01 mL so it is never below the guide's line.

    :raise DomainError: field ``vial_volume_ml``, the volume is not positive.
    """
    volume = parse_decimal(vial_volume_ml, "vial_volume_ml")
    if volume <= 0:
        raise DomainError("vial_volume_ml", "The vial volume must be more than 0 mL.")
    (low_ml, low_excess), *_ = OVERFILL_GUIDE_ML
    if volume <= low_ml:
        return low_excess
    for (v0, e0), (v1, e1) in pairwise(OVERFILL_GUIDE_ML):
        if volume <= v1:
            excess = e0 + (e1 - e0) * (volume - v0) / (v1 - v0)
            return excess.quantize(_OVERFILL_QUANTUM, rounding=ROUND_CEILING)
    return OVERFILL_GUIDE_ML[-1][1]


def parse_decimal(value: Any, field: str) -> Decimal:
    """Read a finite, bounded decimal number from JSON or form input (:func:`read_decimal`).

    :raise DomainError: the value is not a number we read, with the reason for ``field``.
    """
    try:
        return read_decimal(value)
    except NumberError as exc:
        raise DomainError(field, exc.message) from None


def parse_formulation(data: Mapping[str, Any]) -> FormulationSpec:
    """Check a formulation body and return it as a :class:`FormulationSpec`.

    Defaults: ``overfill_ml`` = :func:`suggested_overfill_ml`; ``in_use_days`` = 28 for
    multiple-dose (must be absent or null for single-dose); ``protect_from_light`` = true
    (the USP monograph requires light-resistant containers, domain.md 3.7).

    :raise ValidationFailed: every field error found, keyed by JSON path.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed({"": "The formulation must be a JSON object."})
    reader = _Reader(data)
    errors = reader.errors

    code = reader.text("code", MAX_CODE_LENGTH)
    if code is not None and not _CODE.fullmatch(code):
        errors["code"] = "Use only capital letters, digits and '-' in the code."
    name = reader.text("name", MAX_NAME_LENGTH)
    drug = reader.choice("drug", DRUGS, fold_case=True)
    concentration = reader.decimal("concentration_mcg_per_ml", positive=True)
    vial_volume = reader.decimal("vial_volume_ml", positive=True)
    container = reader.choice("container", CONTAINERS)
    overfill = reader.decimal("overfill_ml", default=None)
    category = reader.integer("category", choices=CATEGORIES)
    sterilization = reader.choice("sterilization", STERILIZATION_METHODS)
    sterility_tested = reader.boolean("sterility_tested")
    nonsterile_components = reader.boolean("nonsterile_components")
    storage = reader.choice("storage", STORAGES)
    protect_from_light = reader.boolean("protect_from_light", default=True)
    in_use_days = reader.integer("in_use_days", default=None)
    gtin = _read_gtin(data.get("gtin"), errors)
    ingredients = _read_ingredients(data.get("ingredients", _MISSING), errors)
    procedure = _read_lines(data.get("procedure"), "procedure", "step", errors)
    equipment = _read_lines(data.get("equipment"), "equipment", "item", errors)

    if overfill is None and vial_volume is not None:
        overfill = suggested_overfill_ml(vial_volume)
    elif overfill is not None:
        if overfill < 0:
            errors["overfill_ml"] = "The overfill cannot be negative."
        elif vial_volume is not None and overfill >= vial_volume:
            errors["overfill_ml"] = "The overfill must be less than the vial volume."

    if container == "multiple-dose":
        if category is not None and category not in (2, 3):
            errors.setdefault(
                "category", "A multiple-dose formulation must be Category 2 or 3 (USP <797>)."
            )
        if vial_volume is not None and vial_volume > MAX_MULTIPLE_DOSE_ML:
            errors.setdefault(
                "vial_volume_ml", "A multiple-dose container holds at most 30 mL (USP <1>)."
            )
        if in_use_days is None and "in_use_days" not in errors:
            in_use_days = DEFAULT_IN_USE_DAYS
        if in_use_days is not None and not MIN_IN_USE_DAYS <= in_use_days <= MAX_IN_USE_DAYS:
            errors["in_use_days"] = "In-use days must be 1 to 28 for a multiple-dose vial."
        if ingredients is not None and not any(
            not item["active"] and item["amount"] is not None and is_preservative(item["component"])
            for item in ingredients
            if item["component"] is not None and item["active"] is not None
        ):
            _add_error(
                errors,
                "ingredients",
                "A multiple-dose formulation must contain an antimicrobial preservative with an "
                "amount (e.g. benzyl alcohol 1.5 % v/v; USP <51>).",
            )
    elif container == "single-dose" and in_use_days is not None:
        errors["in_use_days"] = "In-use days apply only to multiple-dose vials; leave it empty."

    if (
        category is not None
        and sterilization is not None
        and sterility_tested is not None
        and nonsterile_components is not None
        and storage is not None
    ):
        try:
            bud_rule(
                Preparation(
                    category, sterilization, sterility_tested, nonsterile_components, storage
                )
            )
        except DomainError as exc:
            errors.setdefault(exc.field or "category", exc.message)

    if ingredients is not None:
        _check_ingredient_set(ingredients, concentration, drug, errors)

    if errors:
        raise ValidationFailed(errors)
    # No errors means every field above was read, so none of these is None.
    return FormulationSpec(
        code=_known(code),
        name=_known(name),
        drug=_known(drug),
        concentration_mcg_per_ml=_known(concentration),
        vial_volume_ml=_known(vial_volume),
        container=_known(container),
        overfill_ml=_known(overfill),
        category=_known(category),
        sterilization=_known(sterilization),
        sterility_tested=_known(sterility_tested),
        nonsterile_components=_known(nonsterile_components),
        storage=_known(storage),
        protect_from_light=_known(protect_from_light),
        in_use_days=in_use_days,
        gtin=gtin,
        ingredients=tuple(Ingredient(**item) for item in _known(ingredients)),
        procedure=procedure,
        equipment=equipment,
    )


class _Reader:
    """Read typed fields from one JSON object, collecting errors under ``prefix``."""

    def __init__(
        self, data: Mapping[str, Any], errors: dict[str, str] | None = None, prefix: str = ""
    ) -> None:
        self.data = data
        self.errors = {} if errors is None else errors
        self.prefix = prefix

    def path(self, field: str) -> str:
        """Return the JSON path of ``field``."""
        return f"{self.prefix}{field}"

    def raw(self, field: str, default: Any) -> Any:
        """Return the field's value, ``default`` when absent or null, or _MISSING."""
        value = self.data.get(field)
        if value is None:
            if default is _MISSING:
                self.errors[self.path(field)] = "This field is required."
            return default
        return value

    def text(self, field: str, max_length: int) -> str | None:
        """Read a required, non-blank string of at most ``max_length`` characters."""
        value = self.raw(field, _MISSING)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not value.strip():
            self.errors[self.path(field)] = "Enter some text."
            return None
        value = value.strip()
        if len(value) > max_length:
            self.errors[self.path(field)] = f"At most {max_length} characters ({len(value)})."
            return None
        return value

    def choice(self, field: str, choices: tuple[str, ...], fold_case: bool = False) -> str | None:
        """Read a required string that must be one of ``choices``."""
        value = self.raw(field, _MISSING)
        if value is _MISSING:
            return None
        if isinstance(value, str):
            value = value.strip().casefold() if fold_case else value.strip()
            if value in choices:
                return value
        self.errors[self.path(field)] = f"Choose one of: {', '.join(choices)}."
        return None

    def boolean(self, field: str, default: Any = _MISSING) -> bool | None:
        """Read a true/false field (JSON booleans only)."""
        value = self.raw(field, default)
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.errors[self.path(field)] = "Must be true or false."
            return None
        return value

    def decimal(
        self, field: str, positive: bool = False, default: Any = _MISSING
    ) -> Decimal | None:
        """Read a number as ``Decimal`` (optionally required to be above 0)."""
        value = self.raw(field, default)
        if value is _MISSING or value is None:
            return None
        try:
            number = parse_decimal(value, self.path(field))
        except DomainError as exc:
            self.errors[exc.field] = exc.message
            return None
        if positive and number <= 0:
            self.errors[self.path(field)] = "Must be more than 0."
            return None
        return number

    def integer(
        self, field: str, choices: tuple[int, ...] | None = None, default: Any = _MISSING
    ) -> int | None:
        """Read a whole number, optionally one of ``choices``."""
        number = self.decimal(field, default=default)
        if number is None:
            return None
        if number != number.to_integral_value():
            self.errors[self.path(field)] = "Enter a whole number."
            return None
        if choices is not None and int(number) not in choices:
            self.errors[self.path(field)] = f"Choose one of: {', '.join(map(str, choices))}."
            return None
        return int(number)


def _add_error(errors: dict[str, str], field: str, message: str) -> None:
    """Record an error, appending to one already recorded for the same field."""
    errors[field] = f"{errors[field]} {message}" if field in errors else message


def _read_lines(value: Any, key: str, what: str, errors: dict[str, str]) -> tuple[str, ...]:
    """Read an optional list of text lines (procedure steps, equipment): trimmed, none empty."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        errors[key] = f"Give the {key} as a list of text lines."
        return ()
    if len(value) > MAX_LIST_ITEMS:
        errors[key] = f"At most {MAX_LIST_ITEMS} lines."
        return ()
    lines = []
    for index, item in enumerate(value):
        path = f"{key}[{index}]"
        if not isinstance(item, str) or not item.strip():
            errors[path] = f"Each {what} must be non-empty text."
        elif len(item.strip()) > MAX_LIST_ITEM_LENGTH:
            errors[path] = f"Each {what} must be at most {MAX_LIST_ITEM_LENGTH} characters."
        else:
            lines.append(" ".join(item.split()))
    return tuple(lines)


def _read_gtin(value: Any, errors: dict[str, str]) -> str | None:
    """Read the optional GTIN-14 (14 digits with a valid GS1 check digit)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _GTIN.fullmatch(value.strip()):
        # A JSON number would lose the leading zeros GTIN-14s often have.
        errors["gtin"] = "Enter the GTIN-14 as a string of 14 digits."
        return None
    gtin = value.strip()
    if not is_valid_gtin(gtin):
        errors["gtin"] = "This GTIN's check digit is wrong (GS1 mod-10)."
        return None
    return gtin


T = TypeVar("T")


def _known(value: T | None) -> T:
    """Return a field that validation required: with no errors it was read, so never None."""
    if value is None:
        raise AssertionError("a validated field is missing")
    return value


def _read_ingredients(value: Any, errors: dict[str, str]) -> list[dict[str, Any]] | None:
    """Read each ingredient into a dict of its fields (None where a field failed)."""
    if value is _MISSING or value is None:
        errors["ingredients"] = "This field is required."
        return None
    if not isinstance(value, list) or not value:
        errors["ingredients"] = "List at least one ingredient."
        return None
    items = []
    for index, raw in enumerate(value):
        prefix = f"ingredients[{index}]."
        if not isinstance(raw, Mapping):
            errors[f"ingredients[{index}]"] = "Each ingredient must be a JSON object."
            items.append({"component": None, "amount": None, "unit": None, "active": None})
            continue
        reader = _Reader(raw, errors, prefix)
        unit = reader.choice("unit", UNITS)
        item: dict[str, Any] = {
            "component": reader.text("component", MAX_COMPONENT_LENGTH),
            "amount": None,
            "unit": unit,
            "active": reader.boolean("active", default=False),
        }
        if unit == QS:
            if raw.get("amount") is not None:
                errors[prefix + "amount"] = "The q.s. vehicle has no amount; leave it empty."
        elif unit is not None:
            amount = reader.decimal("amount", positive=True)
            if amount is not None and unit in PERCENT_UNITS and amount > 100:
                errors[prefix + "amount"] = "A percentage cannot exceed 100."
                amount = None
            item["amount"] = amount
        items.append(item)
    return items


def _check_ingredient_set(
    items: list[dict[str, Any]],
    concentration: Decimal | None,
    drug: str | None,
    errors: dict[str, str],
) -> None:
    """Check the rules across ingredients: one active matching the strength, one vehicle."""
    actives = [index for index, item in enumerate(items) if item["active"]]
    if not actives:
        _add_error(errors, "ingredients", "Mark exactly one ingredient as the active.")
    for extra in actives[1:]:
        errors.setdefault(
            f"ingredients[{extra}].active",
            f"Only one ingredient can be the active (ingredient {actives[0] + 1} already is).",
        )
    if actives:
        index = actives[0]
        active = items[index]
        path = f"ingredients[{index}]."
        if active["unit"] is not None and active["unit"] != ACTIVE_UNIT:
            errors.setdefault(path + "unit", "The active ingredient is stated in mcg/mL.")
        elif (
            active["amount"] is not None
            and concentration is not None
            and active["amount"] != concentration
        ):
            errors.setdefault(
                path + "amount",
                f"The active's amount must equal the concentration ({concentration} mcg/mL).",
            )
        if (
            drug is not None
            and active["component"] is not None
            and drug not in active["component"].casefold()
        ):
            errors.setdefault(path + "component", f"The active ingredient must be {drug}.")

    vehicles = [index for index, item in enumerate(items) if item["unit"] == QS]
    for extra in vehicles[1:]:
        errors.setdefault(
            f"ingredients[{extra}].unit", "Only one ingredient (the vehicle) can be q.s."
        )

    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item["component"] is None:
            continue
        key = item["component"].casefold()
        if key in seen:
            errors.setdefault(
                f"ingredients[{index}].component",
                f"This component is already listed (ingredient {seen[key] + 1}).",
            )
        else:
            seen[key] = index
