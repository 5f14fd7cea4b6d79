"""Safe retries (SPEC 8.3): ``Idempotency-Key`` on creating POSTs, and on the HTML forms."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from pharmacy.extensions import db
from pharmacy.models import Batch
from tests.conftest import login_as
from tests.factories_orders import make_formulation as make_order_formulation
from tests.factories_orders import order_body
from tests.web.test_batches import on_hand, stock

MOMENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _body(code, lots, **changes):
    body = {
        "formulation": code,
        "vials": 3,
        "compounded_at": "2026-06-01T09:00:00+00:00",
        "ingredient_lots": list(lots.values()),
    }
    body.update(changes)
    return body


def _batches(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(Batch.id))).scalar_one()


@time_machine.travel(MOMENT, tick=False)
def test_batch_sent_twice_with_one_key_makes_one_batch(app, client, api):
    code, lots = stock(app)
    headers = {**api("technician"), "Idempotency-Key": "retry-7f3a"}
    first = client.post("/api/v1/batches", json=_body(code, lots), headers=headers)
    water = on_hand(app, lots["water"])
    again = client.post("/api/v1/batches", json=_body(code, lots), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _batches(app) == 1 and on_hand(app, lots["water"]) == water
    # Without a key (or with another one) a repeat is a new batch, as before.
    other = {**api("technician"), "Idempotency-Key": "retry-other"}
    assert client.post("/api/v1/batches", json=_body(code, lots), headers=other).status_code == 201
    assert _batches(app) == 2


@time_machine.travel(MOMENT, tick=False)
def test_same_key_with_another_body_is_422(app, client, api):
    code, lots = stock(app)
    headers = {**api("technician"), "Idempotency-Key": "k1"}
    assert (
        client.post("/api/v1/batches", json=_body(code, lots), headers=headers).status_code == 201
    )
    response = client.post("/api/v1/batches", json=_body(code, lots, vials=4), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert _batches(app) == 1


def test_key_is_forgotten_after_24_hours(app, client, api):
    code, lots = stock(app)
    headers = {**api("technician"), "Idempotency-Key": "k-day"}
    with time_machine.travel(MOMENT, tick=False):
        assert (
            client.post("/api/v1/batches", json=_body(code, lots), headers=headers).status_code
            == 201
        )
    with time_machine.travel(datetime(2026, 6, 2, 12, 1, tzinfo=UTC), tick=False):
        body = _body(code, lots, compounded_at="2026-06-02T09:00:00+00:00")
        assert client.post("/api/v1/batches", json=body, headers=headers).status_code == 201
    assert _batches(app) == 2


@time_machine.travel(MOMENT, tick=False)
def test_failed_request_lets_the_key_go_and_keys_are_per_user(app, client, api):
    code, lots = stock(app)
    headers = {**api("technician"), "Idempotency-Key": "k2"}
    bad = client.post("/api/v1/batches", json=_body(code, lots, vials=0), headers=headers)
    assert bad.status_code == 422
    body = _body(code, lots)
    # The refused request let the key go: the corrected one runs with it.
    assert client.post("/api/v1/batches", json=body, headers=headers).status_code == 201
    pharmacist = {**api("pharmacist"), "Idempotency-Key": "k2"}
    assert client.post("/api/v1/batches", json=body, headers=pharmacist).status_code == 201
    assert _batches(app) == 2


def test_bad_key_is_422(app, client, api):
    headers = {**api("technician"), "Idempotency-Key": "x" * 300}
    response = client.post("/api/v1/batches", json={}, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]


def test_every_creating_post_takes_a_key(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    creating = {
        (method, path)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "Idempotency-Key" in {p["name"] for p in op["parameters"]}
    }
    for path in (
        "/orders",
        "/fhir/MedicationRequest",
        "/formulations",
        "/ingredient-lots",
        "/batches",
        "/orders/{rx_number}/fills",
        "/recalls",
        "/tokens",
    ):
        assert ("post", path) in creating, path


def test_order_retried_by_an_ehr_is_created_once(app, client, api):
    with app.app_context():
        make_order_formulation()
    headers = {**api("prescriber"), "Idempotency-Key": "ehr-123"}
    first = client.post("/api/v1/orders", json=order_body(), headers=headers)
    again = client.post("/api/v1/orders", json=order_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["rx_number"] == again.get_json()["rx_number"]
    assert again.headers["Location"] == first.headers["Location"]


def test_forms_carry_a_fresh_key_and_a_double_post_creates_once(app, client):
    login_as(client, "technician")
    page = client.get("/compounding/lots/receive").get_data(as_text=True)
    assert 'name="idempotency_key"' in page
    other = client.get("/compounding/lots/receive").get_data(as_text=True)
    key = page.split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]
    assert key and key not in other
    form = {
        "component": "Cyanocobalamin",
        "manufacturer": "M",
        "lot": "L-77",
        "expiry": "2099-01",
        "quantity": "10",
        "unit": "g",
        "assay_percent": "99",
        "lod_percent": "5",
        "coa_reference": "C1",
        "idempotency_key": key,
    }
    first = client.post("/compounding/lots/receive", data=form)
    again = client.post("/compounding/lots/receive", data=form)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        from pharmacy.models import IngredientLot

        assert (
            db.session.execute(
                db.select(db.func.count(IngredientLot.id)).filter_by(lot="L-77")
            ).scalar_one()
            == 1
        )
