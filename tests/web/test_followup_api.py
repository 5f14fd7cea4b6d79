"""Therapy follow-up over the JSON API (SPEC 7.1-7.4), on SQLite (and PostgreSQL in tests/pg).

The scenario: an order written on 2026-11-28 for the high-dose regimen from 2026-12-01, 90-day
supply, one refill. Its checkpoints are 2027-01-05 (the day after the last weekly loading
dose, Jan 4) and 2027-04-05 (three months later, before the last planned dose, May 4).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Observation, OrderReview, SymptomReport
from tests.factories_orders import make_order

WRITTEN = datetime(2026, 11, 28, 15, tzinfo=UTC)
JAN_10 = datetime(2027, 1, 10, 15, tzinfo=UTC)


# The order written on WRITTEN starts on the SPEC 2.1 example date.
START = "2026-12-01"


def _order(app, **overrides) -> tuple[str, int]:
    with time_machine.travel(WRITTEN, tick=False), app.app_context():
        order = make_order(**{"start_date": START, **overrides})
        return order.rx_number, order.patient_id


@pytest.fixture
def scenario(app):
    return _order(app)


def _post(client, url, body, headers):
    return client.post(url, json=body, headers=headers)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


# --- 7.1 the order's clinical frame -------------------------------------------------------


def test_order_defaults_and_frame_round_trip(app, client, api):
    rx, _ = _order(app)
    with time_machine.travel(WRITTEN, tick=False):
        order = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    assert order["cause"] == "unknown"
    assert order["neurologic_symptoms"] is False
    assert order["monitoring"] == {"tests": ["b12", "cbc"], "interval_months": 3}
    rx2, _ = _order(
        app,
        patient__mrn="MRN-2002",
        patient__first_name="Grace",
        cause="dietary",
        neurologic_symptoms=True,
        monitoring={"tests": ["mma", "b12"], "interval_months": 6},
    )
    with time_machine.travel(WRITTEN, tick=False):
        order = client.get(f"/api/v1/orders/{rx2}", headers=api("pharmacist")).get_json()
    assert order["cause"] == "dietary"
    assert order["neurologic_symptoms"] is True
    assert order["monitoring"] == {"tests": ["b12", "mma"], "interval_months": 6}


def test_clinical_alerts(app, client, api):
    ended = [
        {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
        {"dose_mcg": 1000, "every": 1, "unit": "month", "count": 3},
    ]
    rx, _ = _order(app, cause="pernicious_anemia", phases=ended, neurologic_symptoms=True)
    with time_machine.travel(WRITTEN, tick=False):
        order = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    codes = {a["code"]: a["level"] for a in order["alerts"]}
    assert codes["maintenance_ends"] == "warning"
    assert "neurologic_loading" not in codes  # daily loading is often enough
    weekly = [
        {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
        {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
    ]
    rx2, _ = _order(app, phases=weekly, neurologic_symptoms=True, patient__mrn="MRN-77")
    with time_machine.travel(WRITTEN, tick=False):
        order = client.get(f"/api/v1/orders/{rx2}", headers=api("pharmacist")).get_json()
    codes = {a["code"]: a["level"] for a in order["alerts"]}
    assert codes["neurologic_loading"] == "info"
    assert "maintenance_ends" not in codes


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"cause": "stress"}, "cause"),
        ({"neurologic_symptoms": "yes"}, "neurologic_symptoms"),
        ({"monitoring": {"tests": ["b12", "ferritin"]}}, "monitoring.tests[1]"),
        ({"monitoring": {"tests": []}}, "monitoring.tests"),
        ({"monitoring": {"interval_months": 13}}, "monitoring.interval_months"),
        ({"monitoring": {"interval_months": 0}}, "monitoring.interval_months"),
        ({"monitoring": {"every": 3}}, "monitoring.every"),
        ({"monitoring": "quarterly"}, "monitoring"),
    ],
)
def test_order_frame_bad_input(app, client, api, override, field):
    from tests.factories_orders import order_body

    with time_machine.travel(WRITTEN, tick=False):
        response = client.post(
            "/api/v1/orders",
            json=order_body(**{"start_date": START, **override}),
            headers=api("prescriber"),
        )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


# --- 7.2 lab results ----------------------------------------------------------------------


def test_observation_conversion_flag_and_list(app, client, api, scenario):
    _, patient = scenario
    with time_machine.travel(JAN_10, tick=False):
        response = _post(
            client,
            f"/api/v1/patients/{patient}/observations",
            {"test": "b12", "value": 350, "unit": "pmol/L", "effective_date": "2027-01-08"},
            api("pharmacist"),
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["value"] == 474.25 and body["unit"] == "pg/mL"
        assert body["given_value"] == 350 and body["given_unit"] == "pmol/L"
        assert body["flag"] == "normal" and body["reference_range_source"] == "default"
        assert body["loinc"] == "2132-9"
        low = _post(
            client,
            f"/api/v1/patients/{patient}/observations",
            {
                "test": "hemoglobin",
                "value": "118",
                "unit": "g/L",
                "effective_date": "2027-01-08",
                "reference_low": 120,
                "reference_high": 160,
                "lab": "Quest",
            },
            api("prescriber"),
        )
        assert low.status_code == 201, low.get_json()
        data = low.get_json()
        assert data["value"] == 11.8 and data["flag"] == "low"
        assert data["reference_low"] == 12 and data["reference_high"] == 16
        assert data["reference_range_source"] == "given" and data["lab"] == "Quest"
        listed = client.get(
            f"/api/v1/patients/{patient}/observations", headers=api("technician")
        ).get_json()
        assert [o["test"] for o in listed["observations"]] == ["b12", "hemoglobin"]
        only = client.get(
            f"/api/v1/patients/{patient}/observations?test=b12", headers=api("prescriber")
        ).get_json()
        assert len(only["observations"]) == 1
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert actions.count("observation.recorded") == 2


def test_default_range_comes_from_settings(app, client, api, scenario):
    _, patient = scenario
    from pharmacy.services.settings import get_settings

    with app.app_context():
        get_settings().ref_b12_low_pg_ml = 300
        db.session.commit()
    with time_machine.travel(JAN_10, tick=False):
        response = _post(
            client,
            f"/api/v1/patients/{patient}/observations",
            {"test": "b12", "value": 250, "unit": "pg/mL", "effective_date": "2027-01-08"},
            api("pharmacist"),
        )
    assert response.get_json()["flag"] == "low"
    assert response.get_json()["reference_low"] == 300


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"test": "ferritin"}, "test"),
        ({"unit": "mg/dL"}, "unit"),
        ({"value": -5}, "value"),
        ({"value": 0}, "value"),
        ({"value": 10**9}, "value"),
        ({"value": "1e999999"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": True}, "value"),
        ({"effective_date": "2027-01-11"}, "effective_date"),
        ({"effective_date": "1950-01-01"}, "effective_date"),
        ({"effective_date": "2027-02-30"}, "effective_date"),
        ({"effective_date": "08/01/2027"}, "effective_date"),
        ({"reference_low": 900, "reference_high": 200}, "reference_low"),
        ({"reference_low": -1}, "reference_low"),
        ({"lab": "x" * 121}, "lab"),
        ({"colour": "red"}, "colour"),
        ({"test": None}, "test"),
    ],
)
def test_observation_bad_input(app, client, api, scenario, body, field):
    _, patient = scenario
    good = {"test": "b12", "value": 400, "unit": "pg/mL", "effective_date": "2027-01-08"}
    with time_machine.travel(JAN_10, tick=False):
        response = _post(
            client, f"/api/v1/patients/{patient}/observations", {**good, **body}, api("pharmacist")
        )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _count(app, Observation) == 0


def test_observation_access(app, client, api, scenario):
    _, patient = scenario
    body = {"test": "b12", "value": 400, "unit": "pg/mL", "effective_date": "2027-01-08"}
    url = f"/api/v1/patients/{patient}/observations"
    with time_machine.travel(JAN_10, tick=False):
        assert _post(client, url, body, api("prescriber2")).status_code == 404
        assert client.get(url, headers=api("prescriber2")).status_code == 404
        assert _post(client, url, body, api("admin")).status_code == 403
        assert client.get(url).status_code == 401
        assert (
            _post(
                client, "/api/v1/patients/999999/observations", body, api("pharmacist")
            ).status_code
            == 404
        )
        assert (
            _post(
                client, f"/api/v1/patients/{2**40}/observations", body, api("pharmacist")
            ).status_code
            == 404
        )
        bad = client.post(
            url, data="{", headers={**api("pharmacist"), "Content-Type": "application/json"}
        )
        assert bad.status_code == 400
    assert _count(app, Observation) == 0


# --- 7.3 symptom reports ------------------------------------------------------------------


def test_symptom_report_round_trip(app, client, api, scenario):
    _, patient = scenario
    url = f"/api/v1/patients/{patient}/symptom-reports"
    with time_machine.travel(JAN_10, tick=False):
        response = _post(
            client,
            url,
            {
                "date": "2027-01-10",
                "symptoms": {"fatigue": "better", "balance": "worse"},
                "note": "At pick-up",
            },
            api("pharmacist"),
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["symptoms"] == {"fatigue": "better", "balance": "worse"}
        assert body["worse"] is True and body["note"] == "At pick-up"
        visit = _post(
            client, url, {"date": "2027-01-09", "symptoms": {"memory": "same"}}, api("prescriber")
        )
        assert visit.status_code == 201
        listed = client.get(url, headers=api("technician")).get_json()["symptom_reports"]
    assert [r["date"] for r in listed] == ["2027-01-09", "2027-01-10"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symptoms": {"headache": "worse"}}, "symptoms.headache"),
        ({"symptoms": {"fatigue": "awful"}}, "symptoms.fatigue"),
        ({"symptoms": {}}, "symptoms"),
        ({"symptoms": ["fatigue"]}, "symptoms"),
        ({"date": "2027-01-11"}, "date"),
        ({"date": "1940-01-01"}, "date"),
        ({"date": None}, "date"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_symptom_report_bad_input(app, client, api, scenario, body, field):
    _, patient = scenario
    good = {"date": "2027-01-10", "symptoms": {"fatigue": "same"}}
    with time_machine.travel(JAN_10, tick=False):
        response = _post(
            client,
            f"/api/v1/patients/{patient}/symptom-reports",
            {**good, **body},
            api("pharmacist"),
        )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _count(app, SymptomReport) == 0


def test_symptom_report_roles(app, client, api, scenario):
    _, patient = scenario
    url = f"/api/v1/patients/{patient}/symptom-reports"
    body = {"date": "2027-01-10", "symptoms": {"fatigue": "same"}}
    with time_machine.travel(JAN_10, tick=False):
        assert _post(client, url, body, api("technician")).status_code == 403
        assert _post(client, url, body, api("prescriber2")).status_code == 404


# --- 7.4 checkpoints, reviews, follow-up --------------------------------------------------


def test_follow_up_checkpoints_turn_done(app, client, api, scenario):
    rx, patient = scenario
    with time_machine.travel(JAN_10, tick=False):
        before = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("pharmacist")).get_json()
        assert [(c["date"], c["status"]) for c in before["checkpoints"]] == [
            ("2027-01-05", "due"),
            ("2027-04-05", "upcoming"),
        ]
        assert before["checkpoints"][0]["tests"] == ["b12", "cbc"]
        assert before["pdc"] is None and before["reviews"] == []
        assert "next_fill" in before and "covered_through" in before
        assert "uncovered_doses" in before
        url = f"/api/v1/patients/{patient}/observations"
        _post(
            client,
            url,
            {"test": "b12", "value": 420, "unit": "pg/mL", "effective_date": "2027-01-06"},
            api("pharmacist"),
        )
        half = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("prescriber")).get_json()
        assert half["checkpoints"][0]["status"] == "due"  # the CBC is still missing
        mcv = _post(
            client,
            url,
            {"test": "mcv", "value": 92, "unit": "fL", "effective_date": "2027-01-07"},
            api("pharmacist"),
        ).get_json()
        after = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("pharmacist")).get_json()
    first = after["checkpoints"][0]
    assert first["status"] == "done"
    assert mcv["id"] in first["results"] and len(first["results"]) == 2
    assert (
        client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("prescriber2")).status_code == 404
    )


def test_reviews(app, client, api, scenario):
    rx, _ = scenario
    url = f"/api/v1/orders/{rx}/reviews"
    with time_machine.travel(JAN_10, tick=False):
        ok = _post(client, url, {"decision": "continue", "note": "B12 rising"}, api("prescriber"))
        assert ok.status_code == 201, ok.get_json()
        assert ok.get_json()["decision"] == "continue"
        assert _post(client, url, {"decision": "pause"}, api("prescriber")).status_code == 422
        assert (
            "decision"
            in _post(client, url, {"decision": "pause"}, api("prescriber")).get_json()["error"][
                "fields"
            ]
        )
        assert (
            "note"
            in _post(client, url, {"decision": "stop"}, api("prescriber")).get_json()["error"][
                "fields"
            ]
        )
        assert _post(client, url, {"decision": "continue"}, api("prescriber2")).status_code == 404
        assert _post(client, url, {"decision": "continue"}, api("pharmacist")).status_code == 403
        stop = _post(client, url, {"decision": "stop", "note": "Cause treated"}, api("prescriber"))
        assert stop.status_code == 201
        again = _post(client, url, {"decision": "continue"}, api("prescriber"))
        assert again.status_code == 409
        follow = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("prescriber")).get_json()
    assert [r["decision"] for r in follow["reviews"]] == ["continue", "stop"]
    assert follow["therapy_stopped_on"] == "2027-01-10"
    assert _count(app, OrderReview) == 2


# --- FHIR Observation ---------------------------------------------------------------------


def _fhir_obs(patient: int, **overrides) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2027-01-08T09:30:00-05:00",
        "valueQuantity": {
            "value": 300,
            "unit": "pmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "pmol/L",
        },
        "referenceRange": [
            {
                "low": {"value": 150, "system": "http://unitsofmeasure.org", "code": "pmol/L"},
                "high": {"value": 650, "system": "http://unitsofmeasure.org", "code": "pmol/L"},
            }
        ],
        "performer": [{"display": "LabCorp"}],
    }
    resource.update(overrides)
    return resource


def test_fhir_observation_in_and_out(app, client, api, scenario):
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation as FhirObservation

    _, patient = scenario
    with time_machine.travel(JAN_10, tick=False):
        response = client.post(
            "/api/v1/fhir/Observation", json=_fhir_obs(patient), headers=api("pharmacist")
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.mimetype == "application/fhir+json"
        created = response.get_json()
        FhirObservation.parse_obj(created)
        assert created["valueQuantity"]["value"] == 406.5
        assert created["valueQuantity"]["code"] == "pg/mL"
        assert created["referenceRange"][0]["low"]["value"] == 203.25
        assert created["interpretation"][0]["coding"][0]["code"] == "N"
        assert created["effectiveDateTime"] == "2027-01-08"
        client.post(
            f"/api/v1/patients/{patient}/observations",
            json={"test": "mma", "value": 0.52, "unit": "umol/L", "effective_date": "2027-01-08"},
            headers=api("pharmacist"),
        )
        bundle = client.get(
            f"/api/v1/fhir/Observation?patient={patient}", headers=api("prescriber")
        )
    assert bundle.status_code == 200
    data = bundle.get_json()
    Bundle.parse_obj(data)
    assert data["type"] == "searchset" and data["total"] == 2
    mma = data["entry"][1]["resource"]
    assert mma["code"]["coding"][0]["code"] == "13964-8"
    assert mma["valueQuantity"] == {
        "value": 520,
        "unit": "nmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "nmol/L",
    }
    assert mma["interpretation"][0]["coding"][0]["code"] == "H"
    # A page at a time: the newest first page, the next link opens the older result.
    with time_machine.travel(JAN_10, tick=False):
        first = client.get(
            f"/api/v1/fhir/Observation?patient={patient}&limit=1", headers=api("prescriber")
        ).get_json()
        Bundle.parse_obj(first)
        assert first["total"] == 2 and len(first["entry"]) == 1
        links = {link["relation"]: link["url"] for link in first["link"]}
        assert first["entry"][0]["resource"]["code"]["coding"][0]["code"] == "13964-8"
        older = client.get(links["next"], headers=api("prescriber")).get_json()
        assert older["entry"][0]["resource"]["valueQuantity"]["code"] == "pg/mL"
        assert "previous" in {link["relation"] for link in older["link"]}
        bad = client.get(
            f"/api/v1/fhir/Observation?patient={patient}&before=nope", headers=api("prescriber")
        )
        assert bad.status_code == 422
        assert json.loads(bad.get_data())["resourceType"] == "OperationOutcome", bad.get_data()


@pytest.mark.parametrize(
    ("overrides", "expression"),
    [
        (
            {"code": {"coding": [{"system": "http://loinc.org", "code": "2276-4"}]}},
            "Observation.code.coding[0].code",
        ),
        ({"code": {"text": "B12"}}, "Observation.code"),
        ({"valueQuantity": None}, "Observation.valueQuantity"),
        ({"valueQuantity": {"value": 300}}, "Observation.valueQuantity.code"),
        ({"valueQuantity": {"value": 300, "code": "mg/dL"}}, "Observation.valueQuantity.code"),
        ({"valueQuantity": {"value": 10**9, "code": "pmol/L"}}, "Observation.valueQuantity.value"),
        ({"valueQuantity": {"value": -3, "code": "pmol/L"}}, "Observation.valueQuantity.value"),
        ({"effectiveDateTime": "2027-03-01"}, "Observation.effectiveDateTime"),
        ({"effectiveDateTime": "1900-03-01"}, "Observation.effectiveDateTime"),
        ({"effectiveDateTime": "2027-02-31"}, "Observation.effectiveDateTime"),
        ({"subject": {"reference": "Patient/999999"}}, "Observation.subject"),
        ({"subject": {"display": "Ada"}}, "Observation.subject"),
        ({"status": "cancelled"}, "Observation.status"),
        ({"resourceType": "Patient"}, "resourceType"),
    ],
)
def test_fhir_observation_bad_input(app, client, api, scenario, overrides, expression):
    _, patient = scenario
    resource = _fhir_obs(patient, **overrides)
    if overrides.get("valueQuantity", "") is None:
        del resource["valueQuantity"]
    with time_machine.travel(JAN_10, tick=False):
        response = client.post("/api/v1/fhir/Observation", json=resource, headers=api("pharmacist"))
    assert response.status_code == 422, response.get_data(as_text=True)
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    OperationOutcome.parse_obj(outcome)
    expressions = [e for issue in outcome["issue"] for e in issue["expression"]]
    assert expression in expressions
    assert _count(app, Observation) == 0


def test_fhir_observation_search_needs_patient(app, client, api, scenario):
    _, patient = scenario
    with time_machine.travel(JAN_10, tick=False):
        url = "/api/v1/fhir/Observation"
        assert client.get(url, headers=api("pharmacist")).status_code == 422
        assert client.get(f"{url}?patient=abc", headers=api("pharmacist")).status_code == 422
        mine = client.get(f"{url}?patient={patient}", headers=api("prescriber2"))
        assert mine.status_code == 404
        other = client.post(url, json=_fhir_obs(patient), headers=api("prescriber2"))
    assert other.status_code == 422
    assert _count(app, Observation) == 0


def test_follow_up_next_fill_after_verification(app, client, api, scenario):
    rx, _ = scenario
    with time_machine.travel(WRITTEN, tick=False):
        verified = client.post(
            f"/api/v1/orders/{rx}/verify",
            json={
                "decision": "approve",
                "acknowledgements": {"no_matching_formulation": "Master record in review"},
            },
            headers=api("pharmacist"),
        )
        assert verified.status_code == 200, verified.get_json()
        follow = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("pharmacist")).get_json()
    assert follow["next_fill"]["fill_number"] == 0
    assert follow["next_fill"]["due_by"] == "2026-12-01"
    assert follow["covered_through"] is None
    assert follow["uncovered_doses"] == []
