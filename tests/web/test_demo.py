"""The demo pharmacy's stock: formulations, released lots and batches, loaded idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Formulation, IngredientLot, now_utc
from pharmacy.services.audit import verify_chain
from pharmacy.services.demo import DEMO_FORMULATIONS, load_demo

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


def _counts():
    return tuple(
        db.session.execute(db.select(db.func.count(model.id))).scalar()
        for model in (Formulation, IngredientLot, Batch, AuditEvent)
    )


def test_demo_load_twice_is_idempotent(app):
    with app.app_context(), write_intent():
        first = load_demo()
        assert any("formulations" in item for item in first)
        counts = _counts()
        assert load_demo() == []
        assert _counts() == counts
        assert verify_chain().ok


def test_each_formulation_has_released_stock(app):
    with app.app_context(), write_intent():
        load_demo()
        now = now_utc()
        for body in DEMO_FORMULATIONS:
            batches = (
                db.session.execute(
                    db.select(Batch).join(Formulation).where(Formulation.code == body["code"])
                )
                .scalars()
                .all()
            )
            assert batches, body["code"]
            batch = batches[0]
            assert batch.status == "released"
            # The maintenance patients of the continuity story took their original fills.
            assert batch.vials_available >= 30
            assert batch.bud_dt > now + timedelta(days=30)
            assert batch.sterility_test == "passed"
        lots = db.session.execute(db.select(IngredientLot)).scalars().all()
        assert {lot.status for lot in lots} == {"released"}
        assert all(lot.quantity_on_hand > 0 for lot in lots)
        actions = set(db.session.execute(db.select(AuditEvent.action)).scalars())
        assert {
            "formulation.created",
            "ingredient_lot.released",
            "batch.compounded",
            "batch.released",
        } <= actions


def test_demo_gtin_formulation(app):
    with app.app_context(), write_intent():
        load_demo()
        gtins = db.session.execute(db.select(Formulation.gtin)).scalars().all()
    assert "00312345678906" in gtins


def test_demo_safety_orders(app):
    """SPEC 5.1/5.2: one order stopped by an allergy, one with two warnings to acknowledge."""
    from pharmacy.models import Order, Patient

    with app.app_context(), write_intent():
        load_demo()
        levels = {}
        for mrn in ("MRN-70211", "MRN-80830"):
            order = db.session.execute(
                db.select(Order).join(Patient).where(Patient.mrn == mrn)
            ).scalar_one()
            assert order.status == "submitted"
            levels[mrn] = {a["code"]: a["level"] for a in order.alerts}
        assert levels["MRN-70211"] == {"allergy": "stop"}
        assert levels["MRN-80830"] == {"dose_above_max": "warning", "allergies_unknown": "warning"}
