"""``/api/v1/fhir/MedicationRequest``: import, export, round trip and OperationOutcome errors."""

from __future__ import annotations

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import Order
from tests import clock
from tests.factories_orders import order_body
from tests.unit.test_fhir_mapping import three_phase_request as _three_phase_request


def three_phase_request() -> dict:
    """Return the three-phase MedicationRequest starting today (SPEC 5.3 start window)."""
    return _three_phase_request(start=clock.today().isoformat())


FIELDS = (
    "drug",
    "concentration_mcg_per_ml",
    "vial_volume_ml",
    "container",
    "route",
    "start_date",
    "phases",
    "days_supply",
    "refills",
    "indication",
    "compounding_reason",
    "notes",
    "sig",
)


def post_fhir(client, api, resource, username="prescriber"):
    return client.post("/api/v1/fhir/MedicationRequest", json=resource, headers=api(username))


def order_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(Order.id))).scalar_one()


def test_export_validates_and_posting_it_back_creates_an_equal_order(client, api):
    created = client.post(
        "/api/v1/orders", json=order_body(notes="Call first"), headers=api("prescriber")
    ).get_json()
    response = client.get(
        f"/api/v1/fhir/MedicationRequest/{created['rx_number']}", headers=api("prescriber")
    )
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    resource = response.get_json(force=True)
    MedicationRequest.parse_obj(resource)
    again = post_fhir(client, api, resource)
    assert again.status_code == 201, again.get_data(as_text=True)
    MedicationRequest.parse_obj(again.get_json(force=True))
    new_rx = again.get_json(force=True)["id"]
    assert new_rx != created["rx_number"]
    copy = client.get(f"/api/v1/orders/{new_rx}", headers=api("prescriber")).get_json()
    for field in FIELDS:
        assert copy[field] == created[field], field
    assert copy["patient"] == created["patient"]
    assert copy["plan"] == created["plan"] and copy["source"] == "fhir"


def test_three_phase_request_imports_to_the_json_order_plan(client, api):
    from_json = client.post(
        "/api/v1/orders", json=order_body(), headers=api("prescriber")
    ).get_json()
    response = post_fhir(client, api, three_phase_request())
    assert response.status_code == 201, response.get_data(as_text=True)
    rx = response.get_json(force=True)["id"]
    from_fhir = client.get(f"/api/v1/orders/{rx}", headers=api("prescriber")).get_json()
    assert from_fhir["phases"] == from_json["phases"]
    assert from_fhir["plan"] == from_json["plan"]
    assert from_fhir["patient"]["id"] == from_json["patient"]["id"]  # found by MRN


def test_patient_by_identifier(client, api):
    client.post("/api/v1/orders", json=order_body(), headers=api("prescriber"))
    resource = three_phase_request()
    resource["subject"] = {"identifier": {"value": "MRN-1001"}}
    assert post_fhir(client, api, resource).status_code == 201
    resource["subject"] = {"identifier": {"value": "MRN-UNKNOWN"}}
    response = post_fhir(client, api, resource)
    assert response.status_code == 422
    assert response.get_json(force=True)["issue"][0]["expression"] == [
        "MedicationRequest.subject.identifier"
    ]


def _expect_422(app, client, api, resource, expression):
    before = order_count(app)
    response = post_fhir(client, api, resource)
    assert response.status_code == 422, response.get_data(as_text=True)
    outcome = response.get_json(force=True)
    OperationOutcome.parse_obj(outcome)
    expressions = [e for issue in outcome["issue"] for e in issue["expression"]]
    assert expression in expressions, outcome
    assert order_count(app) == before


def test_not_a_medication_request(app, client, api):
    _expect_422(app, client, api, {"resourceType": "Patient"}, "resourceType")


def test_no_dosage(app, client, api):
    resource = three_phase_request()
    resource["dosageInstruction"] = []
    _expect_422(app, client, api, resource, "MedicationRequest.dosageInstruction")


def test_unconvertible_units(app, client, api):
    resource = three_phase_request()
    resource["dosageInstruction"][2]["doseAndRate"][0]["doseQuantity"] = {
        "value": 1,
        "code": "[iU]",
    }
    _expect_422(
        app,
        client,
        api,
        resource,
        "MedicationRequest.dosageInstruction[2].doseAndRate[0].doseQuantity",
    )


def test_another_medication(app, client, api):
    resource = three_phase_request()
    resource["contained"][1]["code"] = {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "6809",
                "display": "metformin",
            }
        ]
    }
    _expect_422(app, client, api, resource, "MedicationRequest.contained[1].code")


def test_order_rules_map_to_fhir_elements(app, client, api):
    resource = three_phase_request()
    resource["dispenseRequest"]["numberOfRepeatsAllowed"] = 12
    resource["contained"][0]["birthDate"] = "2999-01-01"
    resource["dosageInstruction"][2]["timing"]["repeat"]["count"] = 0
    before = order_count(app)
    outcome = post_fhir(client, api, resource).get_json(force=True)
    expressions = {e for issue in outcome["issue"] for e in issue["expression"]}
    assert {
        "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed",
        "MedicationRequest.contained[0].birthDate",
        "MedicationRequest.dosageInstruction[2].timing.repeat.count",
    } <= expressions
    assert order_count(app) == before


def test_iv_creates_an_order_with_a_stop_alert(client, api):
    resource = three_phase_request()
    for dosage in resource["dosageInstruction"]:
        dosage["route"] = {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]}
    response = post_fhir(client, api, resource)
    assert response.status_code == 201
    rx = response.get_json(force=True)["id"]
    order = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    assert order["alerts"][0]["code"] == "route_iv"


def test_roles_and_malformed_json(client, api):
    assert post_fhir(client, api, three_phase_request(), "pharmacist").status_code == 403
    response = client.post(
        "/api/v1/fhir/MedicationRequest",
        data="{",
        headers={**api("prescriber"), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 400
    assert (
        client.get("/api/v1/fhir/MedicationRequest/424242", headers=api("pharmacist")).status_code
        == 404
    )
