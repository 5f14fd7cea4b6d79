"""Final check by scanning and dispensing, through the API and the pages (SPEC 2.9)."""

from __future__ import annotations

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Fill, FinalCheck
from tests.factories_dispensing import GTIN, make_labelled_fill, scans_for


def _setup(app, **kwargs):
    with app.app_context(), write_intent():
        fill = make_labelled_fill(**kwargs)
        return fill.id, scans_for(fill), fill.allocations[0].batch.lot_number


def _actions(app, fill_id):
    with app.app_context():
        return (
            db.session.execute(
                db.select(AuditEvent.action)
                .where(AuditEvent.entity == "fill", AuditEvent.entity_id == str(fill_id))
                .order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )


def test_check_passes_then_dispense(app, client, api):
    fill_id, scans, _ = _setup(app)
    headers = api("pharmacist")
    early = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=headers)
    assert early.status_code == 409
    response = client.post(f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ok"] is True
    with app.app_context():
        fill = db.session.get(Fill, fill_id)
        assert fill.status == "checked" and fill.checked_by_id and fill.checked_dt
        assert [c.ok for c in fill.checks] == [True]
    done = client.post(
        f"/api/v1/fills/{fill_id}/dispense", json={"pharmacist_initials": "ps"}, headers=headers
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "dispensed" and body["id"] == fill_id
    with app.app_context():
        fill = db.session.get(Fill, fill_id)
        assert fill.pharmacist_initials == "PS" and fill.dispensed_by_id and fill.dispensed_dt
    assert _actions(app, fill_id) == ["fill.checked", "fill.dispensed"]
    again = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=headers)
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=headers
        ).status_code
        == 409
    )


def test_plain_lot_scans_pass_too(app, client, api):
    with app.app_context(), write_intent():
        fill = make_labelled_fill(gtin=None, lots=2)
        fill_id, scans = fill.id, scans_for(fill, gs1=False)
    response = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=api("pharmacist")
    )
    assert response.status_code == 200, response.get_json()


def test_failed_check_409_with_reasons_and_recorded(app, client, api):
    fill_id, scans, lot = _setup(app)
    bad = [*scans[:-1], "garbage!!"]
    response = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": bad}, headers=api("pharmacist")
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"]["code"] == "check_failed"
    assert "scans" in body["error"]["fields"]
    assert any(r.startswith(f"scan {len(bad)} could not be read") for r in body["reasons"])
    assert any("scanned, but the fill has" in r for r in body["reasons"])
    with app.app_context():
        fill = db.session.get(Fill, fill_id)
        assert fill.status == "allocated"
        check = db.session.execute(db.select(FinalCheck)).scalar_one()
        assert not check.ok and check.scans == bad and check.reasons == body["reasons"]
    assert _actions(app, fill_id) == ["fill.check_failed"]
    assert (
        client.post(f"/api/v1/fills/{fill_id}/dispense", headers=api("pharmacist")).status_code
        == 409
    )


def test_failed_recheck_undoes_checked(app, client, api):
    fill_id, scans, _ = _setup(app)
    headers = api("pharmacist")
    assert (
        client.post(
            f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=headers
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/fills/{fill_id}/check", json={"scans": scans[:1]}, headers=headers
        ).status_code
        == 409
    )
    assert client.post(f"/api/v1/fills/{fill_id}/dispense", headers=headers).status_code == 409


def test_check_input_errors_roles_and_404(app, client, api):
    fill_id, scans, _ = _setup(app)
    url = f"/api/v1/fills/{fill_id}/check"
    for body in ({}, {"scans": "RX1-0"}, {"scans": [1, 2]}, {"scans": ["", "  "]}):
        response = client.post(url, json=body, headers=api("pharmacist"))
        assert response.status_code == 422, body
        assert "scans" in response.get_json()["error"]["fields"]
    assert client.post(url, data="{", headers=api("pharmacist")).status_code == 400
    assert client.post(url, json={"scans": scans}, headers=api("technician")).status_code == 403
    assert (
        client.post(
            "/api/v1/fills/999999/check", json={"scans": scans}, headers=api("pharmacist")
        ).status_code
        == 404
    )
    with app.app_context():
        assert db.session.execute(db.select(FinalCheck)).first() is None


def test_wrong_gtin_and_recalled_batch(app, client, api):
    fill_id, scans, lot = _setup(app, gtin=GTIN)
    swapped = [s.replace(GTIN, "00012345600012") for s in scans]
    body = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": swapped}, headers=api("pharmacist")
    ).get_json()
    assert any("does not match the formulation's" in r for r in body["reasons"])
    fill_id, scans, lot = _setup(app, batch_status="recalled")
    body = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=api("pharmacist")
    ).get_json()
    assert body["reasons"] == [f"scan 2 (lot {lot}): recalled"]


def test_pages_list_detail_and_check_without_js(app, client, as_user):
    fill_id, scans, lot = _setup(app)
    client = as_user("pharmacist")
    listing = client.get("/fills/")
    assert listing.status_code == 200 and f"/fills/{fill_id}" in listing.get_data(as_text=True)
    detail = client.get(f"/fills/{fill_id}")
    text = detail.get_data(as_text=True)
    assert detail.status_code == 200 and lot in text and "label.pdf" in text
    page = client.get(f"/fills/{fill_id}/check")
    assert page.status_code == 200 and 'name="scans"' in page.get_data(as_text=True)
    failed = client.post(f"/fills/{fill_id}/check", data={"scans": scans[0]})
    assert failed.status_code == 200
    assert "vials scanned, but the fill has" in failed.get_data(as_text=True)
    passed = client.post(
        f"/fills/{fill_id}/check", data={"scans": "\n".join(scans)}, follow_redirects=True
    )
    assert "PASS" in passed.get_data(as_text=True)
    dispensed = client.post(
        f"/fills/{fill_id}/dispense", data={"pharmacist_initials": "PS"}, follow_redirects=True
    )
    assert dispensed.status_code == 200
    with app.app_context():
        assert db.session.get(Fill, fill_id).status == "dispensed"
    assert _actions(app, fill_id) == ["fill.check_failed", "fill.checked", "fill.dispensed"]


def test_technician_sees_fills_but_not_the_check(app, client, as_user):
    fill_id, _, _ = _setup(app)
    client = as_user("technician")
    assert client.get("/fills/").status_code == 200
    assert client.get(f"/fills/{fill_id}").status_code == 200
    assert client.get(f"/fills/{fill_id}/check").status_code == 403
    assert client.get("/fills/999999").status_code == 404
