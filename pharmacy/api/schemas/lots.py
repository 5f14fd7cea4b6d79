"""``/ingredient-lots`` bodies and answers (SPEC 3 "Ingredient lot body")."""

from __future__ import annotations

from pharmacy.api.schemas.base import Num, Out, Strict, Text
from pharmacy.api.schemas.common import PageOut


class LotIn(Strict):
    """A received lot; the service checks expiry, units and the quantity's scale."""

    component: Text(100) | None = None
    manufacturer: Text(100) | None = None
    lot: Text(60) | None = None
    expiry: Text(10) | None = None
    quantity: Num(gt=0, le=1_000_000_000) | None = None
    unit: Text(10) | None = None
    assay_percent: Num(ge=0, le=1000) | None = None
    lod_percent: Num(ge=0, le=1000) | None = None
    coa_reference: Text(200) | None = None


class LotOut(Out):
    """An ingredient lot with its quantity on hand."""

    id: int
    component: str
    lot: str
    status: str
    quantity_on_hand: int | float
    unit: str


class LotListOut(PageOut):
    """The ingredient lots."""

    ingredient_lots: list[LotOut]
