"""Ingredient lots through the API: receive, release against spec, reject, list (SPEC 2.6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, IngredientLot
from tests import clock

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive

FUTURE = (clock.today() + timedelta(days=400)).isoformat()


def lot_body(**changes):
    data = {
        "component": "Cyanocobalamin",
        "manufacturer": "Fagron",
        "lot": "FG-2291",
        "expiry": FUTURE,
        "quantity": 10,
        "unit": "g",
        "assay_percent": 98.5,
        "lod_percent": 8.0,
        "coa_reference": "COA-FG-2291",
    }
    data.update(changes)
    return data


def receive(client, api, **changes):
    response = client.post(
        "/api/v1/ingredient-lots", json=lot_body(**changes), headers=api("technician")
    )
    assert response.status_code == 201, response.json
    return response.json


def test_technician_receives_into_quarantine(client, api):
    data = receive(client, api)
    assert data["status"] == "quarantine"
    assert isinstance(data["id"], int)
    assert data["quantity_on_hand"] == 10 and data["unit"] == "g"
    assert data["is_active"] is True


def test_month_only_expiry_is_month_end(app, client, api):
    year = clock.today().year + 2
    data = receive(client, api, expiry=f"{year}-02")
    assert data["expiry"] == f"{year}-02"
    assert data["expiry_date"] == (date(year, 3, 1) - timedelta(days=1)).isoformat()


def test_prescriber_cannot_receive(client, api):
    response = client.post("/api/v1/ingredient-lots", json=lot_body(), headers=api("prescriber"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"component": ""}, "component"),
        ({"manufacturer": None}, "manufacturer"),
        ({"lot": 12}, "lot"),
        ({"expiry": "2027/03"}, "expiry"),
        ({"expiry": "2027-13"}, "expiry"),
        ({"expiry": "2020-01-01"}, "expiry"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"unit": "kg"}, "unit"),
        ({"lod_percent": 100}, "lod_percent"),
        ({"assay_percent": -1}, "assay_percent"),
    ],
)
def test_bad_lot_names_field(app, client, api, changes, field):
    response = client.post(
        "/api/v1/ingredient-lots", json=lot_body(**changes), headers=api("technician")
    )
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(IngredientLot.id))).scalar() == 0


def test_pharmacist_releases_in_spec_lot(app, client, api):
    lot = receive(client, api)
    response = client.post(
        f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("pharmacist")
    )
    assert response.status_code == 200
    assert response.json["status"] == "released"
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert {"ingredient_lot.received", "ingredient_lot.released"} <= set(actions)


def test_technician_cannot_release(client, api):
    lot = receive(client, api)
    response = client.post(
        f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("technician")
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"assay_percent": 95.9}, "assay_percent"),
        ({"assay_percent": 102.1}, "assay_percent"),
        ({"lod_percent": 12.1}, "lod_percent"),
        ({"assay_percent": None}, "assay_percent"),
        ({"coa_reference": ""}, "coa_reference"),
    ],
)
def test_out_of_spec_lot_refused_at_release(app, client, api, changes, field):
    lot = receive(client, api, **changes)
    response = client.post(
        f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("pharmacist")
    )
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    with app.app_context():
        assert db.session.get(IngredientLot, lot["id"]).status == "quarantine"


def test_excipient_released_without_assay(client, api):
    lot = receive(client, api, component="Sodium chloride", assay_percent=None, lod_percent=None)
    assert lot["is_active"] is False
    response = client.post(
        f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("pharmacist")
    )
    assert response.status_code == 200


def test_release_twice_is_409(client, api):
    lot = receive(client, api)
    client.post(f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("pharmacist"))
    response = client.post(
        f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("pharmacist")
    )
    assert response.status_code == 409


def test_reject_needs_reason_then_blocks_release(client, api):
    lot = receive(client, api)
    url = f"/api/v1/ingredient-lots/{lot['id']}/reject"
    missing = client.post(url, json={}, headers=api("pharmacist"))
    assert missing.status_code == 422 and "reason" in missing.json["error"]["fields"]
    rejected = client.post(url, json={"reason": "Damaged container"}, headers=api("pharmacist"))
    assert rejected.json["status"] == "rejected"
    assert rejected.json["status_reason"] == "Damaged container"
    again = client.post(f"/api/v1/ingredient-lots/{lot['id']}/release", headers=api("pharmacist"))
    assert again.status_code == 409


def test_unknown_lot_is_404(client, api):
    assert (
        client.post("/api/v1/ingredient-lots/999/release", headers=api("pharmacist")).status_code
        == 404
    )


def test_list_filters(client, api):
    receive(client, api)
    receive(client, api, component="Sodium chloride", lot="NACL-1")
    everything = client.get("/api/v1/ingredient-lots", headers=api("technician")).json
    assert len(everything["ingredient_lots"]) == 2
    assert all("quantity_on_hand" in lot for lot in everything["ingredient_lots"])
    salt = client.get(
        "/api/v1/ingredient-lots?component=sodium chloride", headers=api("technician")
    ).json["ingredient_lots"]
    assert [lot["lot"] for lot in salt] == ["NACL-1"]
    released = client.get(
        "/api/v1/ingredient-lots?status=released", headers=api("technician")
    ).json["ingredient_lots"]
    assert released == []
