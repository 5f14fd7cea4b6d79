"""Two technicians fill the same order at the same moment: one fill is made, and the stored
next fill (SPEC 5.4) moves on exactly once. Run on SQLite here and on PostgreSQL in
``tests/pg/test_continuity_pg.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Fill, Order
from tests.concurrency import run_at_once
from tests.conftest import issue_token
from tests.factories import make_user
from tests.factories_fills import make_batch, make_formulation, make_verified_order

MONTHLY = [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]
NOW = datetime(2027, 1, 10, 17, 0, tzinfo=UTC)


def check_two_fills_of_one_order_at_once(app) -> None:
    with time_machine.travel(NOW, tick=False):
        with app.app_context(), write_intent():
            make_user("technician2", "technician")
            make_batch(make_formulation(), vials=20, bud_dt=datetime(2027, 6, 1, 17, tzinfo=UTC))
            rx = make_verified_order(
                phases=MONTHLY, start_date=date(2027, 1, 10), days_supply=30, refills=2
            ).rx_number
        headers = [
            {"Authorization": f"Bearer {issue_token(app, name)}"}
            for name in ("technician", "technician2")
        ]
        statuses = run_at_once(
            app,
            2,
            lambda client, i: (
                client.post(f"/api/v1/orders/{rx}/fills", json={}, headers=headers[i]).status_code
            ),
        )
    assert sorted(statuses) == [201, 409], statuses
    with app.app_context():
        order = db.session.execute(db.select(Order).filter_by(rx_number=rx)).scalar_one()
        fills = db.session.execute(db.select(Fill).filter_by(order_id=order.id)).scalars().all()
        assert [f.fill_number for f in fills] == [0]
        assert order.next_fill_number == 1
        assert order.next_fill_due_by == date(2027, 2, 10)


def test_two_fills_of_one_order_at_once_sqlite(app):
    check_two_fills_of_one_order_at_once(app)
