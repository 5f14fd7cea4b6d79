"""The work list and the continuity list read stored state: their SQL statement count does
not grow with the number of orders (SPEC 9, issue 14)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from pharmacy.extensions import db
from pharmacy.services.settings import local_today
from tests.factories import writing
from tests.factories_fills import make_batch, make_formulation, make_verified_order

DAILY_5 = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 5}]


@contextmanager
def counting(app):
    """Count the SQL statements run while the block runs."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def add_history(app, n: int) -> None:
    """Add ``n`` open orders: some due with stock, some short, some overdue."""
    with writing(app):
        today = local_today()
        for i in range(n):
            make_verified_order(phases=DAILY_5, start_date=today - timedelta(days=i % 3))
            make_verified_order(vial_volume_ml=10, container="multiple-dose")


def statements(app, client, path: str) -> int:
    client.get(path)  # warm up: sessions, settings, templates
    with counting(app) as seen:
        response = client.get(path)
    assert response.status_code == 200
    return len(seen)


def test_work_list_statement_count_does_not_grow(app, as_user):
    with writing(app):
        make_batch(make_formulation(), vials=500)
    client = as_user("technician")
    add_history(app, 3)
    small = statements(app, client, "/compounding/worklist")
    add_history(app, 30)
    large = statements(app, client, "/compounding/worklist")
    page = client.get("/compounding/worklist").get_data(as_text=True)
    # The orders are really listed: a full page (half of them in stock), and a next page.
    assert page.count('/fill"') >= 20
    assert 'rel="next"' in page
    assert large == small


def test_follow_up_statement_count_does_not_grow(app, as_user, client, api):
    add_history(app, 3)
    headers = api("pharmacist")
    client.get("/api/v1/follow-up", headers=headers)
    with counting(app) as seen:
        first = client.get("/api/v1/follow-up", headers=headers)
    small = len(seen)
    add_history(app, 30)
    with counting(app) as seen:
        second = client.get("/api/v1/follow-up", headers=headers)
    assert first.status_code == second.status_code == 200
    assert len(second.get_json()["items"]) > len(first.get_json()["items"])
    assert len(seen) == small
