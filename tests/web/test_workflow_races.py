"""Two people acting on one order or one fill at the same moment (SQLite).

The same checks run on PostgreSQL in tests/pg/test_workflow_races_pg.py, where they
depend on the row locks in pharmacy/services/locks.py.
"""

from __future__ import annotations

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Fill, Order
from tests.concurrency import run_at_once
from tests.conftest import issue_token
from tests.factories import make_user


def _bearer(app, username):
    return {"Authorization": f"Bearer {issue_token(app, username)}"}


def check_two_pharmacists_decide_at_once(app):
    from tests.factories_fills import make_verified_order

    with app.app_context(), write_intent():
        make_user("pharmacist2", "pharmacist")
        rx = make_verified_order(status="submitted", verified_dt=None).rx_number
    headers = [_bearer(app, "pharmacist"), _bearer(app, "pharmacist2")]
    # SPEC 5.2: approving gives a reason for each warning the order has (computed again at
    # verification: the factory stores none).
    from pharmacy.services.orders import compute_alerts

    with app.app_context():
        order = db.session.execute(db.select(Order).filter_by(rx_number=rx)).scalar_one()
        acks = {a["code"]: "Checked" for a in compute_alerts(order) if a["level"] == "warning"}
        db.session.remove()
    bodies = [
        {"decision": "approve", "acknowledgements": acks},
        {"decision": "reject", "reason": "Duplicate of an earlier Rx"},
    ]
    statuses = run_at_once(
        app,
        2,
        lambda client, i: (
            client.post(
                f"/api/v1/orders/{rx}/verify", json=bodies[i], headers=headers[i]
            ).status_code
        ),
    )
    assert sorted(statuses) == [200, 409]
    with app.app_context():
        order = db.session.execute(db.select(Order).filter_by(rx_number=rx)).scalar_one()
        winner = "verified" if statuses[0] == 200 else "rejected"
        assert order.status == winner
        decisions = (
            db.session.execute(
                db.select(AuditEvent).where(
                    AuditEvent.entity_id == rx,
                    AuditEvent.action.in_(["order.verified", "order.rejected"]),
                )
            )
            .scalars()
            .all()
        )
        assert len(decisions) == 1


def check_dispense_and_void_at_once(app):
    from pharmacy.services.dispensing import check_fill
    from tests.factories import user
    from tests.factories_dispensing import make_labelled_fill, mark_printed, scans_for

    with app.app_context(), write_intent():
        fill = make_labelled_fill()
        mark_printed(fill)
        fill_id = fill.id
        assert check_fill(fill_id, scans_for(fill), user("pharmacist")).ok
        batch_id = fill.allocations[0].batch_id
        available_before = db.session.get(Batch, batch_id).vials_available
        vials = fill.vials
    headers = _bearer(app, "pharmacist")
    calls = [
        lambda c: c.post(f"/api/v1/fills/{fill_id}/dispense", json={}, headers=headers),
        lambda c: c.post(
            f"/api/v1/fills/{fill_id}/void", json={"reason": "Wrong patient"}, headers=headers
        ),
    ]
    statuses = run_at_once(app, 2, lambda client, i: calls[i](client).status_code)
    assert sorted(statuses) == [200, 409], statuses
    with app.app_context():
        fill = db.session.get(Fill, fill_id)
        available = db.session.get(Batch, batch_id).vials_available
        if statuses[0] == 200:  # dispensed: the vials left with the patient
            assert fill.status == "dispensed" and available == available_before
        else:  # voided: the vials went back to stock, exactly once
            assert fill.status == "voided" and available == available_before + vials


def test_two_pharmacists_decide_one_order_sqlite(app):
    check_two_pharmacists_decide_at_once(app)


def test_dispense_and_void_race_sqlite(app):
    check_dispense_and_void_at_once(app)
