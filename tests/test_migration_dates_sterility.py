"""The dates-and-sterility migration upgrades a database holding version-1 batches (SPEC 5.3, 5.6).

A version-1 sterility result keeps its recording time as its completion time; a pending one
stays without; the settings get the SPEC's defaults (7 days back, 30 days, 14 days).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

V1 = "6bcbaff10ca9"
REVISION = "v2_dates_sterility"


def _v1_rows(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO formulations (id, code, version, name, drug, concentration_mcg_per_ml,"
            " vial_volume_ml, container, overfill_ml, category, sterilization, sterility_tested,"
            " nonsterile_components, storage, protect_from_light, in_use_days, status,"
            " created_dt) VALUES (1, 'CY-10', 1, 'Cyanocobalamin 10 mL', 'cyanocobalamin',"
            " 1000, 10, 'multiple-dose', 0.5, 2, 'terminal', true, true, 'refrigerated', true,"
            " 28, 'active', '2026-01-01 00:00:00')"
        )
    )
    for i, (result, recorded) in enumerate(
        (("passed", "2026-01-16 10:00:00"), ("pending", None), (None, None)), start=1
    ):
        conn.execute(
            text(
                "INSERT INTO batches (id, lot_number, formulation_id, vials, vials_available,"
                " compounded_dt, bud_dt, bud_limited_by, bud_rule, status, status_reason,"
                " sterility_test, sterility_recorded_dt, created_dt) VALUES (:id, :lot, 1, 10,"
                " 10, '2026-01-01 09:00:00', '2026-03-02 09:00:00', 'usp797', '', 'quarantine',"
                " '', :result, :recorded, '2026-01-01 09:00:00')"
            ),
            {"id": i, "lot": f"CY260101-0{i}", "result": result, "recorded": recorded},
        )


def _upgrade_with_v1_data(app) -> tuple[list[tuple], tuple]:
    from flask_migrate import upgrade

    from pharmacy.extensions import db

    with app.app_context():
        upgrade(revision=V1)
        with db.engine.begin() as conn:
            _v1_rows(conn)
        upgrade(revision=REVISION)
        with db.engine.connect() as conn:
            batches = conn.execute(
                text(
                    "SELECT sterility_test, sterility_completed_dt, sterility_reference,"
                    " sterility_recorded_by_id FROM batches ORDER BY id"
                )
            ).all()
            settings = conn.execute(
                text(
                    "SELECT max_backdate_days, max_compounded_age_days, sterility_incubation_days"
                    " FROM pharmacy_settings"
                )
            ).one()
        db.engine.dispose()
    rows = [(t, str(c)[:16] if c is not None else None, r, by) for t, c, r, by in batches]
    return rows, tuple(settings)


EXPECTED = (
    [
        ("passed", "2026-01-16 10:00", "", None),
        ("pending", None, "", None),
        (None, None, "", None),
    ],
    (7, 30, 14),
)


def test_sqlite_v1_batches_keep_their_results(tmp_path):
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'v1.sqlite3'}", tmp_path)
    assert _upgrade_with_v1_data(app) == EXPECTED


@pytest.mark.pg
def test_postgresql_v1_batches_keep_their_results(tmp_path):
    from tests.conftest import _make_app, empty_pg_database

    with empty_pg_database() as url:
        assert _upgrade_with_v1_data(_make_app(url, tmp_path)) == EXPECTED
