"""Dispensing checks again (SPEC 5.5): recalled, rejected, past BUD or changed after the check.

Issue 10: a batch recalled after a fill from it had passed the final check; the fill page
still showed Dispense and dispensing succeeded. Now dispensing is refused (409 with the
reasons) and nothing changes; the fill page says why and offers void; the recall lists the
fills to pull. :func:`run_recall_then_dispense` also runs on PostgreSQL (tests/pg).
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Fill, FillAllocation, FillVial
from tests.conftest import issue_token
from tests.factories_dispensing import make_labelled_fill, mark_printed, scans_for

pytestmark = pytest.mark.date_sensitive


def _checked_fill(app, client, headers) -> tuple[int, str]:
    """Return a fill that passed its final check, and its batch lot."""
    with app.app_context(), write_intent():
        fill = make_labelled_fill()
        mark_printed(fill)
        fill_id, scans = fill.id, scans_for(fill)
        lot = fill.allocations[0].batch.lot_number
    response = client.post(f"/api/v1/fills/{fill_id}/check", json={"scans": scans}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return fill_id, lot


def _state(app, fill_id: int, lot: str) -> tuple:
    """Return what must not change on a refusal: fill status, batch stock, dispense events."""
    with app.app_context():
        fill = db.session.get(Fill, fill_id)
        batch = db.session.execute(db.select(Batch).filter_by(lot_number=lot)).scalar_one()
        dispensed = db.session.execute(
            db.select(db.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "fill.dispensed")
        ).scalar_one()
        return fill.status, fill.dispensed_dt, batch.vials_available, dispensed


def run_recall_then_dispense(app) -> None:
    """Check a fill, recall its batch, then try to dispense: refused, unchanged, listed."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issue_token(app, 'pharmacist')}"}
    fill_id, lot = _checked_fill(app, client, headers)
    recall = client.post(
        "/api/v1/recalls", json={"batch_lot": lot, "reason": "Particulates"}, headers=headers
    )
    assert recall.status_code == 201, recall.get_json()
    pulled = recall.get_json()["fills_to_pull"]
    assert [(f["id"], f["status"]) for f in pulled] == [(fill_id, "checked")]
    before = _state(app, fill_id, lot)
    response = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=headers)
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["error"]["code"] == "dispense_refused"
    assert body["reasons"] == [f"batch {lot} was recalled after the final check"]
    assert "recalled" in body["error"]["fields"]["fill"]
    assert _state(app, fill_id, lot) == before
    assert before[0] == "checked" and before[1] is None
    # The fill is voided and its vials go back (to a recalled batch, never allocated again).
    void = client.post(
        f"/api/v1/fills/{fill_id}/void", json={"reason": "Recalled batch"}, headers=headers
    )
    assert void.status_code == 200, void.get_json()
    assert void.get_json()["status"] == "voided"


def test_recall_then_dispense_is_refused(app):
    run_recall_then_dispense(app)


def test_rejected_batch_after_check_is_refused(app, client, api):
    fill_id, lot = _checked_fill(app, client, api("pharmacist"))
    rejected = client.post(
        f"/api/v1/batches/{lot}/reject", json={"reason": "Cloudy"}, headers=api("pharmacist")
    )
    assert rejected.status_code == 200
    before = _state(app, fill_id, lot)
    response = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=api("pharmacist"))
    assert response.status_code == 409
    assert response.get_json()["reasons"] == [f"batch {lot} was rejected after the final check"]
    assert _state(app, fill_id, lot) == before


def test_bud_passed_before_dispensing_is_refused(app, client, api):
    """The check passed in date; dispensing after the BUD (the pharmacy's clock) is refused."""
    from pharmacy.domain.final_check import RecheckFailed
    from pharmacy.services import dispensing
    from tests.factories import user

    fill_id, lot = _checked_fill(app, client, api("pharmacist"))
    before = _state(app, fill_id, lot)
    with app.app_context():
        bud = db.session.execute(db.select(Batch.bud_dt).filter_by(lot_number=lot)).scalar_one()
        with write_intent(), pytest.raises(RecheckFailed) as refused:
            dispensing.dispense(fill_id, user("pharmacist"), now=bud + timedelta(minutes=1))
        db.session.rollback()
    (reason,) = refused.value.reasons
    assert reason.startswith(f"batch {lot} is past its BUD")
    assert refused.value.field == "fill"
    assert _state(app, fill_id, lot) == before


def test_labels_reprinted_after_check_is_refused(app, client, api):
    fill_id, lot = _checked_fill(app, client, api("pharmacist"))
    reprint = client.get(
        f"/api/v1/fills/{fill_id}/label.pdf?reason=Label+torn", headers=api("pharmacist")
    )
    assert reprint.status_code == 200
    before = _state(app, fill_id, lot)
    response = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=api("pharmacist"))
    assert response.status_code == 409
    assert response.get_json()["reasons"] == [
        "the labels were reprinted after the final check (Label torn)"
    ]
    assert _state(app, fill_id, lot) == before


