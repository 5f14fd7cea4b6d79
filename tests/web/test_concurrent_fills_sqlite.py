"""Twenty technicians fill at once from one batch of ten vials: exactly ten succeed (SQLite)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Batch, Fill, FillAllocation
from tests.conftest import issue_token
from tests.factories_fills import make_batch, make_formulation, make_verified_order

ORDERS = 20
VIALS = 10


def run_concurrent_fills(app) -> None:
    """Request 20 one-vial fills at once against 10 vials and check nothing is oversold."""
    with app.app_context(), write_intent():
        batch = make_batch(make_formulation(), vials=VIALS)
        batch_id = batch.id
        rx_numbers = [make_verified_order().rx_number for _ in range(ORDERS)]
        db.session.remove()
    headers = {"Authorization": f"Bearer {issue_token(app, 'technician')}"}
    barrier = threading.Barrier(ORDERS)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def fill(rx: str) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            response = client.post(f"/api/v1/orders/{rx}/fills", headers=headers)
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001  surfaced in the main thread below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=fill, args=(rx,)) for rx in rx_numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(statuses) == [201] * VIALS + [409] * (ORDERS - VIALS)
    with app.app_context():
        assert db.session.get(Batch, batch_id).vials_available == 0
        allocated = db.session.execute(select(func.sum(FillAllocation.vials))).scalar()
        assert allocated == VIALS
        assert db.session.execute(select(func.count(Fill.id))).scalar() == VIALS
        # Each successful order has exactly one fill with one vial: no vial counted twice.
        per_order = db.session.execute(
            select(Fill.order_id, func.count(Fill.id)).group_by(Fill.order_id)
        ).all()
        assert all(count == 1 for _, count in per_order)
        db.session.remove()


def test_twenty_concurrent_fills_take_exactly_ten_vials(app):
    run_concurrent_fills(app)
