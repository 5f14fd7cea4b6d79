"""Trace and recall: an ingredient lot to its batches, fills, patients and prescribers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, IngredientLot, Recall, now_utc
from pharmacy.services import fills as fills_service
from tests.factories import user, writing
from tests.factories_fills import (
    make_batch,
    make_formulation,
    make_ingredient_lot,
    make_patient,
    make_verified_order,
)

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


@pytest.fixture
def traced(app):
    """One ingredient lot in two batches; three fills for two patients (one twice)."""
    with writing(app):
        lot = make_ingredient_lot()
        other_lot = make_ingredient_lot()
        formulation = make_formulation()
        first = make_batch(
            formulation, vials=1, bud_dt=now_utc() + timedelta(days=20), ingredient_lots=[lot]
        )
        second = make_batch(
            formulation,
            vials=5,
            bud_dt=now_utc() + timedelta(days=30),
            ingredient_lots=[lot, other_lot],
        )
        unrelated = make_batch(make_formulation(vial_volume_ml=2), ingredient_lots=[other_lot])
        ann = make_patient(first_name="Ann", last_name="Lee")
        bob = make_patient(first_name="Bob", last_name="Ray")
        tech = user("technician")
        orders = [
            make_verified_order(ann),
            make_verified_order(ann, prescriber="prescriber2"),
            make_verified_order(bob),
        ]
        fills = [fills_service.allocate_fill(o, tech, fills_service.local_today()) for o in orders]
        data = {
            "lot_id": lot.id,
            "first": first.lot_number,
            "second": second.lot_number,
            "unrelated": unrelated.lot_number,
            "fill_ids": [f.id for f in fills],
            "rx": [o.rx_number for o in orders],
        }
    return data


def test_trace_ingredient_lot_lists_each_patient_once(client, api, traced):
    response = client.get(
        f"/api/v1/trace?ingredient_lot={traced['lot_id']}", headers=api("pharmacist")
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [b["lot_number"] for b in body["batches"]] == [traced["first"], traced["second"]]
    assert all(b["status"] == "released" for b in body["batches"])
    assert sorted(f["id"] for f in body["fills"]) == sorted(traced["fill_ids"])
    assert sorted(p["name"] for p in body["patients"]) == ["Ann Lee", "Bob Ray"]
    names = sorted(p["name"] for p in body["prescribers"])
    assert names == ["Dr. Maya Chen", "Dr. Omar Haddad"]
    assert {p["npi"] for p in body["prescribers"]} == {"1234567893", "1245319599"}
    assert body["ingredient_lot"]["id"] == traced["lot_id"]


def test_trace_batch_lot_and_csv(client, api, traced):
    body = client.get(
        f"/api/v1/trace?batch_lot={traced['first']}", headers=api("pharmacist")
    ).get_json()
    assert [b["lot_number"] for b in body["batches"]] == [traced["first"]]
    assert len(body["fills"]) == 1
    response = client.get(
        f"/api/v1/trace?ingredient_lot={traced['lot_id']}&format=csv", headers=api("pharmacist")
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3
    assert sorted(r["rx_number"] for r in rows) == sorted(traced["rx"])
    assert {r["patient_name"] for r in rows} == {"Ann Lee", "Bob Ray"}


def test_recall_marks_batches_and_they_are_not_allocated_again(app, client, api, traced):
    response = client.post(
        "/api/v1/recalls",
        json={"ingredient_lot": traced["lot_id"], "reason": "Supplier recall of lot"},
        headers=api("pharmacist"),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert sorted(p["name"] for p in body["patients"]) == ["Ann Lee", "Bob Ray"]
    assert all(b["status"] == "recalled" for b in body["batches"])
    with app.app_context():
        statuses = dict(db.session.execute(select(Batch.lot_number, Batch.status)).all())
        assert statuses[traced["first"]] == statuses[traced["second"]] == "recalled"
        assert statuses[traced["unrelated"]] == "released"
        assert db.session.get(IngredientLot, traced["lot_id"]).status == "recalled"
        recall = db.session.execute(select(Recall)).scalar_one()
        assert recall.reason == "Supplier recall of lot"
        assert len(recall.result["fills"]) == 3
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
        assert actions.count("batch.recalled") == 2 and "recall.created" in actions
    # The second batch still has vials on the shelf, but they are recalled now.
    with writing(app):
        rx = make_verified_order().rx_number
    fill = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    assert fill.status_code == 409
    again = client.post(
        "/api/v1/recalls",
        json={"ingredient_lot": traced["lot_id"], "reason": "again"},
        headers=api("pharmacist"),
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "query, status",
    [
        ("", 422),
        ("?ingredient_lot=1&batch_lot=X", 422),
        ("?ingredient_lot=abc", 422),
        ("?ingredient_lot=99999", 404),
        ("?batch_lot=NOPE-1", 404),
        ("?batch_lot=X&format=pdf", 422),
    ],
)
def test_trace_bad_input(client, api, query, status):
    response = client.get(f"/api/v1/trace{query}", headers=api("pharmacist"))
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_recall_bad_input(client, api, traced):
    headers = api("pharmacist")
    no_reason = client.post("/api/v1/recalls", json={"batch_lot": traced["first"]}, headers=headers)
    assert no_reason.status_code == 422
    assert "reason" in no_reason.get_json()["error"]["fields"]
    neither = client.post("/api/v1/recalls", json={"reason": "x"}, headers=headers)
    assert neither.status_code == 422
    unknown = client.post(
        "/api/v1/recalls", json={"batch_lot": "NOPE", "reason": "x"}, headers=headers
    )
    assert unknown.status_code == 404
    assert (
        client.post(
            "/api/v1/recalls",
            json={"batch_lot": traced["first"], "reason": "x"},
            headers=api("technician"),
        ).status_code
        == 403
    )


def test_trace_page_and_recall_form(app, as_user, traced):
    client = as_user("pharmacist")
    empty = client.get("/compounding/trace")
    assert empty.status_code == 200
    assert b"Trace ingredient lot" in empty.data
    page = client.get(f"/compounding/trace?ingredient_lot={traced['lot_id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ann Lee" in html and "Bob Ray" in html and html.count("<tr><td>Ann Lee</td>") == 1
    assert traced["first"] in html and "Download CSV" in html
    assert "format=csv" in html
    missing_reason = client.post(
        "/compounding/recall", data={"batch_lot": traced["first"], "reason": ""}
    )
    assert missing_reason.status_code == 302
    response = client.post(
        "/compounding/recall",
        data={"batch_lot": traced["first"], "reason": "Particulates seen"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Recalled 1 batch" in response.get_data(as_text=True)
    with app.app_context():
        status = db.session.execute(
            select(Batch.status).where(Batch.lot_number == traced["first"])
        ).scalar()
    assert status == "recalled"
    assert client.get("/compounding/trace?ingredient_lot=99999").status_code == 404
    assert as_user("technician").get("/compounding/trace").status_code == 403
