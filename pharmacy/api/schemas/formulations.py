"""``/formulations`` bodies and answers (SPEC 3 "Formulation body")."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pharmacy.api.schemas.base import Int, Num, Out, Strict, Text

MAX_AMOUNT = 10**9


class IngredientIn(Strict):
    """One ingredient per mL of the preparation."""

    component: Text(100) | None = None
    amount: Num(ge=0, le=MAX_AMOUNT) | None = None
    unit: Text(10) | None = None
    active: bool | None = None


class FormulationIn(Strict):
    """A master formulation record; :mod:`pharmacy.domain.formulation` checks its rules."""

    code: Text(30) | None = None
    name: Text(200) | None = None
    drug: Text(40) | None = None
    concentration_mcg_per_ml: Num(gt=0, le=MAX_AMOUNT) | None = None
    vial_volume_ml: Num(gt=0, le=1000) | None = None
    container: Text(20) | None = None
    overfill_ml: Num(ge=-1000, le=1000) | None = None
    category: Int(ge=-100, le=100) | None = None
    sterilization: Text(20) | None = None
    sterility_tested: bool | None = None
    nonsterile_components: bool | None = None
    storage: Text(20) | None = None
    protect_from_light: bool | None = None
    in_use_days: Int(ge=-1000, le=1000) | None = None
    gtin: Text(20) | None = None
    ingredients: list[IngredientIn] | None = Field(default=None, max_length=30)
    # Batch worksheet text (SPEC 6.5): one step or item a line.
    procedure: list[Text(500)] | None = Field(default=None, max_length=60)
    equipment: list[Text(500)] | None = Field(default=None, max_length=60)


class FormulationOut(Out):
    """A formulation's current version."""

    id: int
    code: str
    version: int
    status: str
    name: str
    ingredients: list[dict[str, Any]]


class FormulationListOut(Out):
    """The formulations."""

    formulations: list[FormulationOut]
