"""Two people acting on one order or one fill at once, on PostgreSQL (row locks)."""

from __future__ import annotations

import pytest

from tests.web.test_workflow_races import (
    check_dispense_and_void_at_once,
    check_two_pharmacists_decide_at_once,
)

pytestmark = pytest.mark.pg


@pytest.mark.parametrize("attempt", range(3))
def test_two_pharmacists_decide_one_order_pg(pg_app, attempt):
    check_two_pharmacists_decide_at_once(pg_app)


@pytest.mark.parametrize("attempt", range(3))
def test_dispense_and_void_race_pg(pg_app, attempt):
    check_dispense_and_void_at_once(pg_app)
