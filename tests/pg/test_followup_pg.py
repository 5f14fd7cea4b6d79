"""Therapy follow-up on PostgreSQL: every follow-up API test and the continuity-list queries,
run again against a PostgreSQL database (the ``app`` fixture is the PostgreSQL app here)."""

from __future__ import annotations

import pytest

from tests.conftest import requires_pg
from tests.web.test_followup_api import *  # the same tests, collected here
from tests.web.test_followup_queries import *

pytestmark = [requires_pg, pytest.mark.pg]


@pytest.fixture
def app(pg_app):
    """Run the imported tests on the PostgreSQL clone instead of the SQLite copy."""
    return pg_app
