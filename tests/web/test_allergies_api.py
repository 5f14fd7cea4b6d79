"""SPEC 5.1 allergies and 5.2 acknowledged warnings through the API: statuses, error
fields, and nothing changed on refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Order, Patient
from tests.factories_orders import make_formulation, order_body

pytestmark = pytest.mark.date_sensitive


@pytest.fixture
def formulations(app):
    with app.app_context():
        make_formulation()  # 1000 mcg/mL 10 mL multiple-dose, benzyl alcohol
        make_formulation(volume=1, container="single-dose", benzyl_alcohol=False)


def submit(client, api, username="prescriber", **overrides):
    return client.post("/api/v1/orders", json=order_body(**overrides), headers=api(username))


def verify(client, api, rx, body):
    return client.post(f"/api/v1/orders/{rx}/verify", json=body, headers=api("pharmacist"))


def state(app, rx=None):
    """Return what a refusal must leave alone: the order's status and alerts, the patients."""
    with app.app_context():
        patients = [
            (p.id, p.mrn, p.allergies)
            for p in db.session.execute(select(Patient).order_by(Patient.id)).scalars()
        ]
        orders = db.session.execute(select(func.count(Order.id))).scalar_one()
        order = None
        if rx is not None:
            row = db.session.execute(select(Order).filter_by(rx_number=rx)).scalar_one()
            order = (row.status, row.verified_dt, row.alerts)
        events = db.session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.entity.in_(["order", "patient"]))
        ).scalar_one()
        return patients, orders, order, events


def codes(order) -> dict[str, str]:
    return {a["code"]: a["level"] for a in order["alerts"]}


@pytest.mark.parametrize(
    "allergies, volume, container, expected",
    [
        ("Cyanocobalamin (anaphylaxis)", 10, "multiple-dose", {"allergy": "stop"}),
        ("vitamin B-12", 10, "multiple-dose", {"allergy": "stop"}),
        (["penicillin", "vit b12"], 1, "single-dose", {"allergy": "stop"}),
        ("COBALT", 1, "single-dose", {"allergy": "stop"}),
        ("benzyl alcohol - rash", 10, "multiple-dose", {"allergy": "stop"}),
        ("benzyl alcohol - rash", 1, "single-dose", {}),
        ("penicillin", 10, "multiple-dose", {}),
        ("NKDA", 10, "multiple-dose", {}),
        ("", 10, "multiple-dose", {"allergies_unknown": "warning"}),
        (None, 10, "multiple-dose", {"allergies_unknown": "warning"}),
    ],
)
def test_allergy_alerts_at_submission(
    client, api, formulations, allergies, volume, container, expected
):
    body = order_body(vial_volume_ml=volume, container=container)
    if allergies is None:
        del body["patient"]["allergies"]
    else:
        body["patient"]["allergies"] = allergies
    response = client.post("/api/v1/orders", json=body, headers=api("prescriber"))
    assert response.status_code == 201, response.get_json()
    assert codes(response.get_json()) == expected


def test_allergy_message_names_allergy_and_ingredient(client, api, formulations):
    order = submit(client, api, patient__allergies="benzyl alcohol - rash").get_json()
    (alert,) = order["alerts"]
    assert '"benzyl alcohol - rash"' in alert["message"]
    assert "benzyl alcohol, an ingredient of Cyanocobalamin" in alert["message"]


def test_allergy_stop_blocks_approval_and_cannot_be_acknowledged(app, client, api, formulations):
    rx = submit(client, api, patient__allergies="Cyanocobalamin (anaphylaxis)").get_json()[
        "rx_number"
    ]
    before = state(app, rx)
    response = verify(client, api, rx, {"decision": "approve"})
    assert response.status_code == 409
    assert "anaphylaxis" in response.get_json()["error"]["message"]
    response = verify(
        client, api, rx, {"decision": "approve", "acknowledgements": {"allergy": "Tolerated"}}
    )
    assert response.status_code == 409
    assert state(app, rx) == before
    assert verify(client, api, rx, {"decision": "reject", "reason": "Allergy"}).status_code == 200


