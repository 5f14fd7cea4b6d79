"""Concurrent fills and voids on one batch never put a serial in two live fills (SPEC 6.1)."""

from __future__ import annotations

from sqlalchemy import select

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Batch, FillAllocation, FillVial
from tests.concurrency import run_at_once
from tests.conftest import issue_token
from tests.factories_fills import make_batch, make_formulation, make_verified_order

ORDERS = 20
PER_FILL = 2
VIALS = 30
VOIDS = 4
TWO_DAILY = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": PER_FILL}]


def run_concurrent_serials(app) -> None:
    """Fill 20 two-vial orders from 30 vials while 4 earlier fills are voided, all at once."""
    with app.app_context(), write_intent():
        batch = make_batch(make_formulation(), vials=VIALS)
        batch_id = batch.id
        rx_numbers = [make_verified_order(phases=TWO_DAILY).rx_number for _ in range(ORDERS)]
        early = [make_verified_order(phases=TWO_DAILY).rx_number for _ in range(VOIDS)]
        db.session.remove()
    tech = {"Authorization": f"Bearer {issue_token(app, 'technician')}"}
    client = app.test_client()
    to_void = []
    for rx in early:
        response = client.post(f"/api/v1/orders/{rx}/fills", headers=tech)
        assert response.status_code == 201, response.get_json()
        to_void.append(response.get_json()["id"])

    def act(c, i):
        if i < VOIDS:
            return c.post(
                f"/api/v1/fills/{to_void[i]}/void", json={"reason": "race"}, headers=tech
            ).status_code
        return c.post(f"/api/v1/orders/{rx_numbers[i - VOIDS]}/fills", headers=tech).status_code

    statuses = run_at_once(app, ORDERS + VOIDS, act)
    assert statuses[:VOIDS] == [200] * VOIDS
    made = statuses[VOIDS:].count(201)
    assert set(statuses[VOIDS:]) <= {201, 409}
    # 30 vials, 8 held by the early fills until voided: at least 11 and at most 15 fills.
    assert (VIALS - VOIDS * PER_FILL) // PER_FILL <= made <= VIALS // PER_FILL
    with app.app_context():
        live = db.session.execute(
            select(FillAllocation.fill_id, FillVial.serial)
            .join(FillAllocation, FillVial.allocation_id == FillAllocation.id)
            .where(FillVial.returned.is_(False))
        ).all()
        serials = [s for _, s in live]
        assert len(serials) == len(set(serials)) == made * PER_FILL
        assert set(serials) <= set(range(1, VIALS + 1))
        stock = db.session.get(Batch, batch_id)
        assert stock is not None and stock.vials_available == VIALS - len(serials)
        db.session.remove()


def test_concurrent_fills_and_voids_never_share_a_serial(app):
    run_concurrent_serials(app)
