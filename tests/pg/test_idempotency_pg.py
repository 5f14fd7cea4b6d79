"""Safe retries on PostgreSQL (SPEC 8.3): two identical ``POST /batches`` at once, one key."""

from __future__ import annotations

import time_machine

from pharmacy.extensions import db
from pharmacy.models import IdempotencyKey
from tests.concurrency import run_at_once
from tests.conftest import issue_token, requires_pg
from tests.web.test_batches import on_hand, stock
from tests.web.test_idempotency import MOMENT, _batches, _body

pytestmark = requires_pg


@time_machine.travel(MOMENT, tick=False)
def test_two_identical_batches_at_once_make_one_pg(pg_app):
    code, lots = stock(pg_app)
    water = on_hand(pg_app, lots["water"])
    headers = {
        "Authorization": f"Bearer {issue_token(pg_app, 'technician')}",
        "Idempotency-Key": "race-1",
    }
    body = _body(code, lots)
    results = run_at_once(
        pg_app, 2, lambda client, i: client.post("/api/v1/batches", json=body, headers=headers)
    )
    assert [r.status_code for r in results] == [201, 201]
    assert results[0].get_json() == results[1].get_json()
    assert _batches(pg_app) == 1
    components = results[0].get_json()["components"]
    drawn = next(c["drawn"] for c in components if c["ingredient_lot_id"] == lots["water"])
    assert water - on_hand(pg_app, lots["water"]) == drawn
    with pg_app.app_context():
        assert db.session.execute(db.select(db.func.count(IdempotencyKey.id))).scalar_one() == 1
