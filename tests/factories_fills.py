"""Factories for fill, trace and recall tests: verified orders and released stock.

Rows are built directly with the models (no other area's services), so these tests do
not depend on order entry or batch compounding. Each ``make_x(**overrides)`` commits.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    Formulation,
    IngredientLot,
    Order,
    Patient,
    now_utc,
)
from pharmacy.services import continuity
from pharmacy.services.settings import local_today
from tests import factories_stock as stock
from tests.factories import user

_seq = itertools.count(1)

# One 1 mL single-dose dose of 1000 mcg: exactly one vial per fill.
ONE_DOSE = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 1}]
# SPEC 2.1 example regimen (high-dose): daily x7, weekly x4, then monthly.
HIGH_DOSE = [
    {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
    {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
    {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
]


def make_patient(**overrides) -> Patient:
    """Create and commit a patient."""
    n = next(_seq)
    fields = {
        "first_name": f"Pat{n}",
        "last_name": f"Jones{n}",
        "dob": date(1960, 1, 1) + timedelta(days=n),
    }
    fields.update(overrides)
    patient = Patient(**fields)
    db.session.add(patient)
    db.session.commit()
    return patient


def make_formulation(**overrides) -> Formulation:
    """Create and commit an active formulation (default 1,000 mcg/mL, 1 mL single-dose).

    The fills' preset of :func:`tests.factories_stock.make_formulation` (no ingredient rows).
    """
    fields = {
        "code": f"CYA-T{next(_seq)}",
        "name": "Cyanocobalamin 1,000 mcg/mL",
        "vial_volume_ml": Decimal(1),
        "container": "single-dose",
        "overfill_ml": Decimal("0.10"),
        **overrides,
    }
    return stock.make_formulation(ingredients=(), **fields)


def make_ingredient_lot(**overrides) -> IngredientLot:
    """Create and commit a released cyanocobalamin lot (the fills' preset of ``make_lot``)."""
    fields = {
        "component": "Cyanocobalamin USP",
        "manufacturer": "Acme Chem",
        "lot": f"CN{next(_seq):05d}",
        "expiry": "2030-12",
        "expiry_date": date(2030, 12, 31),
        "quantity": Decimal(10000),
        "unit": "mg",
        "assay_percent": Decimal("99.0"),
        "lod_percent": Decimal("5.0"),
        **overrides,
    }
    return stock.make_lot(**fields)


def make_batch(
    formulation: Formulation | None = None,
    *,
    vials: int = 10,
    bud_dt: datetime | None = None,
    status: str = "released",
    ingredient_lots: list[IngredientLot] = (),
    **overrides,
) -> Batch:
    """Create and commit a batch (released, 10 vials, BUD 60 days from now by default).

    The fills' preset of :func:`tests.factories_stock.make_batch`: compounded yesterday, no
    sterility record, worksheet lines only for the ``ingredient_lots`` given.
    """
    fields = {
        "lot_number": f"CYT{next(_seq):06d}",
        "vials": vials,
        "compounded_dt": now_utc() - timedelta(days=1),
        "bud_dt": bud_dt or now_utc() + timedelta(days=60),
        "bud_rule": "",
        "status": status,
        "sterility_test": None,
        "sterility_recorded_dt": None,
        "sterility_completed_dt": None,
        "released_dt": None,
        **overrides,
    }
    return stock.make_batch(
        formulation or make_formulation(), ingredient_lots=list(ingredient_lots), **fields
    )


def make_verified_order(patient: Patient | None = None, **overrides) -> Order:
    """Create and commit a verified order (default: one 1000 mcg dose today, 1 mL single-dose).

    ``prescriber`` may be a username of the template users.
    """
    n = next(_seq)
    prescriber = overrides.pop("prescriber", "prescriber")
    fields = {
        "rx_number": str(900000 + n),
        "patient_id": (patient or make_patient()).id,
        "prescriber_id": user(prescriber).id,
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": Decimal(1000),
        "vial_volume_ml": Decimal(1),
        "container": "single-dose",
        "route": "IM",
        "start_date": local_today(),
        "phases": ONE_DOSE,
        "days_supply": 30,
        "refills": 0,
        "compounding_reason": "Preservative-free product needed",
        "status": "verified",
        "verified_dt": now_utc(),
    }
    fields.update(overrides)
    order = Order(**fields)
    if order.expires_on is None:
        order.expires_on = continuity.expires_on(
            continuity.local_date(order.verified_dt or now_utc())
        )
    db.session.add(order)
    db.session.flush()
    # The stored next-fill state the work lists read (SPEC 5.4), as verification sets it.
    continuity.refresh_next_fill(order, today=local_today())
    db.session.commit()
    return order


def utc(y: int, m: int, d: int, h: int = 12) -> datetime:
    """Return an aware UTC datetime (noon by default: the same calendar day in US zones)."""
    return datetime(y, m, d, h, tzinfo=UTC)
