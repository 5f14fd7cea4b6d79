"""Fills and voids race on one batch on PostgreSQL: no serial is in two live fills."""

from __future__ import annotations

from tests.conftest import requires_pg
from tests.web.test_serials_concurrency import run_concurrent_serials


@requires_pg
def test_concurrent_fills_and_voids_never_share_a_serial_pg(pg_app):
    run_concurrent_serials(pg_app)
