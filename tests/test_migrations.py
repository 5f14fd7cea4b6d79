"""The migrations build the schema, and the models agree with them."""

from __future__ import annotations

import pytest


def _upgrade_and_check(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.output
    # The same comparison `db check` makes, asserted directly: no differences at all.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from pharmacy.extensions import db

    with runner.app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_sqlite_upgrade_then_check(app):
    _upgrade_and_check(app.test_cli_runner())


def test_sqlite_from_empty_database(tmp_path):
    from tests.conftest import _make_app

    empty = _make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path)
    _upgrade_and_check(empty.test_cli_runner())
    from pharmacy.extensions import db
    from pharmacy.models import Counter, PharmacySettings

    with empty.app_context():
        assert db.session.get(PharmacySettings, 1) is not None
        assert db.session.get(Counter, "rx").value == 100000
        db.engine.dispose()


@pytest.mark.pg
def test_postgresql_upgrade_then_check(pg_app):
    _upgrade_and_check(pg_app.test_cli_runner())
