"""Factories for formulations, ingredient lots and batches: rows built directly, committed.

Call them inside ``app.app_context()``. Defaults give stock a fill can use right away:

* ``make_formulation()``: an active 10 mL multiple-dose Cyanocobalamin 1000 mcg/mL vial
  (Category 2, terminally sterilized, sterility tested, refrigerated: 60-day BUD), with
  benzyl alcohol 1.5 % v/v, sodium chloride 0.9 % w/v and water for injection q.s.
* ``make_lot()``: a released cyanocobalamin lot (assay 98.5 %, LOD 8.0 %, 10 g, expiring in
  two years).
* ``make_batch()``: a released batch of 40 vials of a new default formulation, compounded
  15 days ago, BUD 59 days from now, sterility test passed after its 14 days of incubation
  (USP <71>), with one worksheet line drawn
  from a new active lot (so trace has something to follow).

Every factory takes ``**overrides`` for any column; related rows may be passed in
(``make_batch(formulation=f, ingredient_lots=[lot])``).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    BatchComponent,
    Formulation,
    FormulationIngredient,
    IngredientLot,
    now_utc,
)

_sequence = itertools.count(1)

DEFAULT_INGREDIENTS = (
    ("Cyanocobalamin", Decimal(1000), "mcg/mL", True),
    ("Benzyl alcohol", Decimal("1.5"), "% v/v", False),
    ("Sodium chloride", Decimal("0.9"), "% w/v", False),
    ("Water for injection", None, "q.s.", False),
)

SINGLE_DOSE_INGREDIENTS = (
    ("Cyanocobalamin", Decimal(1000), "mcg/mL", True),
    ("Sodium chloride", Decimal("0.9"), "% w/v", False),
    ("Water for injection", None, "q.s.", False),
)


def make_formulation(ingredients=DEFAULT_INGREDIENTS, **overrides) -> Formulation:
    """Create and commit an active formulation version (default: 10 mL multiple-dose)."""
    number = next(_sequence)
    fields = {
        "code": f"TEST-MDV10-{number}",
        "version": 1,
        "name": "Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": Decimal(1000),
        "vial_volume_ml": Decimal(10),
        "container": "multiple-dose",
        "overfill_ml": Decimal("0.50"),
        "category": 2,
        "sterilization": "terminal",
        "sterility_tested": True,
        "nonsterile_components": True,
        "storage": "refrigerated",
        "protect_from_light": True,
        "in_use_days": 28,
        "gtin": None,
        "status": "active",
    }
    fields.update(overrides)
    formulation = Formulation(**fields)
    formulation.ingredients = [
        FormulationIngredient(
            position=index, component=component, amount=amount, unit=unit, active=active
        )
        for index, (component, amount, unit, active) in enumerate(ingredients)
    ]
    with write_intent():
        db.session.add(formulation)
        db.session.commit()
    return formulation


def make_single_dose_formulation(**overrides) -> Formulation:
    """Create and commit an active 1 mL single-dose formulation (aseptic, tested: 45 days)."""
    fields = {
        "code": f"TEST-SDV1-{next(_sequence)}",
        "name": "Cyanocobalamin 1,000 mcg/mL, 1 mL single-dose vial",
        "vial_volume_ml": Decimal(1),
        "container": "single-dose",
        "overfill_ml": Decimal("0.10"),
        "sterilization": "aseptic",
    }
    fields.update(overrides)
    return make_formulation(ingredients=SINGLE_DOSE_INGREDIENTS, **fields)


def make_lot(**overrides) -> IngredientLot:
    """Create and commit a released ingredient lot (default: cyanocobalamin, 10 g)."""
    number = next(_sequence)
    expiry_date = (now_utc() + timedelta(days=730)).date()
    quantity = overrides.pop("quantity", Decimal(10))
    fields = {
        "component": "Cyanocobalamin",
        "manufacturer": "Fagron",
        "lot": f"TLOT{number:05d}",
        "expiry": expiry_date.isoformat(),
        "expiry_date": expiry_date,
        "quantity_received": quantity,
        "quantity_on_hand": quantity,
        "unit": "g",
        "assay_percent": Decimal("98.5"),
        "lod_percent": Decimal("8.0"),
        "coa_reference": f"COA-{number:05d}",
        "status": "released",
        "received_dt": now_utc() - timedelta(days=10),
        "released_dt": now_utc() - timedelta(days=9),
    }
    fields.update(overrides)
    if "expiry_date" in overrides and "expiry" not in overrides:
        fields["expiry"] = fields["expiry_date"].isoformat()
    lot = IngredientLot(**fields)
    with write_intent():
        db.session.add(lot)
        db.session.commit()
    return lot


def make_batch(formulation: Formulation | None = None, ingredient_lots=None, **overrides) -> Batch:
    """Create and commit a released batch (default 40 vials, BUD 59 days from now).

    :param ingredient_lots: lots to record as worksheet lines (default: one new active lot).
    """
    if formulation is None:
        formulation = make_formulation()
    if ingredient_lots is None:
        ingredient_lots = [make_lot()]
    number = next(_sequence)
    now = now_utc()
    vials = overrides.pop("vials", 40)
    fields = {
        "lot_number": f"TB{now:%y%m%d}-{number:02d}",
        "formulation_id": formulation.id,
        "vials": vials,
        "vials_available": vials,
        # Compounded 15 days ago: its sterility test passed after the 14 days of incubation
        # USP <71> requires (SPEC 5.6). The BUD is set, not computed, to leave room for fills.
        "compounded_dt": now - timedelta(days=15),
        "bud_dt": now + timedelta(days=59),
        "bud_limited_by": "usp797",
        "bud_rule": "USP <797> Category 2, terminally sterilized, sterility tested and passed, "
        "refrigerated (2-8 C): 60 days",
        "status": "released",
        "sterility_test": "passed" if formulation.sterility_tested else None,
        "sterility_recorded_dt": now - timedelta(hours=2),
        "sterility_completed_dt": now - timedelta(hours=3)
        if formulation.sterility_tested
        else None,
        "released_dt": now - timedelta(hours=1),
    }
    fields.update(overrides)
    batch = Batch(**fields)
    batch.components = [
        BatchComponent(
            position=index,
            ingredient_lot_id=lot.id,
            component=lot.component,
            required=Decimal(1),
            weigh=Decimal(1),
            unit=lot.unit,
            drawn=Decimal(0),
        )
        for index, lot in enumerate(ingredient_lots)
    ]
    with write_intent():
        db.session.add(batch)
        db.session.commit()
    return batch