BAD_ALLERGIES = [
    (123, "patient.allergies"),
    ({"drug": "cobalt"}, "patient.allergies"),
    (True, "patient.allergies"),
    (["cobalt"] * 51, "patient.allergies"),
    ("x" * 2001, "patient.allergies"),
    (["cobalt", 7], "patient.allergies"),
    (["y" * 201], "patient.allergies"),
]


@pytest.mark.parametrize("allergies, field", BAD_ALLERGIES)
def test_bad_allergy_lists_are_422_and_change_nothing(app, client, api, allergies, field):
    assert submit(client, api, patient__allergies="penicillin").status_code == 201
    before = state(app)
    response = submit(client, api, patient__allergies=allergies)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert any(f.startswith(field) for f in fields), fields
    assert state(app) == before


def test_an_order_only_adds_allergies(app, client, api):
    assert submit(client, api, patient__allergies="penicillin").status_code == 201
    assert submit(client, api, patient__allergies="NKDA").status_code == 201
    assert submit(client, api, patient__allergies=["Latex", "PENICILLIN"]).status_code == 201
    body = order_body()
    del body["patient"]["allergies"]
    assert client.post("/api/v1/orders", json=body, headers=api("prescriber")).status_code == 201
    with app.app_context():
        patient = db.session.execute(select(Patient)).scalar_one()
        assert patient.allergies == "penicillin; Latex"


def _two_warning_order(client, api):
    """Return an order with two warnings: a dose above the maximum, allergies unknown."""
    body = order_body(phases=[{"dose_mcg": 1500, "every": 1, "unit": "day", "count": 7}])
    body["patient"]["allergies"] = ""
    order = client.post("/api/v1/orders", json=body, headers=api("prescriber")).get_json()
    assert codes(order) == {"dose_above_max": "warning", "allergies_unknown": "warning"}
    return order["rx_number"]


@pytest.mark.parametrize(
    "acknowledgements, fields",
    [
        (None, {"acknowledgements.dose_above_max", "acknowledgements.allergies_unknown"}),
        ({"dose_above_max": "Oncology protocol"}, {"acknowledgements.allergies_unknown"}),
        (
            {"dose_above_max": "Oncology protocol", "allergies_unknown": "   "},
            {"acknowledgements.allergies_unknown"},
        ),
        (
            {"dose_above_max": "a", "allergies_unknown": "b", "route_iv": "c"},
            {"acknowledgements.route_iv"},
        ),
        (
            {"dose_above_max": "a", "allergies_unknown": "b", "no_such_alert": "c"},
            {"acknowledgements.no_such_alert"},
        ),
        ({"dose_above_max": "a", "allergies_unknown": 5}, {"acknowledgements.allergies_unknown"}),
        (
            {"dose_above_max": "a", "allergies_unknown": "x" * 2001},
            {"acknowledgements.allergies_unknown"},
        ),
        (["dose_above_max"], {"acknowledgements"}),
    ],
)
def test_bad_acknowledgements_are_422_and_change_nothing(
    app, client, api, formulations, acknowledgements, fields
):
    rx = _two_warning_order(client, api)
    before = state(app, rx)
    body = {"decision": "approve"}
    if acknowledgements is not None:
        body["acknowledgements"] = acknowledgements
    response = verify(client, api, rx, body)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["error"]["fields"]) >= fields
    assert state(app, rx) == before


