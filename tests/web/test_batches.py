"""Batches through the API: compound, draw stock, BUD, sterility, release, reject (SPEC 2.4-2.5)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, IngredientLot
from tests import clock
from tests.factories_stock import make_formulation, make_lot, make_single_dose_formulation

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive

NOW = clock.now()
# Long enough ago for a sterility test to pass (14 days of incubation, USP <71>, SPEC 5.6).
INCUBATED = NOW - timedelta(days=15)


def stock(app, **formulation_overrides):
    """Create a formulation and one released lot of each ingredient; return code and ids."""
    with app.app_context():
        formulation = make_formulation(**formulation_overrides)
        lots = {
            "active": make_lot(
                component="Cyanocobalamin", quantity=Decimal(10), unit="g", lot="CY-POWDER-1"
            ),
            "benzyl": make_lot(
                component="Benzyl alcohol",
                quantity=Decimal(500),
                unit="mL",
                assay_percent=None,
                lod_percent=None,
                lot="BA-1",
            ),
            "salt": make_lot(
                component="Sodium chloride",
                quantity=Decimal(1000),
                unit="g",
                assay_percent=None,
                lod_percent=None,
                lot="NACL-1",
            ),
            "water": make_lot(
                component="Water for injection",
                quantity=Decimal(20000),
                unit="mL",
                assay_percent=None,
                lod_percent=None,
                lot="WFI-1",
            ),
        }
        return formulation.code, {name: lot.id for name, lot in lots.items()}


def compound(client, api, code, lots, **changes):
    body = {
        "formulation": code,
        "vials": 3,
        "compounded_at": NOW.isoformat(),
        "ingredient_lots": list(lots.values()),
    }
    body.update(changes)
    return client.post("/api/v1/batches", json=body, headers=api("technician"))


def on_hand(app, lot_id):
    with app.app_context():
        return db.session.get(IngredientLot, lot_id).quantity_on_hand


def test_spec_worksheet_33_105_mg(app, client, api):
    # 3 vials x (10 mL + 0 overfill) = 30 mL at 1000 mcg/mL: 30.0 mg; assay 98.5 %, LOD 8.0 %.
    code, lots = stock(app, overfill_ml=Decimal(0))
    response = compound(client, api, code, lots)
    assert response.status_code == 201, response.json
    data = response.json
    active = data["worksheet"][0]
    assert active == {
        "component": "Cyanocobalamin",
        "lot": "CY-POWDER-1",
        "required": 30,
        "weigh": 33.105,
        "unit": "mg",
    }
    assert data["status"] == "quarantine"
    assert data["sterility_test"] == "pending"
    assert data["bud_limited_by"] == "usp797"
    assert data["vials"] == data["vials_available"] == 3
    today = NOW.astimezone(clock.PHARMACY_ZONE).date()
    assert data["lot_number"] == f"CY{today:%y%m%d}-01"
    bud = datetime.fromisoformat(data["bud"])
    assert bud - datetime.fromisoformat(data["compounded_at"]) == timedelta(days=60)
    units = {line["component"]: (line["weigh"], line["unit"]) for line in data["worksheet"]}
    assert units["Benzyl alcohol"] == (0.45, "mL")
    assert units["Sodium chloride"] == (0.27, "g")
    assert units["Water for injection"] == (30, "mL")


def test_worksheet_amounts_are_drawn(app, client, api):
    code, lots = stock(app, overfill_ml=Decimal(0))
    assert compound(client, api, code, lots).status_code == 201
    assert on_hand(app, lots["active"]) == Decimal(10) - Decimal("0.0332")  # 33.105 mg, up
    assert on_hand(app, lots["benzyl"]) == Decimal("499.55")
    assert on_hand(app, lots["salt"]) == Decimal("999.73")
    assert on_hand(app, lots["water"]) == Decimal(19970)
    listed = client.get(
        "/api/v1/ingredient-lots?component=Cyanocobalamin", headers=api("technician")
    ).json["ingredient_lots"]
    assert listed[0]["quantity_on_hand"] == 9.9668


def test_second_batch_same_day_gets_next_sequence(app, client, api):
    code, lots = stock(app)
    first = compound(client, api, code, lots).json["lot_number"]
    second = compound(client, api, code, lots).json["lot_number"]
    assert first.endswith("-01") and second.endswith("-02")


def test_draw_larger_than_stock_writes_nothing(app, client, api):
    code, lots = stock(app)
    api("technician")  # issue the token (an audited event) before counting events
    with app.app_context():
        small = make_lot(
            component="Water for injection",
            quantity=Decimal(100),
            unit="mL",
            assay_percent=None,
            lod_percent=None,
            lot="WFI-SMALL",
        )
        lots["water"] = small.id
        events = db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar()
    before = {name: on_hand(app, lot_id) for name, lot_id in lots.items()}
    response = compound(client, api, code, lots, vials=20)  # 210 mL of water needed
    assert response.status_code == 409
    assert "ingredient_lots" in response.json["error"]["fields"]
    assert "WFI-SMALL" in response.json["error"]["message"]
    assert {name: on_hand(app, lot_id) for name, lot_id in lots.items()} == before
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Batch.id))).scalar() == 0
        assert db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar() == events


def test_quantities_never_negative(app, client, api):
    code, lots = stock(app)
    with app.app_context():
        lots["water"] = make_lot(
            component="Water for injection",
            quantity=Decimal(63),
            unit="mL",
            assay_percent=None,
            lod_percent=None,
        ).id
    # 6 vials x 10.5 mL = 63 mL exactly: drawn to zero, then nothing more.
    assert compound(client, api, code, lots, vials=6).status_code == 201
    assert on_hand(app, lots["water"]) == 0
    again = compound(client, api, code, lots, vials=1)
    assert again.status_code == 409
    assert on_hand(app, lots["water"]) == 0


def test_bud_limited_by_month_only_expiry(app, client, api):
    code, lots = stock(app)
    # The month-end of a date 10 days out is at most 40 days away: always inside the
    # formulation's 45-day BUD, whatever day the suite runs.
    soon = NOW.date() + timedelta(days=10)
    with app.app_context():
        lots["salt"] = make_lot(
            component="Sodium chloride",
            quantity=Decimal(100),
            unit="g",
            assay_percent=None,
            lod_percent=None,
            lot="NACL-SHORT",
            expiry=f"{soon:%Y-%m}",
            expiry_date=_month_end(soon),
        ).id
    data = compound(client, api, code, lots).json
    assert data["bud_limited_by"] == "NACL-SHORT"
    bud_local = datetime.fromisoformat(data["bud"]).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York")
    )
    assert bud_local.date() == _month_end(soon)
    assert (bud_local.hour, bud_local.minute) == (23, 59)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def test_not_sterility_tested_has_null_and_releases(app, client, api):
    code, lots = stock(app, sterility_tested=False)
    data = compound(client, api, code, lots).json
    assert data["sterility_test"] is None
    released = client.post(
        f"/api/v1/batches/{data['lot_number']}/release", headers=api("pharmacist")
    )
    assert released.status_code == 200 and released.json["status"] == "released"


def test_sterility_pending_blocks_release_then_passes(app, client, api):
    code, lots = stock(app)
    lot = compound(client, api, code, lots, compounded_at=INCUBATED.isoformat()).json["lot_number"]
    blocked = client.post(f"/api/v1/batches/{lot}/release", headers=api("pharmacist"))
    assert blocked.status_code == 409
    assert "sterility" in blocked.json["error"]["message"]
    passed = client.post(
        f"/api/v1/batches/{lot}/sterility-test",
        json={"result": "passed"},
        headers=api("pharmacist"),
    )
    assert passed.status_code == 200 and passed.json["sterility_test"] == "passed"
    released = client.post(f"/api/v1/batches/{lot}/release", headers=api("pharmacist"))
    assert released.status_code == 200 and released.json["status"] == "released"
    twice = client.post(f"/api/v1/batches/{lot}/release", headers=api("pharmacist"))
    assert twice.status_code == 409
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert {"batch.compounded", "batch.sterility_recorded", "batch.released"} <= set(actions)


def test_failed_sterility_rejects(app, client, api):
    code, lots = stock(app)
    lot = compound(client, api, code, lots).json["lot_number"]
    failed = client.post(
        f"/api/v1/batches/{lot}/sterility-test",
        json={"result": "failed"},
        headers=api("pharmacist"),
    )
    assert failed.json["status"] == "rejected"
    assert (
        client.post(f"/api/v1/batches/{lot}/release", headers=api("pharmacist")).status_code == 409
    )
    bad = client.post(
        f"/api/v1/batches/{lot}/sterility-test", json={"result": "maybe"}, headers=api("pharmacist")
    )
    assert bad.status_code == 422 and "result" in bad.json["error"]["fields"]


def test_reject_batch_needs_reason(app, client, api):
    code, lots = stock(app)
    lot = compound(client, api, code, lots).json["lot_number"]
    missing = client.post(f"/api/v1/batches/{lot}/reject", json={}, headers=api("pharmacist"))
    assert missing.status_code == 422
    rejected = client.post(
        f"/api/v1/batches/{lot}/reject", json={"reason": "Particulates"}, headers=api("pharmacist")
    )
    assert rejected.json["status"] == "rejected"
    assert (
        client.post(
            f"/api/v1/batches/{lot}/reject", json={"reason": "again"}, headers=api("pharmacist")
        ).status_code
        == 409
    )


def test_technician_cannot_release(app, client, api):
    code, lots = stock(app)
    lot = compound(client, api, code, lots).json["lot_number"]
    assert (
        client.post(f"/api/v1/batches/{lot}/release", headers=api("technician")).status_code == 403
    )


def test_get_and_list(app, client, api):
    code, lots = stock(app)
    lot = compound(client, api, code, lots).json["lot_number"]
    data = client.get(f"/api/v1/batches/{lot.lower()}", headers=api("technician")).json
    for key in (
        "lot_number",
        "formulation",
        "vials",
        "vials_available",
        "bud",
        "status",
        "expired",
        "worksheet",
        "components",
    ):
        assert key in data
    assert data["formulation"] == code and data["expired"] is False
    assert len(data["components"]) == 4
    listed = client.get(
        f"/api/v1/batches?status=quarantine&formulation={code}", headers=api("technician")
    ).json["batches"]
    assert [b["lot_number"] for b in listed] == [lot]
    assert (
        client.get("/api/v1/batches?status=released", headers=api("technician")).json["batches"]
        == []
    )
    assert client.get("/api/v1/batches/NOPE-1", headers=api("technician")).status_code == 404


def test_single_dose_aseptic_tested_bud_45_days(app, client, api):
    with app.app_context():
        code = make_single_dose_formulation().code
    _, lots = stock(app)
    del lots["benzyl"]
    data = compound(client, api, code, lots, vials=10).json
    assert datetime.fromisoformat(data["bud"]) - datetime.fromisoformat(
        data["compounded_at"]
    ) == timedelta(days=45)


def lot_with(app, **fields):
    with app.app_context():
        return make_lot(**fields).id


@pytest.mark.parametrize(
    "case, status, field",
    [
        ("unknown formulation", 422, "formulation"),
        ("retired formulation", 422, "formulation"),
        ("vials zero", 422, "vials"),
        ("vials text", 422, "vials"),
        ("future", 422, "compounded_at"),
        ("bad time", 422, "compounded_at"),
        ("unknown lot", 422, "ingredient_lots"),
        ("wrong component", 422, "ingredient_lots"),
        ("missing ingredient", 422, "ingredient_lots"),
        ("duplicate lot", 422, "ingredient_lots"),
        ("quarantined lot", 409, "ingredient_lots"),
        ("rejected lot", 409, "ingredient_lots"),
        ("recalled lot", 409, "ingredient_lots"),
        ("expired lot", 409, "ingredient_lots"),
        ("no lots", 422, "ingredient_lots"),
    ],
)
def test_bad_batch_requests(app, client, api, case, status, field):
    code, lots = stock(app)
    ids = list(lots.values())
    body = {}
    if case == "unknown formulation":
        body = {"formulation": "NOPE"}
    elif case == "retired formulation":
        client.post(f"/api/v1/formulations/{code}/retire", headers=api("pharmacist"))
    elif case == "vials zero":
        body = {"vials": 0}
    elif case == "vials text":
        body = {"vials": "three"}
    elif case == "future":
        body = {"compounded_at": (NOW + timedelta(hours=2)).isoformat()}
    elif case == "bad time":
        body = {"compounded_at": "yesterday"}
    elif case == "unknown lot":
        body = {"ingredient_lots": ids[:3] + [9999]}
    elif case == "wrong component":
        body = {"ingredient_lots": ids + [lot_with(app, component="Glycerin", unit="mL")]}
    elif case == "missing ingredient":
        body = {"ingredient_lots": ids[:3]}
    elif case == "duplicate lot":
        body = {"ingredient_lots": ids + [ids[0]]}
    elif case in ("quarantined lot", "rejected lot", "recalled lot"):
        bad = lot_with(app, status=case.split()[0])
        body = {"ingredient_lots": [bad] + ids[1:]}
    elif case == "expired lot":
        bad = lot_with(app, expiry_date=clock.today() - timedelta(days=3))
        body = {"ingredient_lots": [bad] + ids[1:]}
    elif case == "no lots":
        body = {"ingredient_lots": []}
    before = {name: on_hand(app, lot_id) for name, lot_id in lots.items()}
    response = compound(client, api, code, lots, **body)
    assert response.status_code == status, response.json
    assert field in response.json["error"]["fields"], response.json
    assert response.json["error"]["message"]
    assert {name: on_hand(app, lot_id) for name, lot_id in lots.items()} == before
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Batch.id))).scalar() == 0


def test_prescriber_cannot_compound(app, client, api):
    code, lots = stock(app)
    response = client.post(
        "/api/v1/batches",
        json={"formulation": code, "vials": 1, "ingredient_lots": list(lots.values())},
        headers=api("prescriber"),
    )
    assert response.status_code == 403


def test_compound_on_postgresql_draws_and_numbers(pg_app):
    from pharmacy.database import write_intent
    from pharmacy.domain.errors import ConflictError
    from pharmacy.services.batches import compound_batch
    from tests.factories import user

    code, lots = stock(pg_app)
    with pg_app.app_context(), write_intent():
        tech = user("technician")
        body = {"formulation": code, "vials": 2, "ingredient_lots": list(lots.values())}
        first = compound_batch(body, tech).lot_number
        second = compound_batch(body, tech).lot_number
        assert first.endswith("-01") and second.endswith("-02")
        with pytest.raises(ConflictError):
            compound_batch({**body, "vials": 5000}, tech)
    assert on_hand(pg_app, lots["water"]) == Decimal(20000) - 2 * Decimal(21)
