"""Schemathesis over every API operation on PostgreSQL (SPEC 8.2); see ``tests/fuzz.py``."""

from __future__ import annotations

from tests.conftest import requires_pg
from tests.fuzz import assert_links_followed, fuzz_every_operation, fuzz_statefully, stateful_seed

pytestmark = requires_pg


def test_every_operation_on_postgresql(pg_app, request):
    tally = fuzz_every_operation(pg_app)
    tally.report(request.config, "PostgreSQL")
    assert len(tally.operations) >= 40


def test_stateful_links_on_postgresql(pg_app, request):
    tally = fuzz_statefully(pg_app, stateful_seed(pg_app))
    tally.report(request.config, "PostgreSQL")
    assert_links_followed(tally)
