"""``/api/v1/orders``: submission, every validation path, isolation, listing, Rx numbers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Counter, Order, Patient
from tests.factories_orders import make_formulation, order_body

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


def post(client, api, body, username="prescriber"):
    return client.post("/api/v1/orders", json=body, headers=api(username))


def counts(app):
    with app.app_context():
        return (
            db.session.execute(select(func.count(Order.id))).scalar_one(),
            db.session.execute(select(func.count(Patient.id))).scalar_one(),
            db.session.get(Counter, "rx").value,
        )


def test_submit_returns_201_with_plan_and_alerts(app, client, api):
    with app.app_context():
        make_formulation()
    response = post(client, api, order_body())
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["rx_number"] == "100001" and data["status"] == "submitted"
    assert data["alerts"] == []
    assert data["plan"]["totals"]["doses"] == 15  # 12 in fill 0 + 3 in the refill (SPEC 2.3)
    assert len(data["plan"]["fills"]) == 2  # fills = refills + 1
    assert data["prescriber"] == {
        "name": "Dr. Maya Chen",
        "npi": "1234567893",
        "clinic": "Riverside Clinic",
        "phone": None,
    }
    assert data["sig"].startswith("Inject 1 mL (1,000 mcg) intramuscularly once daily")
    assert data["patient"]["mrn"] == "MRN-1001"
    assert response.headers["Location"] == "/api/v1/orders/100001"
    with app.app_context():
        events = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars()
        assert list(events)[-2:] == ["patient.created", "order.submitted"]


def test_patient_found_by_mrn_then_by_name_and_dob(app, client, api):
    assert post(client, api, order_body()).status_code == 201
    # Same MRN: same patient (allergies added to, never replaced: SPEC 5.1).
    assert post(client, api, order_body(patient__allergies="latex")).status_code == 201
    # No MRN, same name (other case) and DOB: same patient.
    body = order_body(patient__mrn=None, patient__first_name="ADA", patient__allergies="")
    assert post(client, api, body).status_code == 201
    # Different DOB: a new patient.
    assert (
        post(client, api, order_body(patient__mrn=None, patient__dob="1961-05-04")).status_code
        == 201
    )
    with app.app_context():
        patients = db.session.execute(select(Patient).order_by(Patient.id)).scalars().all()
        assert len(patients) == 2 and patients[0].allergies == "penicillin; latex"
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
        assert "patient.updated" in actions


def test_mrn_of_another_person_is_refused(client, api):
    assert post(client, api, order_body()).status_code == 201
    response = post(client, api, order_body(patient__first_name="Grace"))
    assert response.status_code == 422
    assert "patient.mrn" in response.get_json()["error"]["fields"]


BAD = [
    ({"patient": None}, "patient"),
    ({"patient__first_name": ""}, "patient.first_name"),
    ({"patient__last_name": None}, "patient.last_name"),
    ({"patient__dob": "04/05/1960"}, "patient.dob"),
    ({"patient__dob": "2999-01-01"}, "patient.dob"),
    ({"patient__dob": "1960-02-30"}, "patient.dob"),
    ({"drug": "methylcobalamin"}, "drug"),
    ({"drug": None}, "drug"),
    ({"route": "PO"}, "route"),
    ({"route": None}, "route"),
    ({"concentration_mcg_per_ml": "lots"}, "concentration_mcg_per_ml"),
    ({"vial_volume_ml": 0}, "vial_volume_ml"),
    ({"container": "ampoule"}, "container"),
    ({"start_date": "tomorrow"}, "start_date"),
    ({"phases": []}, "phases"),
    (
        {
            "phases": [
                {"dose_mcg": 1000, "every": 1, "unit": "day", "count": None},
                {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
            ]
        },
        "phases[0].count",
    ),
    ({"phases": [{"dose_mcg": 20, "every": 1, "unit": "day", "count": 7}]}, "phases[0].dose_mcg"),
    (
        {"phases": [{"dose_mcg": 1000, "every": 1, "unit": "fortnight", "count": 7}]},
        "phases[0].unit",
    ),
    ({"days_supply": 0}, "days_supply"),
    ({"days_supply": 366}, "days_supply"),
    ({"refills": 12}, "refills"),
    ({"refills": -1}, "refills"),
    ({"refills": 1.5}, "refills"),
    ({"indication": ""}, "indication"),
    ({"compounding_reason": "  "}, "compounding_reason"),
    ({"compounding_reason": None}, "compounding_reason"),
    ({"notes": 42}, "notes"),
]


@pytest.mark.parametrize("overrides, field", BAD, ids=[f for _, f in BAD])
def test_bad_input_is_422_naming_the_field_and_saves_nothing(app, client, api, overrides, field):
    before = counts(app)
    response = post(client, api, order_body(**overrides))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["fields"], error
    assert counts(app) == before


def test_all_errors_come_back_at_once(client, api):
    body = order_body(drug="aspirin", refills=20, patient__dob="2999-01-01", days_supply=0)
    fields = post(client, api, body).get_json()["error"]["fields"]
    assert {"drug", "refills", "patient.dob", "days_supply"} <= set(fields)


def test_malformed_json_and_non_object(client, api):
    response = client.post(
        "/api/v1/orders",
        data="{not json",
        headers={**api("prescriber"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert post(client, api, ["not", "an", "object"]).status_code == 422


def test_iv_route_is_accepted_with_a_stop_alert(client, api):
    response = post(client, api, order_body(route="IV"))
    assert response.status_code == 201
    data = response.get_json()
    assert data["route"] == "IV"
    assert data["alerts"][0]["code"] == "route_iv" and data["alerts"][0]["level"] == "stop"


def test_only_prescribers_submit(client, api):
    assert post(client, api, order_body(), "pharmacist").status_code == 403
    assert client.post("/api/v1/orders", json=order_body()).status_code == 401


def test_prescribers_see_only_their_own_orders(client, api):
    rx = post(client, api, order_body()).get_json()["rx_number"]
    other = post(
        client, api, order_body(patient__mrn="MRN-2", patient__first_name="Bo"), "prescriber2"
    ).get_json()["rx_number"]
    assert client.get(f"/api/v1/orders/{other}", headers=api("prescriber")).status_code == 404
    assert client.get(f"/api/v1/orders/{rx}", headers=api("prescriber2")).status_code == 404
    assert (
        client.get(f"/api/v1/fhir/MedicationRequest/{other}", headers=api("prescriber")).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/orders/{other}/cancel", json={"reason": "x"}, headers=api("prescriber")
        ).status_code
        == 404
    )
    mine = client.get("/api/v1/orders", headers=api("prescriber")).get_json()
    assert [o["rx_number"] for o in mine["orders"]] == [rx]
    staff = client.get("/api/v1/orders", headers=api("technician")).get_json()
    assert {o["rx_number"] for o in staff["orders"]} == {rx, other}
    assert client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).status_code == 200
    assert client.get("/api/v1/orders/999999", headers=api("pharmacist")).status_code == 404
    assert client.get("/api/v1/orders", headers=api("admin")).status_code == 403


def test_list_filters_and_pages(client, api):
    for i in range(3):
        post(client, api, order_body(patient__mrn=f"MRN-{i}", patient__first_name=f"P{i}"))
    first = client.get("/api/v1/orders", headers=api("pharmacist")).get_json()["orders"]
    patient_id = first[0]["patient"]["id"]
    client.post(
        f"/api/v1/orders/{first[0]['rx_number']}/cancel",
        json={"reason": "dup"},
        headers=api("pharmacist"),
    )
    h = api("pharmacist")

    def rx_numbers(query: str) -> list[str]:
        return [
            o["rx_number"] for o in client.get(f"/api/v1/orders{query}", headers=h).json["orders"]
        ]

    newest_first = rx_numbers("")
    assert len(newest_first) == 3
    assert rx_numbers("?status=cancelled") == [first[0]["rx_number"]]
    assert len(rx_numbers("?status=submitted")) == 2
    assert rx_numbers(f"?patient={patient_id}") == [first[0]["rx_number"]]
    # Keyset pages of two: the next link opens the older rest, its prev link comes back.
    one = client.get("/api/v1/orders?limit=2", headers=h).json
    assert [o["rx_number"] for o in one["orders"]] == newest_first[:2]
    assert one["prev"] is None and one["limit"] == 2
    two = client.get(one["next"], headers=h).json
    assert [o["rx_number"] for o in two["orders"]] == newest_first[2:]
    assert two["next"] is None
    back = client.get(two["prev"], headers=h).json
    assert [o["rx_number"] for o in back["orders"]] == newest_first[:2]
    assert "limit=2" in two["prev"]
    assert client.get("/api/v1/orders?status=lost", headers=h).status_code == 422
    for bad in ("before=zero", "before=99999999999999999999", "limit=1000", "after=-1"):
        response = client.get(f"/api/v1/orders?{bad}", headers=h)
        assert response.status_code == 422, bad
        assert bad.split("=")[0] in response.json["error"]["fields"]


def test_list_filters_by_local_submission_date(app, client, api, as_user):
    """``submitted_from``/``submitted_to`` are the pharmacy's local dates, both included."""
    from datetime import UTC, datetime

    from pharmacy.extensions import db
    from pharmacy.models import Order

    rxs = [post(client, api, order_body(patient__mrn=f"D-{i}")).json["rx_number"] for i in range(3)]
    # New York: 2027-03-01 04:30 UTC is still Feb 28 there; 2027-03-02 05:30 UTC is Mar 2.
    moments = [
        datetime(2027, 2, 27, 15, tzinfo=UTC),
        datetime(2027, 3, 1, 4, 30, tzinfo=UTC),
        datetime(2027, 3, 2, 5, 30, tzinfo=UTC),
    ]
    with app.app_context():
        for rx, moment in zip(rxs, moments, strict=True):
            db.session.execute(
                db.select(Order).filter_by(rx_number=rx)
            ).scalar_one().submitted_dt = moment
        db.session.commit()
    h = api("pharmacist")

    def listed(query: str) -> list[str]:
        return [
            o["rx_number"] for o in client.get(f"/api/v1/orders?{query}", headers=h).json["orders"]
        ]

    assert listed("submitted_from=2027-02-28&submitted_to=2027-02-28") == [rxs[1]]
    assert listed("submitted_from=2027-02-28") == [rxs[2], rxs[1]]
    assert listed("submitted_to=2027-03-01") == [rxs[1], rxs[0]]
    response = client.get("/api/v1/orders?submitted_from=2027-02-30", headers=h)
    assert response.status_code == 422
    assert "submitted_from" in response.json["error"]["fields"]
    # A range that ends before it starts is refused, naming its end.
    backwards = client.get(
        "/api/v1/orders?submitted_from=2027-03-01&submitted_to=2027-02-28", headers=h
    )
    assert backwards.status_code == 422
    assert "submitted_to" in backwards.json["error"]["fields"]
    batches = client.get(
        "/api/v1/batches?compounded_from=2027-03-01&compounded_to=2027-02-01", headers=h
    )
    assert batches.status_code == 422 and "compounded_to" in batches.json["error"]["fields"]
    as_user("pharmacist")
    page = client.get("/orders/?submitted_from=2027-03-02")
    assert page.status_code == 200
    assert rxs[2] in page.get_data(as_text=True) and rxs[0] not in page.get_data(as_text=True)
    refused = client.get("/orders/?submitted_to=soon", follow_redirects=True)
    assert "YYYY-MM-DD" in refused.get_data(as_text=True)


