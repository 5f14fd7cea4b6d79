"""SPEC 5.2 on PostgreSQL: two pharmacists approving one order with their reasons at once."""

from __future__ import annotations

import pytest

from tests.web.test_allergies_api import check_acknowledged_approvals_at_once

pytestmark = pytest.mark.pg


@pytest.mark.parametrize("attempt", range(2))
def test_acknowledged_approvals_race_pg(pg_app, attempt):
    check_acknowledged_approvals_at_once(pg_app)
