"""No page or API list does more SQL, or returns more rows, as history grows (SPEC 9).

Two databases are filled by the history generator, one with four times the history of the
other (1,400 and 5,500 orders), and every list page and API list is requested on both, signed in as the role that
uses it. The number of SQL statements must be the same, and no list may return more rows
than its page size.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import event, select

from tests.conftest import _make_app, login_as

NOW = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)

PAGES = (
    ("pharmacist", "/home"),
    ("pharmacist", "/orders/"),
    ("pharmacist", "/orders/?status=verified"),
    ("pharmacist", "/orders/?q=smith"),
    ("pharmacist", "/orders/queue"),
    ("pharmacist", "/patients/?q=an"),
    ("pharmacist", "/compounding/stock"),
    ("pharmacist", "/compounding/stock?show=expired"),
    ("pharmacist", "/compounding/batches"),
    ("pharmacist", "/compounding/batches?status=released"),
    ("pharmacist", "/compounding/trace"),
    ("pharmacist", "/compounding/trace?batch_lot={batch_lot}"),
    ("pharmacist", "/compounding/trace?ingredient_lot={ingredient_lot}"),
    ("pharmacist", "/fills/"),
    ("pharmacist", "/admin/audit"),
    ("pharmacist", "/follow-up/"),
    ("pharmacist", "/follow-up/?kind=renewal_needed"),
    ("technician", "/home"),
    ("technician", "/compounding/worklist"),
    ("prescriber", "/orders/"),
    ("prescriber", "/home"),
)
# The most table rows a list page may show (the fills page: two pages of 50 and 20 more).
ROW_CEILING = 130
# One record's page reads that record's own rows: its count depends on the record (how many
# different people touched it), never on history, so it is held under a fixed ceiling.
DETAIL_PAGES = (
    ("/orders/{rx_number}", 25),
    ("/fills/{fill_id}", 25),
    ("/compounding/batches/{batch_lot}", 25),
    ("/patients/{patient_id}", 30),
)
API_LISTS = (
    ("/api/v1/orders", "orders", 25),
    ("/api/v1/orders?status=verified", "orders", 25),
    ("/api/v1/batches", "batches", 25),
    ("/api/v1/ingredient-lots?limit=5", "ingredient_lots", 5),
    ("/api/v1/audit", "events", 50),
    ("/api/v1/follow-up?limit=5", "items", 5),
)


def _history_app(sqlite_template, tmp_path, name: str, years: float):
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.services.demo import load_demo
    from pharmacy.services.history import generate_history

    path = tmp_path / f"{name}.sqlite3"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path / name)
    with app.app_context(), write_intent():
        load_demo()
        generate_history(years, now=NOW, orders_per_day=25, seed=7)
        db.session.remove()
    return app


@pytest.fixture(scope="module")
def histories(sqlite_template, tmp_path_factory):
    """Return (small, large) apps: about 8 and 31 weeks of history at 25 orders a day."""
    folder = tmp_path_factory.mktemp("histories")
    with time_machine.travel(NOW, tick=False):
        small = _history_app(sqlite_template, folder, "small", 0.15)
        large = _history_app(sqlite_template, folder, "large", 0.6)
    return small, large


def _targets(app) -> dict[str, str]:
    from pharmacy.extensions import db
    from pharmacy.models import Batch, Fill, FillAllocation, IngredientLot, Observation, Order

    with app.app_context():
        # The busiest batch and ingredient lot, and an old order and fill: the pages that
        # grow with what they show must still not grow with the rest of history.
        batch_lot = db.session.execute(
            select(Batch.lot_number)
            .join(FillAllocation, FillAllocation.batch_id == Batch.id)
            .group_by(Batch.id)
            .order_by(db.func.count().desc())
            .limit(1)
        ).scalar_one()
        # The patient with the most lab results (the trend picture and its lists).
        patient_id = db.session.execute(
            select(Observation.patient_id)
            .group_by(Observation.patient_id)
            .order_by(db.func.count().desc(), Observation.patient_id)
            .limit(1)
        ).scalar_one()
        return {
            "batch_lot": batch_lot,
            "patient_id": str(patient_id),
            "ingredient_lot": str(
                db.session.execute(select(db.func.min(IngredientLot.id))).scalar_one()
            ),
            "rx_number": db.session.execute(
                select(Order.rx_number).where(Order.status == "verified").limit(1)
            ).scalar_one(),
            # A dispensed fill drawn from one batch, so both fills show the same things.
            "fill_id": str(
                db.session.execute(
                    select(Fill.id)
                    .join(FillAllocation, FillAllocation.fill_id == Fill.id)
                    .where(Fill.status == "dispensed")
                    .group_by(Fill.id)
                    .having(db.func.count() == 1)
                    .order_by(Fill.id)
                    .limit(1)
                ).scalar_one()
            ),
        }


def _count_statements(app, client, url: str) -> tuple[int, int, object]:
    from pharmacy.extensions import db

    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), response.status_code, response


@pytest.mark.parametrize(("role", "url"), PAGES)
def test_pages_do_the_same_sql_at_any_history(histories, role, url):
    counts: list[int] = []
    rows: list[int] = []
    with time_machine.travel(NOW, tick=False):
        for app in histories:
            client = app.test_client()
            login_as(client, role)
            target = url.format(**_targets(app))
            n, status, response = _count_statements(app, client, target)
            assert status == 200, (target, status)
            counts.append(n)
            rows.append(response.get_data(as_text=True).count("<tr"))
    small, large = counts
    assert large == small, f"{url}: {small} statements at the small history, {large} at 4x"
    # Table rows: a page shows a bounded page of each list, whatever the history.
    assert rows[1] <= ROW_CEILING, f"{url}: {rows[1]} table rows at 4x ({rows[0]} at 1x)"


@pytest.mark.parametrize(("url", "ceiling"), DETAIL_PAGES)
def test_detail_pages_stay_under_a_fixed_number_of_statements(histories, url, ceiling):
    with time_machine.travel(NOW, tick=False):
        for app in histories:
            client = app.test_client()
            login_as(client, "pharmacist")
            n, status, _ = _count_statements(app, client, url.format(**_targets(app)))
            assert status == 200
            assert n <= ceiling, f"{url}: {n} statements"


@pytest.mark.parametrize(("url", "key", "limit"), API_LISTS)
def test_api_lists_are_bounded_and_flat(histories, url, key, limit):
    from tests.conftest import issue_token

    counts = []
    with time_machine.travel(NOW, tick=False):
        for app in histories:
            client = app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + issue_token(app, "pharmacist")
            n, status, response = _count_statements(app, client, url)
            assert status == 200, (url, status)
            body = response.get_json()
            assert len(body[key]) <= limit
            assert body["next"] is not None, "the history is larger than one page"
            counts.append(n)
    assert counts[0] == counts[1], f"{url}: {counts[0]} statements vs {counts[1]} at 4x"
