"""Vial serials (SPEC 6.1): FEFO then lowest serial, voids return exactly those serials,
trace and pages list them, and the migration gives version-1 fills their serials."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, FillVial, now_utc
from tests.factories_fills import make_batch, make_formulation, make_verified_order
from tests.web.test_fills import DAILY_5, post_fill, writing

DAILY_2 = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 2}]


def serials_of(body: dict) -> list[tuple[str, list[int]]]:
    return [(a["batch_lot"], a["serials"]) for a in body["allocations"]]


def test_fill_takes_fefo_then_lowest_serials(app, client, api):
    with writing(app):
        formulation = make_formulation()
        big = make_batch(formulation, vials=10, bud_dt=now_utc() + timedelta(days=50))
        small = make_batch(formulation, vials=2, bud_dt=now_utc() + timedelta(days=30))
        rx = make_verified_order(phases=DAILY_5).rx_number
        big_lot, small_lot = big.lot_number, small.lot_number
    body = post_fill(client, api, rx).get_json()
    assert serials_of(body) == [(small_lot, [1, 2]), (big_lot, [1, 2, 3])]
    again = client.get(f"/api/v1/fills/{body['id']}", headers=api("technician")).get_json()
    assert serials_of(again) == serials_of(body)


def test_void_returns_exactly_its_serials_and_the_next_fill_takes_the_lowest(app, client, api):
    with writing(app):
        batch = make_batch(vials=10)
        lot = batch.lot_number
        first, second, third = (make_verified_order(phases=DAILY_2).rx_number for _ in range(3))
    a = post_fill(client, api, first).get_json()
    b = post_fill(client, api, second).get_json()
    assert serials_of(a) == [(lot, [1, 2])]
    assert serials_of(b) == [(lot, [3, 4])]
    voided = client.post(
        f"/api/v1/fills/{a['id']}/void", json={"reason": "wrong patient"}, headers=api("technician")
    ).get_json()
    # The voided fill still names the serials it took; they are back on the shelf.
    assert serials_of(voided) == [(lot, [1, 2])]
    c = post_fill(client, api, third).get_json()
    assert serials_of(c) == [(lot, [1, 2])]
    with app.app_context():
        live = db.session.execute(
            select(FillVial.serial).where(FillVial.returned.is_(False)).order_by(FillVial.serial)
        ).scalars()
        assert list(live) == [1, 2, 3, 4]
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "fill.voided")
        ).scalar_one()
        assert event.after["returned"][0]["serials"] == [1, 2]


def test_trace_and_csv_list_each_fills_serials(app, client, api):
    with writing(app):
        batch = make_batch(vials=10)
        lot = batch.lot_number
        rx = make_verified_order(phases=DAILY_2).rx_number
    fill = post_fill(client, api, rx).get_json()
    trace = client.get(f"/api/v1/trace?batch_lot={lot}", headers=api("pharmacist")).get_json()
    [entry] = trace["fills"]
    assert entry["id"] == fill["id"]
    assert entry["serials"] == [{"batch_lot": lot, "serials": [1, 2]}]
    csv_text = client.get(
        f"/api/v1/trace?batch_lot={lot}&format=csv", headers=api("pharmacist")
    ).get_data(as_text=True)
    header, row = csv_text.splitlines()[:2]
    assert "serials" in header.split(",")
    assert f"{lot}/1 {lot}/2" in row


def test_fill_trace_and_batch_pages_show_serials(app, client, as_user, api):
    with writing(app):
        batch = make_batch(vials=10)
        lot = batch.lot_number
        rx = make_verified_order(phases=DAILY_5).rx_number
    fill = post_fill(client, api, rx).get_json()
    as_user("pharmacist")
    page = client.get(f"/fills/{fill['id']}").get_data(as_text=True)
    assert "#1-5" in page
    trace = client.get(f"/compounding/trace?batch_lot={lot}").get_data(as_text=True)
    assert "#1-5" in trace
    batch_page = client.get(f"/compounding/batches/{lot}").get_data(as_text=True)
    assert "#1-5" in batch_page and f"Rx {rx}" in batch_page


@pytest.mark.parametrize("serials", [[1, 2, 3, 7, 9, 10], [4], []])
def test_serial_ranges(serials):
    from pharmacy.domain.serials import serial_ranges

    expected = {6: "1-3, 7, 9-10", 1: "4", 0: ""}[len(serials)]
    assert serial_ranges(serials) == expected


# --- the migration upgrades version-1 data -------------------------------------------------


T0 = datetime(2026, 3, 1, 9)


def _insert(conn, table: str, **values) -> int:
    """Insert a version-1 row: the given values, and a plain value for every other NOT NULL."""
    for _, name, kind, notnull, default, pk in conn.execute(
        text(f"PRAGMA table_info({table})")
    ).all():
        if name in values or pk or not notnull or default is not None:
            continue
        kind = kind.upper()
        if kind.startswith(("INT", "NUMERIC", "BOOL")):
            values[name] = 1
        elif kind.startswith("DATETIME"):
            values[name] = T0
        elif kind.startswith("DATE"):
            values[name] = date(2026, 3, 1)
        elif kind.startswith("JSON"):
            values[name] = "[]"
        else:
            values[name] = f"{name}-{len(values)}"
    columns = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)
    return conn.execute(text(f"SELECT max(id) FROM {table}")).scalar_one()


def test_migration_gives_version_1_fills_serials_in_the_order_they_happened(tmp_path):
    from flask_migrate import upgrade

    from tests.conftest import _make_app

    path = tmp_path / "v1.sqlite3"
    app = _make_app(f"sqlite:///{path}", tmp_path)
    with app.app_context():
        upgrade(revision="6bcbaff10ca9")
        with db.engine.begin() as conn:
            user = _insert(conn, "users", username="tech", role="technician")
            formulation = _insert(conn, "formulations", code="CYA-1", drug="cyanocobalamin")
            batch = _insert(
                conn,
                "batches",
                lot_number="CY260301-01",
                formulation_id=formulation,
                vials=6,
                vials_available=2,
                compounded_by_id=None,
                released_by_id=None,
                status="released",
            )
            patient = _insert(conn, "patients", first_name="Ann", last_name="Lee")
            fills = []
            # A (2 vials) at 9:00, B at 10:00, A voided at 11:00, C at 12:00, D at 13:00:
            # A had 1-2, B 3-4, C takes 1-2 back, D 5-6.
            for hour, status, voided_hour in (
                (9, "voided", 11),
                (10, "allocated", None),
                (12, "dispensed", None),
                (13, "checked", None),
            ):
                order = _insert(
                    conn,
                    "orders",
                    rx_number=f"1000{hour}",
                    patient_id=patient,
                    prescriber_id=user,
                    verified_by_id=None,
                    status="verified",
                )
                fill = _insert(
                    conn,
                    "fills",
                    order_id=order,
                    fill_number=0,
                    status=status,
                    vials=2,
                    created_by_id=None,
                    checked_by_id=None,
                    dispensed_by_id=None,
                    created_dt=T0.replace(hour=hour),
                    voided_dt=T0.replace(hour=voided_hour) if voided_hour else None,
                )
                _insert(conn, "fill_allocations", fill_id=fill, batch_id=batch, vials=2)
                fills.append(fill)
        upgrade()
        rows = db.session.execute(
            text(
                "SELECT a.fill_id, v.serial, v.returned FROM fill_vials v"
                " JOIN fill_allocations a ON a.id = v.allocation_id ORDER BY a.fill_id, v.serial"
            )
        ).all()
        db.session.remove()
        db.engine.dispose()
    a, b, c, d = fills
    assert [(f, s, bool(r)) for f, s, r in rows] == [
        (a, 1, True),
        (a, 2, True),
        (b, 3, False),
        (b, 4, False),
        (c, 1, False),
        (c, 2, False),
        (d, 5, False),
        (d, 6, False),
    ]
