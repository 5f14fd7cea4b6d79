"""Sign-in throttling under parallel attempts on PostgreSQL (SPEC 8.4): none is lost."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from pharmacy.extensions import db
from pharmacy.models import LoginThrottle
from pharmacy.services import throttle
from tests.concurrency import run_at_once
from tests.conftest import requires_pg

pytestmark = requires_pg

MOMENT = datetime(2027, 1, 10, 15, tzinfo=UTC)


@time_machine.travel(MOMENT, tick=False)
def test_parallel_attempts_are_all_counted_pg(pg_app):
    def attempt(client, i):
        return client.post("/login", data={"username": "pharmacist", "password": f"wrong-{i}"})

    results = run_at_once(pg_app, 9, attempt)
    assert [r.status_code for r in results] == [401] * 9
    with pg_app.app_context():
        # Every attempt was counted, on the account and on the address (the old per-user
        # counter counted 3 of 9).
        assert throttle.attempts("pharmacist", "127.0.0.1") == 9
        row = db.session.get(LoginThrottle, throttle.address_key("127.0.0.1"))
        assert row.attempts == 9
    checked = [r for r in results if b"Wrong username or password." in r.data]
    refused = [r for r in results if b"Too many sign-in attempts" in r.data]
    assert len(checked) + len(refused) == 9
