"""Master formulation records through the API: create, read, version, retire (SPEC 2.5, 3)."""

from __future__ import annotations

import copy

import pytest

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Formulation
from tests.factories_stock import make_batch

MDV10 = {
    "code": "CYB-MDV10",
    "name": "Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
    "drug": "cyanocobalamin",
    "concentration_mcg_per_ml": 1000,
    "vial_volume_ml": 10,
    "container": "multiple-dose",
    "overfill_ml": 0.5,
    "category": 2,
    "sterilization": "terminal",
    "sterility_tested": True,
    "nonsterile_components": True,
    "storage": "refrigerated",
    "protect_from_light": True,
    "in_use_days": 28,
    "gtin": "00312345678906",
    "ingredients": [
        {"component": "Cyanocobalamin", "amount": 1000, "unit": "mcg/mL", "active": True},
        {"component": "Benzyl alcohol", "amount": 1.5, "unit": "% v/v", "active": False},
        {"component": "Sodium chloride", "amount": 0.9, "unit": "% w/v", "active": False},
        {"component": "Water for injection", "unit": "q.s.", "active": False},
    ],
}


def body(**changes):
    data = copy.deepcopy(MDV10)
    data.update(changes)
    return data


def test_pharmacist_creates_and_reads_formulation(client, api):
    response = client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    assert response.status_code == 201, response.json
    data = response.json
    assert data["code"] == "CYB-MDV10"
    assert data["version"] == 1 and data["status"] == "active"
    assert data["overfill_ml"] == 0.5
    assert next(i["component"] for i in data["ingredients"]) == "Cyanocobalamin"
    assert data["gtin"] == "00312345678906"

    got = client.get("/api/v1/formulations/CYB-MDV10", headers=api("technician"))
    assert got.status_code == 200
    assert got.json["versions"] == [{"version": 1, "status": "active", "id": data["id"]}]
    listed = client.get("/api/v1/formulations", headers=api("technician")).json["formulations"]
    assert [f["code"] for f in listed] == ["CYB-MDV10"]


def test_formulation_audited(app, client, api):
    client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert "formulation.created" in actions


@pytest.mark.parametrize(
    "username, status", [("technician", 403), ("prescriber", 403), ("admin", 403)]
)
def test_only_pharmacist_writes(client, api, username, status):
    response = client.post("/api/v1/formulations", json=body(), headers=api(username))
    assert response.status_code == status


def test_prescriber_cannot_read(client, api):
    assert client.get("/api/v1/formulations", headers=api("prescriber")).status_code == 403


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/formulations").status_code == 401


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"code": "bad code"}, "code"),
        ({"container": "ampoule"}, "container"),
        ({"vial_volume_ml": 50}, "vial_volume_ml"),
        ({"category": 1}, "category"),
        ({"gtin": "00312345678907"}, "gtin"),
        ({"storage": "warm"}, "storage"),
        ({"ingredients": []}, "ingredients"),
        ({"concentration_mcg_per_ml": 500}, "ingredients[0].amount"),
    ],
)
def test_invalid_body_names_field(client, api, changes, field):
    response = client.post("/api/v1/formulations", json=body(**changes), headers=api("pharmacist"))
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_multiple_dose_needs_preservative(client, api):
    data = body()
    data["ingredients"] = [i for i in data["ingredients"] if i["component"] != "Benzyl alcohol"]
    response = client.post("/api/v1/formulations", json=data, headers=api("pharmacist"))
    assert response.status_code == 422
    assert "preservative" in response.json["error"]["fields"]["ingredients"]


def test_malformed_json_is_400(client, api):
    response = client.post(
        "/api/v1/formulations",
        data="{nope",
        headers={**api("pharmacist"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_duplicate_code_is_409(client, api):
    client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    response = client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    assert response.status_code == 409
    assert "code" in response.json["error"]["fields"]


def test_unknown_code_is_404(client, api):
    assert client.get("/api/v1/formulations/NOPE", headers=api("pharmacist")).status_code == 404


def test_edit_unused_updates_in_place(app, client, api):
    client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    response = client.put(
        "/api/v1/formulations/CYB-MDV10", json=body(name="Renamed"), headers=api("pharmacist")
    )
    assert response.status_code == 200
    assert response.json["version"] == 1 and response.json["name"] == "Renamed"
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Formulation.id))).scalar() == 1


