"""Twenty technicians fill at once from one batch of ten vials on PostgreSQL."""

from __future__ import annotations

from tests.conftest import requires_pg
from tests.web.test_concurrent_fills_sqlite import run_concurrent_fills


@requires_pg
def test_twenty_concurrent_fills_take_exactly_ten_vials_pg(pg_app):
    run_concurrent_fills(pg_app)