def run_parallel_submissions(app, api_headers, n: int = 20) -> list[str]:
    """Submit ``n`` orders from ``n`` threads (each its own client); return the Rx numbers."""
    results: list = []
    barrier = threading.Barrier(n)

    def submit(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/orders",
            headers=api_headers,
            json=order_body(patient__mrn=f"MRN-T{i}", patient__first_name=f"Thread{i}"),
        )
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [s for s, _ in results] == [201] * n, [b for s, b in results if s != 201][:2]
    numbers = [b["rx_number"] for _, b in results]
    with app.app_context():
        stored = db.session.execute(select(Order.rx_number)).scalars().all()
        assert db.session.get(Counter, "rx").value == 100000 + n
    assert sorted(stored) == sorted(numbers)
    return numbers


def test_twenty_parallel_submissions_get_distinct_rx_numbers(app, api):
    numbers = run_parallel_submissions(app, api("prescriber"))
    assert sorted(int(n) for n in numbers) == list(range(100001, 100021))


def test_rx_numbers_are_never_reused_after_a_failed_submission(app, client, api):
    first = post(client, api, order_body()).get_json()["rx_number"]
    assert post(client, api, order_body(refills=99)).status_code == 422
    second = post(
        client, api, order_body(patient__mrn="MRN-9", patient__first_name="Z")
    ).get_json()["rx_number"]
    assert int(second) == int(first) + 1
    client.post(f"/api/v1/orders/{second}/cancel", json={"reason": "x"}, headers=api("prescriber"))
    third = post(client, api, order_body()).get_json()["rx_number"]
    assert int(third) == int(second) + 1


def test_future_start_and_dob_today(client, api):
    from pharmacy.services.settings import local_today

    with client.application.app_context():
        today = local_today()
    body = order_body(
        patient__dob=today.isoformat(),
        patient__mrn="NEWBORN",
        start_date=(today + timedelta(days=3)).isoformat(),
    )
    assert post(client, api, body).status_code == 201
