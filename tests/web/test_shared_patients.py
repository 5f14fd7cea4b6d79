"""SPEC 5.7: one patient seen by two prescribers. Safety checks read the pharmacy's merged
record; neither prescriber sees or changes what the other entered. Plus the patient page's
contact details and allergies, edited by pharmacy staff (audited)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Order, Patient, PatientEntry
from tests.conftest import login_as
from tests.factories_orders import make_formulation, order_body

pytestmark = pytest.mark.date_sensitive

A_PATIENT = {
    "mrn": "A-1",
    "allergies": "Cyanocobalamin (anaphylaxis)",
    "phone": "555-0101",
    "address": "1 Secret Lane, Springfield",
}
A_SECRETS = ("A-1", "anaphylaxis", "555-0101", "Secret Lane")


@pytest.fixture
def formulations(app):
    with app.app_context():
        make_formulation()


def submit(client, api, username, **patient):
    body = order_body()
    body["patient"] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "dob": "1960-05-04",
        **patient,
    }
    response = client.post("/api/v1/orders", json=body, headers=api(username))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def two(client, api, formulations):
    """Prescriber A enters Ada with everything; prescriber B orders for her with NKDA."""
    a = submit(client, api, "prescriber", **A_PATIENT)
    b = submit(client, api, "prescriber2", allergies="NKDA", phone="555-0202")
    return a, b


def test_linked_for_safety_but_b_sees_none_of_a(app, client, api, two):
    a, b = two
    assert a["patient"]["id"] == b["patient"]["id"]
    # Safety: B's order is stopped by A's allergy and warned of A's order ...
    assert {x["code"]: x["level"] for x in b["alerts"]} == {
        "allergy": "stop",
        "duplicate_active_order": "warning",
    }
    # ... but B's answer shows only what B entered: no MRN, allergies, phone, address or Rx of A.
    text = json.dumps(b)
    for secret in (*A_SECRETS, a["rx_number"]):
        assert secret not in text, secret
    assert b["patient"]["mrn"] is None and b["patient"]["allergies"] == "NKDA"
    assert b["patient"]["phone"] == "555-0202"
    again = client.get(f"/api/v1/orders/{b['rx_number']}", headers=api("prescriber2")).get_json()
    for secret in (*A_SECRETS, a["rx_number"]):
        assert secret not in json.dumps(again), secret
    listed = client.get("/api/v1/orders", headers=api("prescriber2")).get_json()
    assert [o["rx_number"] for o in listed["orders"]] == [b["rx_number"]]
    for secret in (*A_SECRETS, a["rx_number"]):
        assert secret not in json.dumps(listed), secret
    fhir = client.get(
        f"/api/v1/fhir/MedicationRequest/{b['rx_number']}", headers=api("prescriber2")
    )
    assert fhir.status_code == 200
    assert not any(s in fhir.get_data(as_text=True) for s in A_SECRETS)
    # The pharmacist reads everything, A's Rx and the allergy as written included.
    seen = client.get(f"/api/v1/orders/{b['rx_number']}", headers=api("pharmacist")).get_json()
    messages = " ".join(x["message"] for x in seen["alerts"])
    assert a["rx_number"] in messages and "anaphylaxis" in messages
    assert seen["patient"]["mrn"] == "A-1" and seen["patient"]["phone"] == "555-0101"


def test_b_never_changes_a_entries(app, client, api, two):
    a, _ = two
    mine = client.get(f"/api/v1/orders/{a['rx_number']}", headers=api("prescriber")).get_json()
    assert mine["patient"]["allergies"] == A_PATIENT["allergies"]
    assert mine["patient"]["mrn"] == "A-1" and mine["patient"]["phone"] == "555-0101"
    # B adds an allergy: it reaches the pharmacy's record, not A's entry.
    submit(client, api, "prescriber2", allergies="latex")
    with app.app_context():
        patient = db.session.execute(select(Patient)).scalar_one()
        assert patient.allergies == "Cyanocobalamin (anaphylaxis); latex"
        assert patient.phone == "555-0101"  # the first phone stays; B's is in B's entry
        entries = {
            e.prescriber_id: (e.mrn, e.allergies, e.phone)
            for e in db.session.execute(select(PatientEntry)).scalars()
        }
    assert sorted(entries.values(), key=str) == [
        ("A-1", "Cyanocobalamin (anaphylaxis)", "555-0101"),
        (None, "latex", "555-0202"),  # a real allergy replaces NKDA
    ]
    mine = client.get(f"/api/v1/orders/{a['rx_number']}", headers=api("prescriber")).get_json()
    assert mine["patient"]["allergies"] == A_PATIENT["allergies"]


def test_b_pages_show_none_of_a(app, client, api, two):
    a, b = two
    login_as(client, "prescriber2")
    for url in (f"/orders/{b['rx_number']}", "/orders/", f"/patients/{b['patient']['id']}"):
        html = client.get(url).get_data(as_text=True)
        for secret in (*A_SECRETS, f"Rx {a['rx_number']}", f"/orders/{a['rx_number']}"):
            assert secret not in html, (url, secret)
    assert client.get(f"/orders/{a['rx_number']}").status_code == 404
    # A sees their own entry on the patient page, and not B's phone.
    login_as(client, "prescriber")
    html = client.get(f"/patients/{a['patient']['id']}").get_data(as_text=True)
    assert "A-1" in html and "anaphylaxis" in html and "555-0202" not in html


def test_same_mrn_links_and_a_foreign_mrn_is_neither_linked_nor_revealed(app, client, api):
    from pharmacy.database import write_intent
    from tests.factories import make_user

    with app.app_context(), write_intent():
        make_user("prescriber3", "prescriber", full_name="Dr Three", npi="1245319599")
    a = submit(client, api, "prescriber", mrn="A-1", allergies="penicillin")
    # A's MRN on someone else from B: another clinic's numbering, not A's patient, no error.
    other = submit(client, api, "prescriber2", mrn="A-1", first_name="Grace", last_name="Hopper")
    assert other["patient"]["id"] != a["patient"]["id"]
    assert other["patient"]["mrn"] == "A-1"  # B's own entry
    assert "penicillin" not in json.dumps(other)
    with app.app_context():
        record = db.session.get(Patient, other["patient"]["id"])
        assert record.mrn is None  # the pharmacy's MRN stays unique
    # Same MRN, same person (name case differs): one patient.
    b = submit(client, api, "prescriber3", mrn="A-1", first_name="ADA", allergies="NKDA")
    assert b["patient"]["id"] == a["patient"]["id"]
    assert "penicillin" not in json.dumps(b["patient"])
    # B's own MRN on another of B's patients is refused (B's own data).
    body = order_body(patient__mrn="A-1", patient__first_name="Alan")
    response = client.post("/api/v1/orders", json=body, headers=api("prescriber2"))
    assert response.status_code == 422


def test_own_mrn_on_another_person_is_422_and_changes_nothing(app, client, api):
    submit(client, api, "prescriber", mrn="A-1", allergies="penicillin")
    with app.app_context():
        before = (
            db.session.execute(select(func.count(Patient.id))).scalar_one(),
            db.session.execute(select(func.count(Order.id))).scalar_one(),
        )
    body = order_body(patient__first_name="Grace", patient__mrn="A-1")
    response = client.post("/api/v1/orders", json=body, headers=api("prescriber"))
    assert response.status_code == 422
    assert "patient.mrn" in response.get_json()["error"]["fields"]
    with app.app_context():
        after = (
            db.session.execute(select(func.count(Patient.id))).scalar_one(),
            db.session.execute(select(func.count(Order.id))).scalar_one(),
        )
    assert after == before


def test_phone_and_address_are_collected(app, client, api):
    order = submit(client, api, "prescriber", phone="555-0303", address="2 Main St")
    assert order["patient"]["phone"] == "555-0303" and order["patient"]["address"] == "2 Main St"
    body = order_body(patient__phone="5" * 41)
    response = client.post("/api/v1/orders", json=body, headers=api("prescriber"))
    assert response.status_code == 422 and "patient.phone" in response.get_json()["error"]["fields"]
    body = order_body(patient__address=["not", "text"])
    response = client.post("/api/v1/orders", json=body, headers=api("prescriber"))
    assert response.status_code == 422
    assert "patient.address" in response.get_json()["error"]["fields"]


def test_the_order_page_collects_phone_and_address(app, client, as_user):
    browser = as_user("prescriber")
    html = browser.get("/orders/new").get_data(as_text=True)
    assert 'name="patient_phone"' in html and 'name="patient_address"' in html


# --- the patient page: pharmacy staff edit the record -----------------------------------


def _patient(app, client, api) -> int:
    return submit(client, api, "prescriber", allergies="penicillin; latex")["patient"]["id"]


def _record(app, patient_id):
    with app.app_context():
        p = db.session.get(Patient, patient_id)
        events = db.session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "patient.edited")
        ).scalar_one()
        return (p.allergies, p.phone, p.address), events


def test_pharmacist_edits_allergies_phone_and_address(app, client, api, as_user):
    pid = _patient(app, client, api)
    browser = as_user("pharmacist")
    page = browser.get(f"/patients/{pid}").get_data(as_text=True)
    assert 'name="allergies"' in page and 'name="phone"' in page
    response = browser.post(
        f"/patients/{pid}/record",
        data={"allergies": "latex\ncobalt", "phone": "555-0404", "address": "3 High St"},
    )
    assert response.status_code == 302
    assert _record(app, pid) == (("latex; cobalt", "555-0404", "3 High St"), 1)
    with app.app_context():
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "patient.edited")
        ).scalar_one()
        assert event.before["allergies"] == "penicillin; latex"
        assert event.after["allergies"] == "latex; cobalt"
    # The next order is screened against the edited record.
    order = submit(client, api, "prescriber", allergies="NKDA")
    assert {a["code"] for a in order["alerts"]} >= {"allergy"}


def test_technician_edits_contact_but_not_allergies(app, client, api, as_user):
    pid = _patient(app, client, api)
    browser = as_user("technician")
    page = browser.get(f"/patients/{pid}").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="allergies"' not in page
    response = browser.post(
        f"/patients/{pid}/record",
        data={"allergies": "", "phone": "555-0505", "address": "4 Low St"},
    )
    assert response.status_code == 302
    assert _record(app, pid) == (("penicillin; latex", "555-0505", "4 Low St"), 1)


@pytest.mark.parametrize(
    "data",
    [
        {"phone": "5" * 41, "address": "", "allergies": "penicillin"},
        {"phone": "", "address": "x" * 501, "allergies": "penicillin"},
        {"phone": "", "address": "", "allergies": "y" * 2001},
        {"phone": "555\x00", "address": "", "allergies": "penicillin"},
    ],
)
def test_bad_record_edits_are_refused_and_change_nothing(app, client, api, as_user, data):
    pid = _patient(app, client, api)
    before = _record(app, pid)
    response = as_user("pharmacist").post(f"/patients/{pid}/record", data=data)
    assert response.status_code == 422
    assert _record(app, pid) == before


def test_prescribers_cannot_edit_the_record(app, client, api, as_user):
    pid = _patient(app, client, api)
    before = _record(app, pid)
    response = as_user("prescriber").post(f"/patients/{pid}/record", data={"phone": "1"})
    assert response.status_code == 403
    assert _record(app, pid) == before


def test_recall_contact_list_has_phone_and_address(app, client, api, as_user):
    import csv
    import io
    from datetime import timedelta

    from pharmacy.database import write_intent
    from pharmacy.models import now_utc
    from pharmacy.services import fills as fills_service
    from tests.factories import user
    from tests.factories_fills import (
        make_batch,
        make_formulation,
        make_ingredient_lot,
        make_patient,
        make_verified_order,
    )

    with app.app_context(), write_intent():
        lot = make_ingredient_lot()
        batch = make_batch(
            make_formulation(),
            vials=2,
            bud_dt=now_utc() + timedelta(days=30),
            ingredient_lots=[lot],
        )
        patient = make_patient(first_name="Ann", last_name="Lee")
        order = make_verified_order(patient)
        fills_service.allocate_fill(order, user("technician"), fills_service.local_today())
        batch_lot, patient_id = batch.lot_number, patient.id
        db.session.remove()
    # A technician records the contact details on the patient page.
    response = as_user("technician").post(
        f"/patients/{patient_id}/record", data={"phone": "555-0606", "address": "5 Quay Rd"}
    )
    assert response.status_code == 302
    body = client.get(f"/api/v1/trace?batch_lot={batch_lot}", headers=api("pharmacist")).get_json()
    assert [(p["phone"], p["address"]) for p in body["patients"]] == [("555-0606", "5 Quay Rd")]
    csv_text = client.get(
        f"/api/v1/trace?batch_lot={batch_lot}&format=csv", headers=api("pharmacist")
    ).get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(csv_text))
    assert row["patient_phone"] == "555-0606" and row["patient_address"] == "5 Quay Rd"


# --- the same over the API -------------------------------------------------------------


def test_patient_api_read_and_edit(app, client, api, two):
    a, _ = two
    pid = a["patient"]["id"]
    url = f"/api/v1/patients/{pid}"
    assert client.get(url, headers=api("pharmacist")).get_json()["mrn"] == "A-1"
    mine = client.get(url, headers=api("prescriber2")).get_json()
    assert mine["allergies"] == "NKDA" and mine["mrn"] is None
    assert not any(s in json.dumps(mine) for s in A_SECRETS)
    before = _record(app, pid)
    # A technician edits the contact details, not the allergies.
    refused = client.patch(url, json={"allergies": "latex"}, headers=api("technician"))
    assert refused.status_code == 403 and "allergies" in refused.get_json()["error"]["fields"]
    assert _record(app, pid) == before
    done = client.patch(url, json={"phone": "555-0707"}, headers=api("technician"))
    assert done.status_code == 200 and done.get_json()["phone"] == "555-0707"
    assert done.get_json()["address"] == A_PATIENT["address"]  # left out: unchanged
    # A pharmacist corrects the allergies (a list or text).
    done = client.patch(url, json={"allergies": ["latex", "cobalt"]}, headers=api("pharmacist"))
    assert done.status_code == 200 and done.get_json()["allergies"] == "latex; cobalt"
    assert _record(app, pid)[1] == before[1] + 2  # two audited edits
    # Prescribers cannot edit; another prescriber's patient is not found.
    assert client.patch(url, json={"phone": "1"}, headers=api("prescriber")).status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone": "5" * 41}, "phone"),
        ({"address": "x" * 501}, "address"),
        ({"allergies": 5}, "allergies"),
        ({"allergies": ["x"] * 51}, "allergies"),
        ({"allergies": ["y" * 201]}, "allergies"),
        ({"allergies": "z" * 2001}, "allergies"),
        ({"mrn": "B-2"}, "mrn"),
    ],
)
def test_patient_api_bad_edits_change_nothing(app, client, api, body, field):
    pid = _patient(app, client, api)
    before = _record(app, pid)
    response = client.patch(f"/api/v1/patients/{pid}", json=body, headers=api("pharmacist"))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _record(app, pid) == before


def test_patient_api_unknown_is_404(client, api):
    assert client.get("/api/v1/patients/999", headers=api("pharmacist")).status_code == 404
    response = client.patch("/api/v1/patients/999", json={}, headers=api("pharmacist"))
    assert response.status_code == 404