def test_approve_with_a_reason_for_each_warning(app, client, api, formulations):
    rx = _two_warning_order(client, api)
    reasons = {"dose_above_max": "Oncology protocol, 1500 mcg", "allergies_unknown": "Asked: NKDA"}
    response = verify(client, api, rx, {"decision": "approve", "acknowledgements": reasons})
    assert response.status_code == 200, response.get_json()
    order = response.get_json()
    assert order["status"] == "verified"
    assert {a["code"]: a["acknowledgement"] for a in order["alerts"]} == reasons
    with app.app_context():
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "order.verified")
        ).scalar_one()
        assert event.after["acknowledgements"] == reasons
    # The prescriber's view has the alerts but not the pharmacy's reasons.
    mine = client.get(f"/api/v1/orders/{rx}", headers=api("prescriber")).get_json()
    assert {a["code"] for a in mine["alerts"]} == set(reasons)
    assert all("acknowledgement" not in a for a in mine["alerts"])
    # The order page shows the reasons, and no alert codes as text.
    from tests.conftest import login_as

    login_as(client, "pharmacist")
    html = client.get(f"/orders/{rx}").get_data(as_text=True)
    assert "Oncology protocol, 1500 mcg" in html and "Asked: NKDA" in html
    assert ">dose_above_max<" not in html
    assert "data-history-acknowledgements" in html  # the status history has them too
    # The prescriber's page shows the alerts but not the pharmacy's reasons.
    login_as(client, "prescriber")
    html = client.get(f"/orders/{rx}").get_data(as_text=True)
    assert "above the usual maximum" in html and "Oncology protocol" not in html


