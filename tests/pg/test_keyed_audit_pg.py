"""The keyed-audit migration re-keys a version-1 chain on PostgreSQL too (JSON, timestamps)."""

from __future__ import annotations

from tests.conftest import empty_pg_database, requires_pg
from tests.web.test_audit_keyed import test_the_migration_rekeys_a_version_1_chain as rekey

pytestmark = requires_pg


def test_the_migration_rekeys_a_version_1_chain_pg(tmp_path):
    with empty_pg_database() as url:
        rekey(tmp_path, url=url)
