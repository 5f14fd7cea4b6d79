"""The stored next fill (SPEC 5.4, 7.5-7.7) on PostgreSQL: every continuity API test run
again against a PostgreSQL database, and two fills of one order racing."""

from __future__ import annotations

import pytest

from tests.conftest import requires_pg
from tests.web.test_continuity_api import *  # the same tests, collected here
from tests.web.test_continuity_races import check_two_fills_of_one_order_at_once

pytestmark = [requires_pg, pytest.mark.pg]


@pytest.fixture
def app(pg_app):
    """Run the imported tests on the PostgreSQL clone instead of the SQLite copy."""
    return pg_app


@pytest.mark.parametrize("attempt", range(3))
def test_two_fills_of_one_order_at_once_pg(pg_app, attempt):
    check_two_fills_of_one_order_at_once(pg_app)
