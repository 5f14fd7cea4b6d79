"""Pharmacist verification (alerts, stop blocks approval) and cancellation rules, with audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Fill, Order
from tests import clock
from tests.factories_orders import make_formulation, order_body

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


def submit(client, api, username="prescriber", **overrides) -> dict:
    response = client.post("/api/v1/orders", json=order_body(**overrides), headers=api(username))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def verify(client, api, rx, decision="approve", reason=None, username="pharmacist"):
    return client.post(
        f"/api/v1/orders/{rx}/verify",
        json={"decision": decision, "reason": reason},
        headers=api(username),
    )


def cancel(client, api, rx, reason="Patient moved", username="pharmacist"):
    return client.post(
        f"/api/v1/orders/{rx}/cancel", json={"reason": reason}, headers=api(username)
    )


def audit_actions(app, rx) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.entity == "order", AuditEvent.entity_id == rx)
                .order_by(AuditEvent.seq)
            ).scalars()
        )


def codes(order) -> dict[str, str]:
    return {a["code"]: a["level"] for a in order["alerts"]}


@pytest.fixture
def formulations(app):
    with app.app_context():
        make_formulation()  # 1000 mcg/mL 10 mL multiple-dose, benzyl alcohol
        make_formulation(concentration=500, volume=10)
        make_formulation(volume=1, container="single-dose", benzyl_alcohol=False)


ALERT_CASES = [
    (
        {"phases": [{"dose_mcg": 1500, "every": 1, "unit": "day", "count": 7}]},
        "dose_above_max",
        "warning",
    ),
    (
        {
            "route": "SC",
            "concentration_mcg_per_ml": 500,
            "phases": [{"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4}],
        },
        "volume_above_route_max",
        "warning",
    ),
    (
        {"phases": [{"dose_mcg": 50, "every": 1, "unit": "day", "count": 7}]},
        "dose_volume_below_min",
        "warning",
    ),
    (
        {"patient__dob": (clock.today() - timedelta(days=200)).isoformat(), "patient__mrn": "BABY"},
        "benzyl_alcohol_infant",
        "stop",
    ),
    ({"vial_volume_ml": 5}, "no_matching_formulation", "warning"),
    ({"route": "IV"}, "route_iv", "stop"),
]


@pytest.mark.parametrize("overrides, code, level", ALERT_CASES, ids=[c for _, c, _ in ALERT_CASES])
def test_each_alert_at_submission_and_in_the_queue(
    app, client, api, as_user, formulations, overrides, code, level
):
    order = submit(client, api, **overrides)
    assert codes(order) == {code: level}
    page = as_user("pharmacist").get("/orders/queue")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert order["rx_number"] in html and f"alert-{level}" in html and code in html


def test_preservative_free_vial_for_an_infant_has_no_stop(client, api, formulations):
    order = submit(
        client,
        api,
        vial_volume_ml=1,
        container="single-dose",
        patient__dob=(clock.today() - timedelta(days=200)).isoformat(),
    )
    assert order["alerts"] == []


def test_duplicate_active_order_alert_and_recheck_at_verification(app, client, api, formulations):
    first = submit(client, api)
    second = submit(client, api)
    assert codes(second) == {"duplicate_active_order": "warning"}
    assert first["rx_number"] in second["alerts"][0]["message"]
    # Cancelling the first clears the alert when the second is verified.
    assert cancel(client, api, first["rx_number"]).status_code == 200
    verified = verify(client, api, second["rx_number"]).get_json()
    assert verified["status"] == "verified" and verified["alerts"] == []


def test_approve(app, client, api, formulations):
    rx = submit(client, api)["rx_number"]
    response = verify(client, api, rx, reason="Checked dose against history")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "verified" and data["verified_by"] == "pharmacist"
    assert data["verified_at"] and data["plan"]["totals"]["doses"] == 15
    assert audit_actions(app, rx) == ["order.submitted", "order.verified"]
    # A second decision is a state conflict.
    again = verify(client, api, rx, "reject", "late")
    assert again.status_code == 409 and "verified" in again.get_json()["error"]["message"]


def test_reject_needs_a_reason(app, client, api, formulations):
    rx = submit(client, api)["rx_number"]
    response = verify(client, api, rx, "reject")
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    response = verify(client, api, rx, "reject", "Dose too high for indication")
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["status_reason"] == "Dose too high for indication"
    assert audit_actions(app, rx) == ["order.submitted", "order.rejected"]


def test_bad_decision_and_roles(client, api, formulations):
    rx = submit(client, api)["rx_number"]
    response = verify(client, api, rx, "maybe")
    assert response.status_code == 422 and "decision" in response.get_json()["error"]["fields"]
    assert verify(client, api, rx, username="prescriber").status_code == 403
    assert verify(client, api, rx, username="technician").status_code == 403
    assert verify(client, api, "999999").status_code == 404
    bad_json = client.post(
        f"/api/v1/orders/{rx}/verify",
        data="{",
        headers={**api("pharmacist"), "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400


def test_stop_alert_blocks_approval(app, client, api, formulations):
    rx = submit(client, api, route="IV")["rx_number"]
    response = verify(client, api, rx)
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    assert "blocked by a stop alert" in message and "IV" in message
    with app.app_context():
        order = db.session.execute(select(Order).filter_by(rx_number=rx)).scalar_one()
        assert order.status == "submitted"
    assert audit_actions(app, rx) == ["order.submitted"]
    # Rejecting is still possible.
    assert verify(client, api, rx, "reject", "IV is not a depot route").status_code == 200


def test_prescriber_cancels_own_submitted_order(app, client, api):
    rx = submit(client, api)["rx_number"]
    assert cancel(client, api, rx, username="prescriber2").status_code == 404
    assert cancel(client, api, rx, reason="", username="prescriber").status_code == 422
    response = cancel(client, api, rx, username="prescriber")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["closed_by"] == "prescriber"
    assert cancel(client, api, rx).status_code == 409  # already cancelled
    assert audit_actions(app, rx) == ["order.submitted", "order.cancelled"]


def test_prescriber_cannot_cancel_after_verification_but_pharmacist_can(
    app, client, api, formulations
):
    rx = submit(client, api)["rx_number"]
    verify(client, api, rx)
    response = cancel(client, api, rx, username="prescriber")
    assert (
        response.status_code == 409
        and "call the pharmacy" in response.get_json()["error"]["message"]
    )
    assert cancel(client, api, rx, username="technician").status_code == 403
    assert cancel(client, api, rx).status_code == 200
    assert audit_actions(app, rx) == ["order.submitted", "order.verified", "order.cancelled"]


@pytest.mark.parametrize(
    "fill_status, allowed", [("dispensed", False), ("allocated", False), ("voided", True)]
)
def test_pharmacist_cancels_until_dispensed(app, client, api, formulations, fill_status, allowed):
    rx = submit(client, api)["rx_number"]
    verify(client, api, rx)
    with app.app_context(), write_intent():
        order = db.session.execute(select(Order).filter_by(rx_number=rx)).scalar_one()
        db.session.add(
            Fill(
                order=order,
                fill_number=0,
                status=fill_status,
                vials=3,
                dispense_date=order.start_date,
                plan={},
            )
        )
        db.session.commit()
    response = cancel(client, api, rx)
    assert response.status_code == (200 if allowed else 409), response.get_json()


def test_queue_pages_oldest_first_with_links(app, as_user):
    from tests.factories_orders import make_order

    with app.app_context(), write_intent():
        rxs = [make_order().rx_number for _ in range(14)]
        db.session.commit()
    pharmacist = as_user("pharmacist")
    first = pharmacist.get("/orders/queue").get_data(as_text=True)
    assert "14 orders waiting" in first and "10 on this page" in first
    shown = [rx for rx in rxs if f"Rx {rx}</a>" in first]
    assert shown == rxs[:10]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    link = first.split('" rel="next"')[0].rsplit('href="', 1)[1].replace("&amp;", "&")
    second = pharmacist.get(link).get_data(as_text=True)
    assert [rx for rx in rxs if f"Rx {rx}</a>" in second] == rxs[10:]
    back = second.split('" rel="prev"')[0].rsplit('href="', 1)[1].replace("&amp;", "&")
    again = pharmacist.get(back).get_data(as_text=True)
    assert [rx for rx in rxs if f"Rx {rx}</a>" in again] == rxs[:10]
    assert pharmacist.get("/orders/queue?after=x").status_code == 422
