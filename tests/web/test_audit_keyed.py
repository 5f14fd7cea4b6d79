"""The keyed audit chain (SPEC 8.5): HMAC with AUDIT_KEY, signed checkpoints, streaming checks."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import text

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditCheckpoint, AuditEvent, AuditHead, now_utc
from pharmacy.services import audit
from tests.conftest import _make_app
from tests.factories import user

ROOT = Path(__file__).resolve().parent.parent.parent


def _record(app, n: int, start: int = 0, *, system: bool = False) -> None:
    with app.app_context(), write_intent():
        actor = None if system else user("admin")
        for i in range(start, start + n):
            audit.record("test.event", "thing", i, actor=actor, after={"n": i})
        db.session.commit()


def select_events():
    return db.select(AuditEvent).order_by(AuditEvent.seq)


def _rewrite_from(app, seq: int, change: dict, rehash) -> None:
    """Edit event ``seq`` and recompute it and every later hash with ``rehash`` (no key)."""
    with app.app_context(), write_intent():
        events = db.session.execute(select_events()).scalars().all()
        prev = None
        for event in events:
            if event.seq == seq:
                for name, value in change.items():
                    setattr(event, name, value)
            if event.seq >= seq:
                event.prev_hash = prev
                event.hash = rehash(event)
            prev = event.hash
        db.session.get(AuditHead, 1).hash = prev
        db.session.commit()


def _sha256(event) -> str:
    return hashlib.sha256(audit.canonical(event)).hexdigest()


def test_each_hash_is_an_hmac_keyed_by_audit_key(app):
    _record(app, 2)
    with app.app_context():
        event = db.session.execute(select_events()).scalars().first()
        assert event.hash == audit.event_hash(event, app.config["AUDIT_KEY"].encode())
        assert event.hash != _sha256(event)
        assert event.hash != audit.event_hash(event, b"another key")


@pytest.mark.parametrize(
    "rehash",
    [_sha256, lambda event: audit.event_hash(event, b"a guessed key")],
    ids=["plain-sha256", "wrong-key"],
)
def test_an_edited_event_is_found_even_with_later_hashes_recomputed(app, runner, rehash):
    _record(app, 6)
    _rewrite_from(app, 3, {"actor": "mallory"}, rehash)
    result = runner.invoke(args=["audit", "verify", "--full"])
    assert result.exit_code == 1
    assert "BROKEN at event seq 3" in result.output and "edited" in result.output
    with app.app_context():
        report = audit.verify_chain()
        assert not report.ok and report.broken_seq == 3 and report.checked == 2


def test_routine_checks_start_from_the_last_checkpoint(app, client, api):
    _record(app, 5)
    with app.app_context():
        first = audit.verify_chain()
        assert (first.ok, first.checked, first.from_seq, first.through_seq) == (True, 5, 0, 5)
    _record(app, 3, start=5)
    body = client.get("/api/v1/audit/verify", headers=api("pharmacist")).get_json()
    # The token issued for the call is an event too: 3 recorded + 1 token.
    assert body == {
        "ok": True,
        "checked": 4,
        "from_seq": 5,
        "through_seq": 9,
        "pending": 0,
        "full": False,
    }
    with app.app_context():
        again = audit.verify_chain()
        assert (again.ok, again.checked, again.from_seq) == (True, 0, 9)
        checkpoints = (
            db.session.execute(db.select(AuditCheckpoint.seq).order_by(AuditCheckpoint.id))
            .scalars()
            .all()
        )
        assert checkpoints == [5, 9]


def test_a_bounded_check_leaves_the_rest_for_the_next(app):
    _record(app, 7)
    with app.app_context():
        part = audit.verify_chain(limit=3)
        assert (part.ok, part.checked, part.through_seq, part.pending) == (True, 3, 3, 4)
        rest = audit.verify_chain(limit=3)
        assert (rest.checked, rest.from_seq, rest.through_seq, rest.pending) == (3, 3, 6, 1)
        last = audit.verify_chain(limit=3)
        assert (last.checked, last.through_seq, last.pending) == (1, 7, 0)


def test_the_api_checks_a_bounded_number_of_events_a_call(app, client, api, monkeypatch):
    monkeypatch.setattr(audit, "ROUTINE_LIMIT", 4)
    _record(app, 9)
    headers = api("admin")  # issuing the token is event 10
    seen = [client.get("/api/v1/audit/verify", headers=headers).get_json() for _ in range(4)]
    assert [(b["checked"], b["through_seq"], b["pending"]) for b in seen] == [
        (4, 4, 6),
        (4, 8, 2),
        (2, 10, 0),
        (0, 10, 0),
    ]
    assert all(b["ok"] for b in seen)


def test_an_edit_before_the_checkpoint_needs_the_full_check(app, runner):
    _record(app, 5)
    with app.app_context():
        assert audit.verify_chain().ok
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    routine = runner.invoke(args=["audit", "verify"])
    assert routine.exit_code == 0 and "from checkpoint at event 5" in routine.output
    full = runner.invoke(args=["audit", "verify", "--full"])
    assert full.exit_code == 1 and "seq 2" in full.output


def test_the_event_at_the_checkpoint_cannot_change(app):
    _record(app, 4)
    with app.app_context():
        assert audit.verify_chain().ok
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET hash = :h WHERE seq = 4"), {"h": "f" * 64})
        report = audit.verify_chain()
        assert not report.ok and "checkpoint" in report.reason


def test_a_forged_checkpoint_is_refused(app):
    _record(app, 4)
    _rewrite_from(app, 2, {"actor": "mallory"}, _sha256)
    with app.app_context(), write_intent():
        last = (
            db.session.execute(db.select(AuditEvent).order_by(AuditEvent.seq.desc()))
            .scalars()
            .first()
        )
        # A checkpoint at the end, "signed" without the key, to skip the edited events.
        db.session.add(
            AuditCheckpoint(
                seq=last.seq,
                hash=last.hash,
                full=True,
                signature="0" * 64,
                created_dt=now_utc(),
            )
        )
        db.session.commit()
        report = audit.verify_chain()
        assert not report.ok and "not signed with AUDIT_KEY" in report.reason


def test_deleting_the_chain_tip_is_detected(app):
    _record(app, 2)
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_head"))
        assert not audit.verify_chain(full=True).ok


def test_the_full_check_streams_in_chunks_with_a_progress_bar(app, runner, monkeypatch):
    monkeypatch.setattr(audit, "CHUNK", 4)
    _record(app, 11)
    result = runner.invoke(args=["audit", "verify", "--full"])
    assert result.exit_code == 0, result.output
    assert "Audit chain OK: 11 events checked (full check" in result.output
    assert "Verifying" in result.output
    with app.app_context():
        seen: list[tuple[int, int]] = []
        audit.verify_chain(full=True, progress=lambda done, total: seen.append((done, total)))
        assert seen == [(4, 11), (8, 11), (11, 11)]


def test_audit_key_is_required_outside_development(tmp_path):
    with pytest.raises(RuntimeError, match="AUDIT_KEY"):
        _make_app(
            f"sqlite:///{tmp_path / 'p.sqlite3'}",
            tmp_path,
            PHARMACY_ENV="production",
            TESTING=False,
        )
    app = _make_app(
        f"sqlite:///{tmp_path / 'q.sqlite3'}",
        tmp_path,
        PHARMACY_ENV="production",
        TESTING=False,
        AUDIT_KEY="a-production-key",
    )
    assert app.config["AUDIT_KEY"] == "a-production-key"


def test_a_chain_made_with_another_key_does_not_verify(app, sqlite_template, tmp_path):
    _record(app, 3)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    other = _make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, AUDIT_KEY="other-key")
    with other.app_context():
        report = audit.verify_chain(full=True)
        assert not report.ok and report.broken_seq == 1
        db.engine.dispose()


# --- the migration from version 1 (plain SHA-256) ---------------------------------------


def _v1_hash(row: dict) -> str:
    payload = dict(row)
    payload["occurred_dt"] = row["occurred_dt"].isoformat()
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _before_keying() -> str:
    """Return the revision the keying migration follows (whoever lands second re-points it)."""
    source = (ROOT / "migrations" / "versions" / "v2_keyed_audit.py").read_text()
    return re.search(r'^down_revision = "([^"]+)"', source, re.MULTILINE).group(1)


def _v1_database(tmp_path, events: int, break_at: int | None = None, url: str | None = None):
    """Return an app whose database stops just before v2_keyed_audit, with a version-1 chain.

    :param url: an empty database to use (PostgreSQL); default a new SQLite file.
    """
    from flask_migrate import upgrade

    app = _make_app(url or f"sqlite:///{tmp_path / 'v1.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision=_before_keying())
        prev = "0" * 64
        rows = []
        with db.engine.begin() as conn:
            for seq in range(1, events + 1):
                row = {
                    "seq": seq,
                    "occurred_dt": datetime(2026, 5, 1, 9, tzinfo=UTC) + timedelta(minutes=seq),
                    "actor_id": None,
                    "actor": "system",
                    "action": "order.created",
                    "entity": "order",
                    "entity_id": str(100000 + seq),
                    "before": None,
                    "after": {"status": "submitted", "dose_mcg": "1000", "note": "café"},
                    "request_id": None,
                    "prev_hash": prev,
                }
                digest = _v1_hash(row)
                if seq == break_at:
                    row["actor"] = "mallory"  # edited after it was hashed
                rows.append(
                    dict(
                        row,
                        occurred_dt=row["occurred_dt"].replace(tzinfo=None),
                        after=json.dumps(row["after"]),
                        hash=digest,
                    )
                )
                prev = digest
            after = "CAST(:after AS JSON)" if conn.dialect.name == "postgresql" else ":after"
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, occurred_dt, actor_id, actor, action,"
                    " entity, entity_id, before, after, request_id, prev_hash, hash) VALUES"
                    " (:seq, :occurred_dt, :actor_id, :actor, :action, :entity, :entity_id,"
                    f" NULL, {after}, NULL, :prev_hash, :hash)"
                ),
                rows,
            )
            conn.execute(text("DELETE FROM audit_head"))
            conn.execute(
                text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :s, :h)"),
                {"s": events, "h": prev},
            )
    return app


def test_the_migration_rekeys_a_version_1_chain(tmp_path, url=None):
    from flask_migrate import upgrade

    # More than one of the migration's 5,000-event chunks.
    app = _v1_database(tmp_path, 5003, url=url)
    with app.app_context():
        upgrade()
        report = audit.verify_chain(full=True)
        assert report.ok and report.checked == 5003
        first = db.session.execute(select_events()).scalars().first()
        assert first.hash == audit.event_hash(first, app.config["AUDIT_KEY"].encode())
        assert (
            db.session.get(AuditHead, 1).hash
            == db.session.execute(
                db.select(AuditEvent.hash).where(AuditEvent.seq == 5003)
            ).scalar_one()
        )
    _record(app, 2, system=True)  # the chain goes on from the re-keyed tip
    with app.app_context():
        assert audit.verify_chain(full=True).checked == 5005
        db.engine.dispose()


def test_the_migration_refuses_a_broken_version_1_chain(tmp_path):
    from flask_migrate import upgrade

    app = _v1_database(tmp_path, 5, break_at=3)
    with app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits 1
            upgrade()
        # Nothing was re-keyed (SQLite runs the migration in one transaction).
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == _before_keying()
        db.session.remove()
        db.engine.dispose()


def test_a_generated_history_verifies(sqlite_template, tmp_path):
    from pharmacy.services.demo import load_demo
    from pharmacy.services.history import generate_history

    path = tmp_path / "history.sqlite3"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path)
    now = datetime(2026, 11, 30, 15, tzinfo=UTC)
    with time_machine.travel(now, tick=False), app.app_context(), write_intent():
        load_demo()
        generate_history(0.03, now=now, orders_per_day=10, seed=3)
        db.session.remove()
        # The generator leaves a signed checkpoint at its tip: a routine check has nothing
        # left to do, and the full check re-hashes the whole chain.
        routine = audit.verify_chain()
        assert routine.ok and routine.checked == 0 and routine.pending == 0
        report = audit.verify_chain(full=True)
        assert report.ok, report.reason
        assert report.checked > 100
        db.engine.dispose()