def test_edit_used_formulation_creates_new_version(app, client, api):
    created = client.post("/api/v1/formulations", json=body(), headers=api("pharmacist")).json
    with app.app_context():
        formulation = db.session.get(Formulation, created["id"])
        batch = make_batch(formulation=formulation)
        batch_id = batch.id
    response = client.put(
        "/api/v1/formulations/CYB-MDV10", json=body(storage="room"), headers=api("pharmacist")
    )
    assert response.status_code == 200
    assert response.json["version"] == 2 and response.json["storage"] == "room"
    assert response.json["id"] != created["id"]
    with app.app_context():
        from pharmacy.models import Batch

        old = db.session.get(Formulation, created["id"])
        assert old.status == "superseded" and old.storage == "refrigerated"
        assert db.session.get(Batch, batch_id).formulation_id == created["id"]
    listed = client.get("/api/v1/formulations", headers=api("pharmacist")).json["formulations"]
    assert [(f["code"], f["version"]) for f in listed] == [("CYB-MDV10", 2)]
    detail = client.get("/api/v1/formulations/CYB-MDV10", headers=api("pharmacist")).json
    assert [v["version"] for v in detail["versions"]] == [2, 1]


def test_edit_cannot_change_code(client, api):
    client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    response = client.put(
        "/api/v1/formulations/CYB-MDV10", json=body(code="OTHER"), headers=api("pharmacist")
    )
    assert response.status_code == 422
    assert "code" in response.json["error"]["fields"]


def test_retire_and_activate(client, api):
    client.post("/api/v1/formulations", json=body(), headers=api("pharmacist"))
    retired = client.post("/api/v1/formulations/CYB-MDV10/retire", headers=api("pharmacist"))
    assert retired.status_code == 200 and retired.json["status"] == "retired"
    assert client.get("/api/v1/formulations", headers=api("pharmacist")).json["formulations"] == []
    everything = client.get("/api/v1/formulations?all=1", headers=api("pharmacist")).json
    assert [f["status"] for f in everything["formulations"]] == ["retired"]
    again = client.post("/api/v1/formulations/CYB-MDV10/retire", headers=api("pharmacist"))
    assert again.status_code == 409
    active = client.post("/api/v1/formulations/CYB-MDV10/activate", headers=api("pharmacist"))
    assert active.json["status"] == "active"


def test_procedure_and_equipment_round_trip_and_version(app, client, api):
    steps = ["Sanitize the ISO 5 workbench.", "Weigh the active; record the amount."]
    response = client.post(
        "/api/v1/formulations",
        json=body(procedure=steps, equipment=["Analytical balance (0.1 mg)"]),
        headers=api("pharmacist"),
    )
    assert response.status_code == 201, response.json
    assert response.json["procedure"] == steps
    assert response.json["equipment"] == ["Analytical balance (0.1 mg)"]
    # Without them: empty lists, not an error (formulations made before keep working).
    bare = client.post(
        "/api/v1/formulations", json=body(code="CYB-BARE"), headers=api("pharmacist")
    )
    assert bare.json["procedure"] == [] and bare.json["equipment"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"procedure": "one step"}, "procedure"),
        ({"procedure": ["ok", ""]}, "procedure[1]"),
        ({"equipment": [12]}, "equipment[0]"),
        ({"equipment": ["x" * 501]}, "equipment[0]"),
        ({"procedure": ["step"] * 61}, "procedure"),
    ],
)
def test_bad_procedure_or_equipment_names_the_line(client, api, changes, field):
    response = client.post("/api/v1/formulations", json=body(**changes), headers=api("pharmacist"))
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