def test_info_alert_needs_no_acknowledgement(client, api, formulations):
    rx = submit(
        client,
        api,
        neurologic_symptoms=True,
        phases=[{"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4}],
    ).get_json()["rx_number"]
    order = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    assert codes(order) == {"neurologic_loading": "info"}
    assert verify(client, api, rx, {"decision": "approve"}).status_code == 200


def test_reject_needs_no_acknowledgements(client, api, formulations):
    rx = _two_warning_order(client, api)
    response = verify(client, api, rx, {"decision": "reject", "reason": "Dose too high"})
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"


def test_verification_page_asks_one_reason_per_warning(app, client, api, formulations, as_user):
    rx = _two_warning_order(client, api)
    pharmacist = as_user("pharmacist")
    html = pharmacist.get(f"/orders/{rx}").get_data(as_text=True)
    assert 'name="ack-dose_above_max"' in html and 'name="ack-allergies_unknown"' in html
    assert "Reason for approving despite" in html
    # One reason missing: refused with the alert's message, nothing changes.
    before = state(app, rx)
    response = pharmacist.post(
        f"/orders/{rx}/approve", data={"ack-dose_above_max": "Oncology"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Give a reason for approving despite" in page and "No allergies are recorded" in page
    assert state(app, rx) == before
    # A reason for an alert the order does not have is refused too.
    response = pharmacist.post(
        f"/orders/{rx}/approve",
        data={"ack-dose_above_max": "a", "ack-allergies_unknown": "b", "ack-route_iv": "c"},
        follow_redirects=True,
    )
    assert "no such alert" in response.get_data(as_text=True)
    assert state(app, rx) == before
    response = pharmacist.post(
        f"/orders/{rx}/approve",
        data={"ack-dose_above_max": "Oncology protocol", "ack-allergies_unknown": "Asked: NKDA"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert f"Rx {rx} verified" in page
    assert "Oncology protocol" in page and "Asked: NKDA" in page
    with app.app_context():
        assert db.session.execute(select(Order.status)).scalar_one() == "verified"


def test_pages_never_show_alert_codes(app, client, api, formulations, as_user):
    """Users read alert messages, never codes (SPEC 5.2): codes only inside tag attributes."""
    import re

    rx = _two_warning_order(client, api)
    stop = submit(client, api, patient__mrn="M-2", patient__allergies="cobalt").get_json()
    pages = {
        "pharmacist": ["/orders/queue", f"/orders/{rx}", f"/orders/{stop['rx_number']}"],
        "prescriber": [f"/orders/{rx}", "/orders/"],
    }
    for username, urls in pages.items():
        browser = as_user(username)
        for url in urls:
            html = browser.get(url).get_data(as_text=True)
            text = re.sub(r"<[^>]*>", " ", html)
            for code in (
                "dose_above_max",
                "allergies_unknown",
                "allergy",
                "duplicate_active_order",
            ):
                assert not re.search(rf"\b{code}\b", text), (username, url, code)


def test_fill_page_shows_the_acknowledged_warnings(app, as_user):
    from pharmacy.database import write_intent
    from tests.factories_dispensing import make_labelled_fill

    alerts = [
        {
            "code": "dose_above_max",
            "level": "warning",
            "message": "Phase 1: 1,500 mcg per injection is above the usual maximum.",
            "acknowledgement": "Oncology protocol agreed with the prescriber",
        }
    ]
    with app.app_context(), write_intent():
        fill_id = make_labelled_fill(alerts=alerts).id
    html = as_user("pharmacist").get(f"/fills/{fill_id}").get_data(as_text=True)
    assert "Warnings acknowledged" in html
    assert "Oncology protocol agreed with the prescriber" in html
    assert "above the usual maximum" in html


def check_acknowledged_approvals_at_once(app) -> None:
    """Two pharmacists approve one two-warning order at once, each with their reasons: one
    decision, with one set of reasons on the order and in the audit (SQLite and PostgreSQL)."""
    from pharmacy.database import write_intent
    from tests.concurrency import run_at_once
    from tests.conftest import issue_token
    from tests.factories import make_user

    with app.app_context(), write_intent():
        make_formulation()
        make_user("pharmacist2", "pharmacist")
    client = app.test_client()
    prescriber = {"Authorization": f"Bearer {issue_token(app, 'prescriber')}"}
    rx = _two_warning_order(client, lambda _: prescriber)
    headers = [
        {"Authorization": f"Bearer {issue_token(app, name)}"}
        for name in ("pharmacist", "pharmacist2")
    ]
    reasons = [
        {"dose_above_max": "First reason", "allergies_unknown": "Asked: NKDA"},
        {"dose_above_max": "Second reason", "allergies_unknown": "Asked: none"},
    ]
    statuses = run_at_once(
        app,
        2,
        lambda c, i: (
            c.post(
                f"/api/v1/orders/{rx}/verify",
                json={"decision": "approve", "acknowledgements": reasons[i]},
                headers=headers[i],
            ).status_code
        ),
    )
    assert sorted(statuses) == [200, 409]
    winner = reasons[statuses.index(200)]
    with app.app_context():
        order = db.session.execute(select(Order).filter_by(rx_number=rx)).scalar_one()
        assert {a["code"]: a.get("acknowledgement") for a in order.alerts} == winner
        events = db.session.execute(
            select(AuditEvent).where(
                AuditEvent.entity_id == rx, AuditEvent.action == "order.verified"
            )
        ).scalars()
        assert [e.after["acknowledgements"] for e in events] == [winner]


def test_two_pharmacists_approving_at_once_make_one_decision(app):
    check_acknowledged_approvals_at_once(app)


def test_recording_allergies_on_the_patient_page_updates_the_waiting_order(
    app, client, api, formulations, as_user
):
    rx = _two_warning_order(client, api)
    order = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    pharmacist = as_user("pharmacist")
    response = pharmacist.post(
        f"/patients/{order['patient']['id']}/record",
        data={"allergies": "NKDA", "phone": "", "address": ""},
    )
    assert response.status_code == 302
    now = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    assert codes(now) == {"dose_above_max": "warning"}
    # Over the API the order now has one warning: a reason for the other is refused.
    stale = {"dose_above_max": "Oncology", "allergies_unknown": "Asked"}
    response = verify(client, api, rx, {"decision": "approve", "acknowledgements": stale})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"acknowledgements.allergies_unknown"}
    # A page loaded before the edit showed both: the reason for the gone one is dropped.
    response = pharmacist.post(
        f"/orders/{rx}/approve",
        data={
            "shown": "dose_above_max allergies_unknown",
            "ack-dose_above_max": "Oncology",
            "ack-allergies_unknown": "Asked",
        },
        follow_redirects=True,
    )
    assert f"Rx {rx} verified" in response.get_data(as_text=True)
    now = client.get(f"/api/v1/orders/{rx}", headers=api("pharmacist")).get_json()
    assert {a["code"]: a["acknowledgement"] for a in now["alerts"]} == {
        "dose_above_max": "Oncology"
    }