def test_calendar_after_check_does_not_block(app, client, api):
    fill_id, _ = _checked_fill(app, client, api("pharmacist"))
    assert (
        client.get(f"/api/v1/fills/{fill_id}/calendar.pdf", headers=api("pharmacist")).status_code
        == 200
    )
    done = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=api("pharmacist"))
    assert done.status_code == 200, done.get_json()


def test_vials_changed_after_check_is_refused(app, client, api):
    fill_id, lot = _checked_fill(app, client, api("pharmacist"))
    with app.app_context(), write_intent():
        vial = db.session.execute(
            db.select(FillVial)
            .join(FillAllocation, FillVial.allocation_id == FillAllocation.id)
            .where(FillAllocation.fill_id == fill_id)
            .limit(1)
        ).scalar_one()
        vial.serial = 40  # another vial of the batch than the one scanned
        db.session.commit()
    before = _state(app, fill_id, lot)
    response = client.post(f"/api/v1/fills/{fill_id}/dispense", headers=api("pharmacist"))
    assert response.status_code == 409
    assert "no longer match its final check" in response.get_json()["reasons"][0]
    assert _state(app, fill_id, lot) == before


def test_recalled_fill_page_says_why_and_offers_void(app, client, api, as_user):
    fill_id, lot = _checked_fill(app, client, api("pharmacist"))
    pharmacist = as_user("pharmacist")
    page = pharmacist.get(f"/fills/{fill_id}").get_data(as_text=True)
    assert 'id="cannot-dispense"' not in page and ">Dispense</a>" in page
    client.post(
        "/api/v1/recalls",
        json={"batch_lot": lot, "reason": "Particulates"},
        headers=api("pharmacist"),
    )
    page = pharmacist.get(f"/fills/{fill_id}").get_data(as_text=True)
    assert 'id="cannot-dispense"' in page
    assert f"batch {lot} was recalled after the final check" in page
    assert ">Dispense</a>" not in page and 'id="void-fill"' in page
    listed = pharmacist.get("/fills/").get_data(as_text=True)
    assert "Cannot dispense: pull" in listed
    check_page = pharmacist.get(f"/fills/{fill_id}/check").get_data(as_text=True)
    assert 'id="dispense-button"' not in check_page and 'id="cannot-dispense"' in check_page
    before = _state(app, fill_id, lot)
    posted = pharmacist.post(f"/fills/{fill_id}/dispense", data={"pharmacist_initials": "PS"})
    assert posted.status_code == 409
    assert f"batch {lot} was recalled" in posted.get_data(as_text=True)
    assert _state(app, fill_id, lot) == before


def test_recall_page_lists_the_fills_to_pull(app, client, api, as_user):
    fill_id, lot = _checked_fill(app, client, api("pharmacist"))
    pharmacist = as_user("pharmacist")
    done = pharmacist.post("/compounding/recall", data={"batch_lot": lot, "reason": "Particulates"})
    assert done.status_code == 302
    page = pharmacist.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="fills-to-pull"' in page and f"/fills/{fill_id}" in page
    assert "Pull 1 fill not yet dispensed" in page


def test_dispensed_fills_are_not_pulled(app, client, api):
    headers = api("pharmacist")
    fill_id, lot = _checked_fill(app, client, headers)
    assert client.post(f"/api/v1/fills/{fill_id}/dispense", headers=headers).status_code == 200
    recall = client.post(
        "/api/v1/recalls", json={"batch_lot": lot, "reason": "Particulates"}, headers=headers
    )
    assert recall.get_json()["fills_to_pull"] == []
    assert [f["status"] for f in recall.get_json()["fills"]] == ["dispensed"]


def run_recall_races_dispense(app, rounds: int = 3) -> None:
    """Recall a batch while its checked fill is dispensed: the two never disagree.

    Either the dispense wins (200) and the recall lists the fill as dispensed (a patient to
    contact), or the recall wins and the dispense is refused (409) with the fill to pull.
    """
    from tests.concurrency import run_at_once

    headers = {"Authorization": f"Bearer {issue_token(app, 'pharmacist')}"}
    for _ in range(rounds):
        fill_id, lot = _checked_fill(app, app.test_client(), headers)

        def request(client, i, fill_id=fill_id, lot=lot):
            # A random head start, so that either request may take the rows first.
            time.sleep(random.random() * 0.06)
            if i == 0:
                return client.post(
                    "/api/v1/recalls", json={"batch_lot": lot, "reason": "Race"}, headers=headers
                )
            return client.post(f"/api/v1/fills/{fill_id}/dispense", headers=headers)

        recall, dispense = run_at_once(app, 2, request)
        assert recall.status_code == 201, recall.get_json()
        assert dispense.status_code in (200, 409), dispense.get_json()
        listed = {f["id"]: f["status"] for f in recall.get_json()["fills"]}
        pulled = [f["id"] for f in recall.get_json()["fills_to_pull"]]
        status = _state(app, fill_id, lot)[0]
        if dispense.status_code == 200:
            assert listed[fill_id] == "dispensed" and pulled == [] and status == "dispensed"
        else:
            assert listed[fill_id] == "checked" and pulled == [fill_id] and status == "checked"


def test_recall_races_dispense(app):
    run_recall_races_dispense(app)
