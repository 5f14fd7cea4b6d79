"""Schemathesis over every API operation on SQLite (SPEC 8.2); see ``tests/fuzz.py``."""

from __future__ import annotations

from tests.fuzz import assert_links_followed, fuzz_every_operation, fuzz_statefully, stateful_seed


def test_every_operation_on_sqlite(app, request):
    tally = fuzz_every_operation(app)
    tally.report(request.config, "SQLite")
    assert len(tally.operations) >= 40


def test_stateful_links_on_sqlite(app, request):
    tally = fuzz_statefully(app, stateful_seed(app))
    tally.report(request.config, "SQLite")
    assert_links_followed(tally)
