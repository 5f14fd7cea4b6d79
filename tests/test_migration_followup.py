"""The follow-up migration upgrades a database holding version-1 orders (SPEC 7.1 defaults)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

V1 = "6bcbaff10ca9"


def _v1_rows(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO users (id, username, password_hash, role, full_name, active,"
            " failed_logins, created_dt) VALUES (1, 'doc', 'x', 'prescriber', 'Dr Doc', true, 0,"
            " '2026-01-01 00:00:00')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO patients (id, first_name, last_name, dob, allergies, created_dt)"
            " VALUES (1, 'Ada', 'Lovelace', '1960-05-04', '', '2026-01-01 00:00:00')"
        )
    )
    for i, tests in enumerate(([], ["MMA"], ["MMA", "homocysteine"]), start=1):
        conn.execute(
            text(
                "INSERT INTO orders (id, rx_number, patient_id, prescriber_id, drug,"
                " concentration_mcg_per_ml, vial_volume_ml, container, route, start_date, phases,"
                " days_supply, refills, indication, compounding_reason, notes, monitoring_tests,"
                " sig, status, status_reason, alerts, source, submitted_dt) VALUES (:id, :rx, 1,"
                " 1, 'cyanocobalamin', 1000, 10, 'multiple-dose', 'IM', '2026-01-05', :phases, 90,"
                " 1, '', 'shortage', '', :tests, '', 'verified', '', '[]', 'web',"
                " '2026-01-01 00:00:00')"
            ),
            {
                "id": i,
                "rx": str(100000 + i),
                "phases": json.dumps(
                    [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]
                ),
                "tests": json.dumps(tests),
            },
        )


def _upgrade_with_v1_data(app) -> list[tuple]:
    from flask_migrate import upgrade

    from pharmacy.extensions import db

    with app.app_context():
        upgrade(revision=V1)
        with db.engine.begin() as conn:
            _v1_rows(conn)
        upgrade(revision="v2_followup")
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT monitoring_tests, cause, neurologic_symptoms,"
                    " monitoring_interval_months FROM orders ORDER BY id"
                )
            ).all()
        db.engine.dispose()
    return [(json.loads(t) if isinstance(t, str) else t, c, bool(n), m) for t, c, n, m in rows]


EXPECTED = [
    (["b12", "cbc"], "unknown", False, 3),
    (["b12", "cbc", "mma"], "unknown", False, 3),
    (["b12", "cbc", "mma", "homocysteine"], "unknown", False, 3),
]


def test_sqlite_v1_orders_get_the_defaults(tmp_path):
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'v1.sqlite3'}", tmp_path)
    assert _upgrade_with_v1_data(app) == EXPECTED


@pytest.mark.pg
def test_postgresql_v1_orders_get_the_defaults(tmp_path):
    from tests.conftest import _make_app, empty_pg_database

    with empty_pg_database() as url:
        assert _upgrade_with_v1_data(_make_app(url, tmp_path)) == EXPECTED
