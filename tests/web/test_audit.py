"""The hash-chained audit trail detects edited and deleted events."""

from __future__ import annotations

from sqlalchemy import text

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent
from pharmacy.services import audit
from tests.factories import PASSWORD, user


def _record_events(app, n=3):
    with app.app_context(), write_intent():
        for i in range(n):
            audit.record(
                "test.event", "thing", i, actor=user("admin"), before={"n": i}, after={"n": i + 1}
            )
        db.session.commit()


def test_intact_chain_verifies(app, runner, client, api):
    _record_events(app)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "Audit chain OK" in result.output
    body = client.get("/api/v1/audit/verify", headers=api("pharmacist")).json
    # The CLI's check left a checkpoint: the API checks only what came after it (SPEC 8.5).
    assert body["ok"] is True and body["through_seq"] >= 3 and body["from_seq"] >= 3


def test_edited_row_is_named(app, runner, client, api):
    _record_events(app, 4)
    with app.app_context():
        target = db.session.execute(
            db.select(AuditEvent).order_by(AuditEvent.seq.desc()).offset(1).limit(1)
        ).scalar_one()
        seq, event_id = target.seq, target.id
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_events SET actor = 'mallory' WHERE id = :id"), {"id": event_id}
            )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event seq {seq} (id {event_id})" in result.output
    assert "edited" in result.output
    body = client.get("/api/v1/audit/verify", headers=api("admin")).json
    assert body["ok"] is False and body["broken"]["seq"] == seq


def test_deleted_row_is_named(app, runner):
    _record_events(app, 3)
    with app.app_context():
        first = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.seq)).scalars().first()
        seq = first.seq
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": seq})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"seq {seq}" in result.output and "deleted" in result.output


def test_deleting_the_latest_event_is_detected(app, runner):
    _record_events(app, 3)
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(
                text("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
            )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "ends early" in result.output


def test_events_page_through_and_filter(app, client, api):
    _record_events(app, 5)
    h = api("pharmacist")
    body = client.get("/api/v1/audit?entity=thing&limit=2", headers=h).json
    assert len(body["events"]) == 2 and body["prev"] is None
    assert body["events"][0]["seq"] > body["events"][1]["seq"]
    assert body["events"][0]["actor"] == "admin"
    page2 = client.get(body["next"], headers=h).json
    page3 = client.get(page2["next"], headers=h).json
    assert len(page2["events"]) == 2 and len(page3["events"]) == 1 and page3["next"] is None
    seqs = [e["seq"] for p in (body, page2, page3) for e in p["events"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 5
    assert [e["seq"] for e in client.get(page3["prev"], headers=h).json["events"]] == seqs[2:4]
    bad = client.get("/api/v1/audit?limit=lots", headers=h)
    assert bad.status_code == 422 and "limit" in bad.json["error"]["fields"]


def test_audit_page_shows_events_and_verification(app, client, as_user):
    _record_events(app, 2)
    as_user("pharmacist")
    page = client.get("/admin/audit?verify=1&entity=thing")
    assert page.status_code == 200
    assert b"Chain intact" in page.data and b"test.event" in page.data


def test_backup_copies_the_sqlite_database(app, runner, tmp_path):
    target = tmp_path / "backup.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    import sqlite3

    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 5


def test_event_records_the_request_id(app, client):
    """The web layer binds X-Request-ID; the audit service reads it without flask.g."""
    response = client.post(
        "/api/v1/tokens",
        auth=("pharmacist", PASSWORD),
        headers={"X-Request-ID": "req-audit-1"},
    )
    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == "req-audit-1"
    with app.app_context():
        event = db.session.execute(
            db.select(AuditEvent)
            .where(AuditEvent.action == "token.issued")
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).scalar_one()
        assert event.request_id == "req-audit-1"
    # Outside a request (CLI, demo loader, tests) events carry none.
    _record_events(app, 1)
    with app.app_context():
        last = db.session.execute(
            db.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
        ).scalar_one()
        assert last.request_id is None
