"""A failing use case leaves nothing half-written behind (services.tx.atomic)."""

from __future__ import annotations

from datetime import date

import pytest

from pharmacy.database import write_intent
from pharmacy.domain.errors import DomainError
from pharmacy.extensions import db
from pharmacy.models import Patient
from pharmacy.services.tx import atomic


@atomic
def _write_then_fail():
    db.session.add(Patient(first_name="Half", last_name="Written", dob=date(1970, 1, 1)))
    db.session.flush()
    raise DomainError("last_name", "refused after the row was flushed")


def test_atomic_rolls_back_flushed_rows(app):
    with app.app_context(), write_intent():
        with pytest.raises(DomainError):
            _write_then_fail()
        assert not db.session.new and not db.session.dirty
        db.session.commit()  # a later commit in the same request must not resurrect the row
        assert db.session.execute(db.select(Patient).filter_by(last_name="Written")).first() is None


def test_failed_lot_release_keeps_the_page_usable(app, client, as_user):
    """An out-of-spec release is refused with its reasons and the lot stays in quarantine."""
    from tests.factories_stock import make_lot

    with app.app_context(), write_intent():
        lot = make_lot(status="quarantine", assay_percent="95.5")
        lot_id = lot.id
    as_user("pharmacist")
    page = client.post(f"/compounding/lots/{lot_id}/release", follow_redirects=True)
    assert page.status_code == 200
    assert b"Not released" in page.data
    with app.app_context():
        from pharmacy.models import IngredientLot

        assert db.session.get(IngredientLot, lot_id).status == "quarantine"
