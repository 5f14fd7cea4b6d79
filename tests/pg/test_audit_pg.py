"""Concurrent writers never fork the audit chain (PostgreSQL, row lock on the chain tip)."""

from __future__ import annotations

import pytest

from tests.web.test_audit_concurrency import check_parallel_token_issue

pytestmark = pytest.mark.pg


def test_parallel_writers_keep_one_chain_pg(pg_app):
    check_parallel_token_issue(pg_app, count=10)
