"""The continuity list's pages on PostgreSQL, and proof that each kind reads its partial
index: the queries repeat the indexes' predicates so the planner can use them (SPEC 9)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import requires_pg
from tests.web.test_continuity_paging import *  # the same tests, collected here

pytestmark = [requires_pg, pytest.mark.pg]


@pytest.fixture
def app(pg_app):
    """Run the imported tests on the PostgreSQL clone instead of the SQLite copy."""
    return pg_app


# Sequential scans are turned off: a plan that still reads the whole table means the
# planner could not prove that a partial index applies to the kind's query.
PARTIAL = (
    "ix_orders_open_",
    "ix_orders_renewal_requested",
    "ix_orders_followed_labs",
    "ix_symptom_reports_awaiting_review",
)
KINDS = (
    "lapsed",
    "fill_overdue",
    "fill_due",
    "renewal_requested",
    "renewal_needed",
    "labs_overdue",
    "symptoms_worse",
)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_reads_its_partial_index(app, kind):
    from datetime import date

    from pharmacy.extensions import db
    from pharmacy.services import continuity_list

    with app.app_context():
        source = continuity_list.SOURCES[kind]
        stmt = (
            source.query(date(2027, 1, 10), None)
            .order_by(None)
            .order_by(source.sort(), source.row_id())
            .limit(51)
        )
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        # With statistics, as a running database has them (autovacuum), the planner weighs
        # the indexes by what they hold rather than by guesses about empty tables.
        db.session.execute(text("ANALYZE orders, symptom_reports, order_reviews, patients"))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))
        db.session.rollback()
    assert any(name in plan for name in PARTIAL), plan
    assert "Seq Scan on orders" not in plan and "Seq Scan on symptom_reports" not in plan, plan
