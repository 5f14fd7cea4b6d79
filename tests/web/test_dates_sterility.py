"""Dates that make sense (SPEC 5.3) and sterility results (SPEC 5.6): API, pages, settings.

Every refusal is a 422 naming the field, and nothing changes: no order, no stock drawn, the
batch still pending in quarantine, no audit event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Order
from tests import clock
from tests.factories_orders import make_formulation as make_order_formulation
from tests.factories_orders import order_body
from tests.web.test_batches import compound, on_hand, stock
from tests.web.test_fhir_api import three_phase_request

pytestmark = pytest.mark.date_sensitive


def _count(app, model) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.execute(db.select(AuditEvent).filter_by(action=action)).scalars().all()
        )


def _fields(response) -> dict:
    return response.get_json()["error"]["fields"]


def _day(days: int) -> str:
    return (clock.today() + timedelta(days=days)).isoformat()


# --- 5.3 an order's start date ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "status"),
    [(0, 201), (-7, 201), (-8, 422), (365, 201), (366, 422), (-3000, 422)],
)
def test_order_start_date_window(app, client, api, days, status):
    with app.app_context():
        make_order_formulation()
    before = _count(app, Order)
    response = client.post(
        "/api/v1/orders", json=order_body(start_date=_day(days)), headers=api("prescriber")
    )
    assert response.status_code == status, response.get_json()
    if status == 422:
        message = _fields(response)["start_date"]
        assert _day(-7) in message and _day(365) in message  # says what is allowed
        assert _count(app, Order) == before
    else:
        assert response.get_json()["start_date"] == _day(days)


def test_backdate_limit_is_a_setting(app, client, api):
    body = order_body(start_date=_day(-20))
    assert client.post("/api/v1/orders", json=body, headers=api("prescriber")).status_code == 422
    patched = client.patch("/api/v1/settings", json={"max_backdate_days": 30}, headers=api("admin"))
    assert patched.status_code == 200 and patched.get_json()["max_backdate_days"] == 30
    assert client.post("/api/v1/orders", json=body, headers=api("prescriber")).status_code == 201
    assert _events(app, "settings.updated")[-1].after == {"max_backdate_days": 30}


def test_settings_show_and_validate_the_new_defaults(client, api):
    current = client.get("/api/v1/settings", headers=api("admin")).get_json()
    assert current["max_backdate_days"] == 7
    assert current["max_compounded_age_days"] == 30
    assert current["sterility_incubation_days"] == 14
    for field, value in [
        ("sterility_incubation_days", 3),  # USP <71>: never less than 14
        ("max_backdate_days", -1),
        ("max_compounded_age_days", 400),
    ]:
        response = client.patch("/api/v1/settings", json={field: value}, headers=api("admin"))
        assert response.status_code == 422 and field in _fields(response)
    after = client.get("/api/v1/settings", headers=api("admin")).get_json()
    assert after == current


def test_settings_page_shows_the_new_settings(client, as_user):
    page = as_user("admin").get("/admin/settings").get_data(as_text=True)
    for name in ("max_backdate_days", "max_compounded_age_days", "sterility_incubation_days"):
        assert f'name="{name}"' in page


def test_plan_accepts_any_start_date(client, api):
    body = order_body(start_date="2020-01-01")
    plan = {
        key: body[key]
        for key in (
            "start_date",
            "phases",
            "concentration_mcg_per_ml",
            "vial_volume_ml",
            "container",
            "days_supply",
        )
    }
    response = client.post("/api/v1/plan", json={**plan, "fills": 1}, headers=api("prescriber"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["doses"][0]["date"] == "2020-01-01"


def test_order_page_shows_the_start_date_error(app, client, as_user):
    from tests.web.test_orders_pages import form_data

    before = _count(app, Order)
    response = as_user("prescriber").post("/orders/new", data=form_data(start_date="2020-01-01"))
    assert response.status_code == 422
    assert "too far back" in response.get_data(as_text=True)
    assert _count(app, Order) == before


def test_fhir_order_start_date_window(app, client, api):
    resource = three_phase_request()
    resource["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"] = {"start": "2020-01-01"}
    before = _count(app, Order)
    response = client.post(
        "/api/v1/fhir/MedicationRequest",
        json=resource,
        headers={**api("prescriber"), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 422
    issues = response.get_json(force=True)["issue"]
    assert any("too far back" in issue["diagnostics"] for issue in issues)
    assert _count(app, Order) == before


# --- 5.3 a batch's compounding time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (timedelta(days=29, hours=23), 201),
        (timedelta(days=31), 422),
        (-timedelta(hours=1), 422),  # in the future
        (timedelta(days=400), 422),
    ],
)
def test_compounded_at_window(app, client, api, age, status):
    code, lots = stock(app)
    before = on_hand(app, lots["active"])
    response = compound(client, api, code, lots, compounded_at=(clock.now() - age).isoformat())
    assert response.status_code == status, response.get_json()
    if status == 422:
        assert "compounded_at" in _fields(response)
        assert on_hand(app, lots["active"]) == before
        assert _count(app, Batch) == 0


def test_compounded_at_limit_is_a_setting(app, client, api):
    code, lots = stock(app)
    client.patch("/api/v1/settings", json={"max_compounded_age_days": 2}, headers=api("admin"))
    old = (clock.now() - timedelta(days=3)).isoformat()
    response = compound(client, api, code, lots, compounded_at=old)
    assert response.status_code == 422
    assert "2 days" in _fields(response)["compounded_at"]


# --- 5.6 sterility results -------------------------------------------------------------------


def _quarantined(app, client, api, days_ago: float = 15) -> str:
    code, lots = stock(app)
    compounded = clock.now() - timedelta(days=days_ago)
    response = compound(client, api, code, lots, compounded_at=compounded.isoformat())
    assert response.status_code == 201, response.get_json()
    return response.get_json()["lot_number"]


def _sterility(client, api, lot, body):
    return client.post(
        f"/api/v1/batches/{lot}/sterility-test", json=body, headers=api("pharmacist")
    )


def _state(app, lot) -> tuple:
    with app.app_context():
        batch = db.session.execute(db.select(Batch).filter_by(lot_number=lot)).scalar_one()
        return batch.status, batch.sterility_test, batch.sterility_completed_dt


def test_pass_after_incubation_is_stored_and_audited(app, client, api):
    lot = _quarantined(app, client, api)
    completed = (clock.now() - timedelta(hours=2)).replace(microsecond=0)
    response = _sterility(
        client,
        api,
        lot,
        {"result": "passed", "completed_at": completed.isoformat(), "reference": "LAB-77"},
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["sterility_test"] == "passed"
    assert datetime.fromisoformat(data["sterility_completed_at"]) == completed
    assert data["sterility_reference"] == "LAB-77"
    event = _events(app, "batch.sterility_recorded")[-1]
    assert event.after["reference"] == "LAB-77" and event.after["sterility_test"] == "passed"
    released = client.post(f"/api/v1/batches/{lot}/release", headers=api("pharmacist"))
    assert released.status_code == 200


def test_completed_at_defaults_to_now(app, client, api):
    lot = _quarantined(app, client, api)
    response = _sterility(client, api, lot, {"result": "passed"})
    assert response.status_code == 200
    completed = datetime.fromisoformat(response.get_json()["sterility_completed_at"])
    assert abs(completed - clock.now()) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("days_ago", "body", "field"),
    [
        # Issue 10: a pass recorded one minute after compounding.
        (1 / 1440, {"result": "passed"}, "completed_at"),
        (13.9, {"result": "passed"}, "completed_at"),
        (15, {"result": "passed", "completed_at": "FUTURE"}, "completed_at"),
        (15, {"result": "failed", "completed_at": "BEFORE"}, "completed_at"),
        (15, {"result": "passed", "completed_at": "last tuesday"}, "completed_at"),
        (15, {"result": "maybe"}, "result"),
        (15, {}, "result"),
        (15, {"result": "passed", "reference": "x" * 201}, "reference"),
        (15, {"result": "passed", "reference": 7}, "reference"),
        (15, {"result": "passed", "extra": 1}, "extra"),
    ],
)
def test_sterility_refusals_change_nothing(app, client, api, days_ago, body, field):
    lot = _quarantined(app, client, api, days_ago)
    with app.app_context():
        compounded = db.session.execute(
            db.select(Batch.compounded_dt).filter_by(lot_number=lot)
        ).scalar_one()
    if body.get("completed_at") == "FUTURE":
        body["completed_at"] = (clock.now() + timedelta(hours=1)).isoformat()
    if body.get("completed_at") == "BEFORE":
        body["completed_at"] = (compounded - timedelta(hours=1)).isoformat()
    events = len(_events(app, "batch.sterility_recorded"))
    response = _sterility(client, api, lot, body)
    assert response.status_code == 422, response.get_json()
    assert field in _fields(response)
    assert _state(app, lot) == ("quarantine", "pending", None)
    assert len(_events(app, "batch.sterility_recorded")) == events
    blocked = client.post(f"/api/v1/batches/{lot}/release", headers=api("pharmacist"))
    assert blocked.status_code == 409


def test_early_pass_message_says_when(app, client, api):
    lot = _quarantined(app, client, api, days_ago=2)
    message = _fields(_sterility(client, api, lot, {"result": "passed"}))["completed_at"]
    assert "14 days" in message and "USP <71>" in message


def test_early_failure_rejects_the_batch(app, client, api):
    lot = _quarantined(app, client, api, days_ago=2)
    response = _sterility(client, api, lot, {"result": "failed", "reference": "LAB-9"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"


def test_incubation_days_is_a_setting(app, client, api):
    lot = _quarantined(app, client, api, days_ago=15)
    client.patch("/api/v1/settings", json={"sterility_incubation_days": 21}, headers=api("admin"))
    response = _sterility(client, api, lot, {"result": "passed"})
    assert response.status_code == 422 and "21 days" in _fields(response)["completed_at"]


def test_batch_page_preselects_no_result_and_shows_errors(app, client, api, as_user):
    lot = _quarantined(app, client, api, days_ago=1)
    pharmacist = as_user("pharmacist")
    page = pharmacist.get(f"/compounding/batches/{lot}").get_data(as_text=True)
    assert '<option selected value="">' in page or '<option value="" selected>' in page
    assert 'value="passed" selected' not in page and 'selected value="passed"' not in page
    early = pharmacist.post(f"/compounding/batches/{lot}/sterility", data={"result": "passed"})
    assert early.status_code == 422
    assert "USP &lt;71&gt;" in early.get_data(as_text=True)
    blank = pharmacist.post(f"/compounding/batches/{lot}/sterility", data={"result": ""})
    assert blank.status_code == 422 and 'id="result-error"' in blank.get_data(as_text=True)
    assert _state(app, lot) == ("quarantine", "pending", None)


def test_batch_page_records_and_shows_the_result(app, client, api, as_user):
    lot = _quarantined(app, client, api, days_ago=15)
    pharmacist = as_user("pharmacist")
    done = pharmacist.post(
        f"/compounding/batches/{lot}/sterility",
        data={"result": "passed", "completed_at": "", "reference": "LAB-2211"},
    )
    assert done.status_code == 302
    page = pharmacist.get(f"/compounding/batches/{lot}").get_data(as_text=True)
    assert "LAB-2211" in page and 'id="sterility-result-tile"' in page
    assert _state(app, lot)[:2] == ("quarantine", "passed")


def test_compound_page_shows_the_compounding_time_error(app, client, as_user):
    """The batch form gives the API's error for a compounding time past the window."""
    code, lots = stock(app)
    technician = as_user("technician")
    old = (clock.now() - timedelta(days=45)).astimezone(clock.PHARMACY_ZONE)
    form = technician.get(f"/compounding/batches/new?formulation={code}").get_data(as_text=True)
    assert "compounded_at" in form
    lot_fields = {f"lot-{i}": str(lot_id) for i, lot_id in enumerate(lots.values())}
    response = technician.post(
        f"/compounding/batches/new?formulation={code}",
        data={
            "formulation": code,
            "vials": "3",
            "compounded_at": old.strftime("%Y-%m-%dT%H:%M"),
            "action": "compound",
            **lot_fields,
        },
    )
    assert response.status_code == 422
    assert "more than 30 days ago" in response.get_data(as_text=True)
    assert _count(app, Batch) == 0
