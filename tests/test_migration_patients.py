"""The patients migration (SPEC 5.7) upgrades a database holding version-1 data: each
prescriber with orders for a patient gets an entry; only the first keeps the MRN and
allergies on record; the pharmacy's record gains empty phone and address."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

V1 = "6bcbaff10ca9"


def _v1_rows(conn) -> None:
    for user_id, name in ((1, "doc"), (2, "other")):
        conn.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, full_name, active,"
                " failed_logins, created_dt) VALUES (:id, :name, 'x', 'prescriber', :name, true,"
                " 0, '2026-01-01 00:00:00')"
            ),
            {"id": user_id, "name": name},
        )
    conn.execute(
        text(
            "INSERT INTO patients (id, first_name, last_name, dob, mrn, allergies, created_dt)"
            " VALUES (1, 'Ada', 'Lovelace', '1960-05-04', 'A-1', 'cobalt',"
            " '2026-01-01 00:00:00')"
        )
    )
    # Two orders from doc (the first), one from other.
    for order_id, prescriber in ((1, 1), (2, 2), (3, 1)):
        conn.execute(
            text(
                "INSERT INTO orders (id, rx_number, patient_id, prescriber_id, drug,"
                " concentration_mcg_per_ml, vial_volume_ml, container, route, start_date, phases,"
                " days_supply, refills, indication, compounding_reason, notes, monitoring_tests, sig, status,"
                " status_reason, alerts, source, submitted_dt) VALUES (:id, :rx, 1, :by,"
                " 'cyanocobalamin', 1000, 10, 'multiple-dose', 'IM', '2026-01-05', :phases, 90,"
                " 1, '', 'shortage', '', '[]', '', 'verified', '', '[]', 'web',"
                " '2026-01-01 00:00:00')"
            ),
            {
                "id": order_id,
                "rx": str(100000 + order_id),
                "by": prescriber,
                "phases": json.dumps(
                    [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]
                ),
            },
        )


def _upgrade_with_v1_data(app) -> tuple[list[tuple], list[tuple]]:
    from flask_migrate import upgrade

    from pharmacy.extensions import db

    with app.app_context():
        upgrade(revision=V1)
        with db.engine.begin() as conn:
            _v1_rows(conn)
        upgrade(revision="v2_patients_allergies")
        with db.engine.connect() as conn:
            entries = conn.execute(
                text(
                    "SELECT patient_id, prescriber_id, first_name, mrn, allergies, phone"
                    " FROM patient_entries ORDER BY prescriber_id"
                )
            ).all()
            patients = conn.execute(
                text("SELECT id, mrn, allergies, phone, address FROM patients")
            ).all()
        db.engine.dispose()
    return [tuple(r) for r in entries], [tuple(r) for r in patients]


EXPECTED = (
    [(1, 1, "Ada", "A-1", "cobalt", ""), (1, 2, "Ada", None, "", "")],
    [(1, "A-1", "cobalt", "", "")],
)


def test_sqlite_v1_patients_get_entries(tmp_path):
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'v1.sqlite3'}", tmp_path)
    assert _upgrade_with_v1_data(app) == EXPECTED


@pytest.mark.pg
def test_postgresql_v1_patients_get_entries(tmp_path):
    from tests.conftest import _make_app, empty_pg_database

    with empty_pg_database() as url:
        assert _upgrade_with_v1_data(_make_app(url, tmp_path)) == EXPECTED
