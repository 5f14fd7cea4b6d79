"""Schemathesis over every API operation on SQLite (SPEC 8.2); see ``tests/fuzz.py``."""

from __future__ import annotations

from tests.fuzz import fuzz_every_operation


def test_every_operation_on_sqlite(app, request):
    tally = fuzz_every_operation(app)
    tally.report(request.config, "SQLite")
    assert len(tally.operations) >= 40
