"""The keyed-audit migration re-keys a version-1 chain on PostgreSQL too (JSON, timestamps)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _admin_engine, requires_pg
from tests.web.test_audit_keyed import test_the_migration_rekeys_a_version_1_chain as rekey

pytestmark = requires_pg


def test_the_migration_rekeys_a_version_1_chain_pg(tmp_path):
    name = f"b12_v1_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        rekey(tmp_path, url=url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
