"""The patient page's therapy block (SPEC 7.8) and its forms, and the order form's clinical
frame (SPEC 7.1), through the Flask client."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine

from pharmacy.extensions import db
from pharmacy.models import Observation, Order, OrderReview, SymptomReport
from tests.factories_orders import make_order

WRITTEN = datetime(2026, 11, 28, 15, tzinfo=UTC)
JAN_10 = datetime(2027, 1, 10, 15, tzinfo=UTC)


def _order(app, **overrides):
    """Submit an order and mark it verified (the verification flow is tested elsewhere)."""
    with time_machine.travel(WRITTEN, tick=False), app.app_context():
        order = make_order(**overrides)
        order.status = "verified"
        order.verified_dt = WRITTEN
        db.session.commit()
        return order.rx_number, order.patient_id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_pharmacist_records_result_and_symptoms(app, client, as_user):
    _, patient = _order(app)
    with time_machine.travel(JAN_10, tick=False):
        as_user("pharmacist")
        page = client.get(f"/patients/{patient}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "<svg" in html and "trend-chart" in html and "No B12 results yet" in html
        assert 'data-status="due"' in html  # the Jan 5 checkpoint
        response = client.post(
            f"/patients/{patient}/observations",
            data={"test": "b12", "value": "150", "unit": "pmol/L", "effective_date": "2027-01-06"},
        )
        assert response.status_code == 302
        client.post(
            f"/patients/{patient}/observations",
            data={
                "test": "hemoglobin",
                "value": "13.1",
                "unit": "g/dL",
                "effective_date": "2027-01-06",
            },
        )
        response = client.post(
            f"/patients/{patient}/symptom-reports",
            data={
                "report_date": "2027-01-10",
                "symptom_fatigue": "better",
                "symptom_balance": "worse",
                "note": "Pick-up",
            },
        )
        assert response.status_code == 302
        html = client.get(f"/patients/{patient}").get_data(as_text=True)
    assert 'data-status="done"' in html
    assert "One B12 result: 203" in html  # 150 pmol/L x 1.355 = 203.25 pg/mL
    assert "symptom-worse" in html
    assert _count(app, Observation) == 2 and _count(app, SymptomReport) == 1


def test_form_errors_on_fields(app, client, as_user):
    _, patient = _order(app)
    with time_machine.travel(JAN_10, tick=False):
        as_user("pharmacist")
        response = client.post(
            f"/patients/{patient}/observations",
            data={
                "test": "b12",
                "value": "1000000000",
                "unit": "pg/mL",
                "effective_date": "2027-01-06",
            },
        )
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert 'id="value-error"' in html and "not a plausible" in html
        response = client.post(
            f"/patients/{patient}/observations",
            data={"test": "b12", "value": "300", "unit": "pg/mL", "effective_date": "2027-02-01"},
        )
        assert response.status_code == 422
        assert "in the future" in response.get_data(as_text=True)
        response = client.post(
            f"/patients/{patient}/symptom-reports",
            data={"report_date": "2027-01-10", "symptom_fatigue": "awful"},
        )
        assert response.status_code == 422
        assert "Unknown change" in response.get_data(as_text=True)
        response = client.post(
            f"/patients/{patient}/symptom-reports", data={"report_date": "2027-01-10"}
        )
        assert response.status_code == 422
        assert "at least one symptom" in response.get_data(as_text=True)
    assert _count(app, Observation) == 0 and _count(app, SymptomReport) == 0


def test_prescriber_sees_own_patient_and_reviews(app, client, as_user):
    rx, patient = _order(app)
    with time_machine.travel(JAN_10, tick=False):
        as_user("prescriber")
        page = client.get(f"/patients/{patient}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        # SPEC 5.7: a prescriber sees what they entered themselves (tests/web/
        # test_shared_patients.py: never what another prescriber entered).
        assert "MRN-1001" in html
        assert "Record review" in html
        response = client.post(
            f"/orders/{rx}/reviews", data={"decision": "continue", "note": "Going well"}
        )
        assert response.status_code == 302
        response = client.post(f"/orders/{rx}/reviews", data={"decision": "stop", "note": ""})
        assert response.status_code == 422
        assert "Say why therapy stops" in response.get_data(as_text=True)
    with time_machine.travel(JAN_10, tick=False):
        as_user("prescriber2")
        assert client.get(f"/patients/{patient}").status_code == 404
        assert (
            client.post(f"/orders/{rx}/reviews", data={"decision": "continue"}).status_code == 404
        )
        assert (
            client.post(
                f"/patients/{patient}/observations",
                data={
                    "test": "b12",
                    "value": "300",
                    "unit": "pg/mL",
                    "effective_date": "2027-01-06",
                },
            ).status_code
            == 404
        )
    assert _count(app, OrderReview) == 1


def test_order_form_clinical_frame(app, client, as_user):
    from tests.factories_orders import order_body

    body = order_body()
    data = {
        "patient_first_name": "Ada",
        "patient_last_name": "Lovelace",
        "patient_dob": "1960-05-04",
        "concentration_mcg_per_ml": "1000",
        "vial_volume_ml": "10",
        "container": "multiple-dose",
        "route": "IM",
        "start_date": body["start_date"],
        "days_supply": "90",
        "refills": "1",
        "indication": "Pernicious anaemia",
        "compounding_reason": body["compounding_reason"],
        "cause": "pernicious_anemia",
        "neurologic_symptoms": "y",
        "monitoring_tests": ["b12", "mma"],
        "monitoring_interval_months": "6",
    }
    for i, p in enumerate(body["phases"]):
        data[f"phases-{i}-dose_mcg"] = str(p["dose_mcg"])
        data[f"phases-{i}-every"] = str(p["every"])
        data[f"phases-{i}-unit"] = p["unit"]
        data[f"phases-{i}-count"] = "" if p["count"] is None else str(p["count"])
    with time_machine.travel(WRITTEN, tick=False):
        as_user("prescriber")
        form = client.get("/orders/new").get_data(as_text=True)
        assert 'name="cause"' in form and 'name="monitoring_tests"' in form
        bad = client.post("/orders/new", data={**data, "monitoring_interval_months": "13"})
        assert bad.status_code == 422
        assert re.search(r"interval must be a whole number of months", bad.get_data(as_text=True))
        response = client.post("/orders/new", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        order = db.session.execute(db.select(Order)).scalar_one()
        assert order.cause == "pernicious_anemia"
        assert order.neurologic_symptoms is True
        assert order.monitoring_tests == ["b12", "mma"]
        assert order.monitoring_interval_months == 6
