"""Recall then dispense on PostgreSQL (SPEC 5.5): refused with the reasons, nothing changes."""

from __future__ import annotations

import pytest

from tests.conftest import requires_pg
from tests.web.test_dispense_recheck import run_recall_races_dispense, run_recall_then_dispense

pytestmark = pytest.mark.date_sensitive


@requires_pg
def test_recall_then_dispense_is_refused_pg(pg_app):
    run_recall_then_dispense(pg_app)


@requires_pg
def test_recall_races_dispense_pg(pg_app):
    run_recall_races_dispense(pg_app, rounds=5)
