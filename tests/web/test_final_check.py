"""Final check by scanning and dispensing, through the API and the pages (SPEC 2.9)."""

from __future__ import annotations

import pytest

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Fill, FinalCheck
from tests.factories_dispensing import GTIN, make_labelled_fill, mark_printed, scans_for

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


def _setup(app, printed=True, **kwargs):
    with app.app_context(), write_intent():
        fill = make_labelled_fill(**kwargs)
        if printed:
            mark_printed(fill)
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


def test_plain_serial_scans_pass_too(app, client, api):
    with app.app_context(), write_intent():
        fill = make_labelled_fill(gtin=None, lots=2)
        mark_printed(fill)
        fill_id, scans = fill.id, scans_for(fill, gs1=False)
    response = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=api("pharmacist")
    )
    assert response.status_code == 200, response.get_json()


def test_failed_check_409_with_reasons_and_recorded(app, client, api):
    fill_id, scans, _lot = _setup(app)
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
    assert any("is not a product of this pharmacy" in r for r in body["reasons"])
    fill_id, scans, lot = _setup(app, batch_status="recalled")
    body = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=api("pharmacist")
    ).get_json()
    assert body["reasons"] == [f"{lot}/1: recalled"]


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


def test_check_is_refused_until_the_labels_are_printed(app, client, api, as_user):
    fill_id, scans, _ = _setup(app, printed=False)
    url = f"/api/v1/fills/{fill_id}/check"
    response = client.post(url, json={"scans": scans}, headers=api("pharmacist"))
    assert response.status_code == 409
    body = response.get_json()
    assert "labels" in body["error"]["fields"]
    assert "Print the labels" in body["error"]["message"]
    with app.app_context():
        assert db.session.execute(db.select(FinalCheck)).first() is None
    page_client = as_user("pharmacist")
    page = page_client.get(f"/fills/{fill_id}/check").get_data(as_text=True)
    assert "labels have not been printed" in page
    posted = page_client.post(f"/fills/{fill_id}/check", data={"scans": "\n".join(scans)})
    assert posted.status_code == 409 and "Print the labels" in posted.get_data(as_text=True)
    printed = client.get(f"/api/v1/fills/{fill_id}/label.pdf", headers=api("technician"))
    assert printed.status_code == 200
    assert client.post(url, json={"scans": scans}, headers=api("pharmacist")).status_code == 200


def test_one_vial_scanned_twice_fails_naming_its_serial(app, client, api):
    fill_id, scans, lot = _setup(app)
    twice = [*scans[:-1], scans[1]]  # the last vial is left out and the first scanned again
    response = client.post(
        f"/api/v1/fills/{fill_id}/check", json={"scans": twice}, headers=api("pharmacist")
    )
    assert response.status_code == 409
    reasons = response.get_json()["reasons"]
    assert f"{lot}/1 scanned twice" in reasons
    last = len(scans) - 1
    assert f"not scanned: {lot}/{last}" in reasons


def test_a_serial_of_another_fill_is_not_allocated(app, client, api):
    with app.app_context(), write_intent():
        mine = make_labelled_fill()
        mark_printed(mine)
        other = make_labelled_fill()
        mine_id, mine_scans = mine.id, scans_for(mine)
        other_scans = scans_for(other)
        other_lot = other.allocations[0].batch.lot_number
        # A vial of this fill's batch that the fill does not hold: serial 9 of 10.
        lot = mine.allocations[0].batch.lot_number
    stranger = mine_scans[-1].rsplit("21", 1)[0] + "219"
    response = client.post(
        f"/api/v1/fills/{mine_id}/check",
        json={"scans": [*mine_scans[:-1], stranger]},
        headers=api("pharmacist"),
    )
    assert response.status_code == 409
    reasons = response.get_json()["reasons"]
    assert f"{lot}/9: not allocated to this fill" in reasons
    response = client.post(
        f"/api/v1/fills/{mine_id}/check",
        json={"scans": [*mine_scans[:-1], other_scans[1]]},
        headers=api("pharmacist"),
    )
    assert any(
        r.startswith(f"{other_lot}/1: not allocated") for r in response.get_json()["reasons"]
    )


@pytest.mark.parametrize(
    ("scan", "fragment"),
    [
        (
            "]d2010001234560001217270101" + "10CY1" + "\x1d" + "211",
            "not a product of this pharmacy",
        ),
        ("]d20109501101530003172", "cut short"),
        ("CYT000001/99999", "no such vial"),
    ],
)
def test_bad_scans_get_a_reason_never_a_500(app, client, api, scan, fragment):
    fill_id, scans, lot = _setup(app)
    scan = scan.replace("CYT000001", lot)
    response = client.post(
        f"/api/v1/fills/{fill_id}/check",
        json={"scans": [*scans[:-1], scan]},
        headers=api("pharmacist"),
    )
    assert response.status_code == 409
    assert any(fragment in r for r in response.get_json()["reasons"]), response.get_json()
