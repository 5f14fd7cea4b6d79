"""Time the routine audit check from a checkpoint against the full check, and their memory.

SPEC 8.5 and 9: ``GET /api/v1/audit/verify`` must answer within a second however long the
chain (it checks only the events since the last signed checkpoint, at most 10,000 a call), and
``audit verify --full`` must run in constant memory (it streams the chain in keyset chunks).

The bench writes a chain of ``--events`` events (default 100,000) into a migrated SQLite
database (or the PostgreSQL database of ``--database-url``, which it empties first), hashed
exactly as ``audit.record`` hashes them, then:

* runs the full check and records its time and Python peak memory (tracemalloc), also for a
  chain a quarter as long, so the two peaks show the memory does not grow with the chain;
* appends 1,000 events and times ``GET /api/v1/audit/verify`` (from the checkpoint the full
  check left), and prints the ratio of the full check's time to the routine one's.

Run from the repository root: ``.venv/bin/python bench/bench_audit.py [--events N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NEW_EVENTS = 1000
BATCH = 5000
ROUTINE_BUDGET_S = 1.0


def _app(url: str, folder: Path):
    from pharmacy.app import create_app

    return create_app(
        {
            "TESTING": True,
            "PHARMACY_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "PHARMACY_INSTANCE": str(folder),
        }
    )


def _write_chain(app, count: int) -> None:
    """Append ``count`` events to the chain in bulk, hashed like ``audit.record``."""
    from sqlalchemy import insert

    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.models import AuditEvent, AuditHead
    from pharmacy.services import audit

    start = datetime(2016, 1, 1, 9, tzinfo=UTC)
    with app.app_context(), write_intent():
        key = audit.audit_key()
        head = db.session.get(AuditHead, 1) or AuditHead(id=1, seq=0, hash=audit.GENESIS_HASH)
        db.session.add(head)
        seq, prev = head.seq, head.hash
        rows = []
        for _ in range(count):
            seq += 1
            row = {
                "seq": seq,
                "occurred_dt": start + timedelta(minutes=seq),
                "actor_id": None,
                "actor": "system",
                "action": "fill.dispensed",
                "entity": "fill",
                "entity_id": str(seq),
                "before": {"status": "checked"},
                "after": {"status": "dispensed", "vials": 2},
                "request_id": None,
                "prev_hash": prev,
            }
            row["hash"] = prev = audit.event_hash(SimpleNamespace(**row), key)
            rows.append(row)
            if len(rows) == BATCH:
                db.session.execute(insert(AuditEvent), rows)
                rows = []
        if rows:
            db.session.execute(insert(AuditEvent), rows)
        head.seq, head.hash = seq, prev
        db.session.commit()


def _full_check(app) -> tuple[float, float, int]:
    """Return (seconds, peak MiB, events) of ``verify_chain(full=True)``.

    Timed in one run and measured (tracemalloc, which slows Python down) in another.
    """
    from pharmacy.extensions import db
    from pharmacy.services.audit import verify_chain

    with app.app_context():
        started = time.perf_counter()
        report = verify_chain(full=True)
        seconds = time.perf_counter() - started
        db.session.remove()
        tracemalloc.start()
        verify_chain(full=True)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        db.session.remove()
    assert report.ok, report.reason
    return seconds, peak, report.checked


def _routine_check(app) -> tuple[float, dict]:
    from tests.conftest import issue_token

    headers = {"Authorization": f"Bearer {issue_token(app, 'pharmacist')}"}
    client = app.test_client()
    started = time.perf_counter()
    response = client.get("/api/v1/audit/verify", headers=headers)
    seconds = time.perf_counter() - started
    body = response.get_json()
    assert response.status_code == 200 and body["ok"], body
    return seconds, body


def _prepare(url: str | None, folder: Path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from tests.factories import make_user

    app = _app(url or f"sqlite:///{folder / 'bench.sqlite3'}", folder)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            for table in ("audit_checkpoints", "audit_events", "audit_head", "api_tokens"):
                conn.execute(text(f"DELETE FROM {table}"))
        with write_intent():
            if (
                db.session.execute(
                    text("SELECT 1 FROM users WHERE username = 'pharmacist'")
                ).first()
                is None
            ):
                make_user("pharmacist", "pharmacist", full_name="Priya Shah")
        db.session.remove()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (emptied first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = _prepare(args.database_url, folder)
        quarter = args.events // 4
        _write_chain(app, quarter)
        small_s, small_peak, _ = _full_check(app)
        _write_chain(app, args.events - quarter)
        full_s, full_peak, checked = _full_check(app)
        _write_chain(app, NEW_EVENTS)
        routine_s, body = _routine_check(app)
        rate = checked / full_s
        print(
            f"audit chain of {checked:,} events ({'PostgreSQL' if args.database_url else 'SQLite'})"
        )
        print(
            f"  full check (--full):    {full_s:8.2f} s  {rate:>9,.0f} events/s  peak {full_peak:5.1f} MiB"
        )
        print(f"  full check, 1/4 chain:  {small_s:8.2f} s  {'':>16}  peak {small_peak:5.1f} MiB")
        print(
            f"  routine check (API):    {routine_s * 1000:8.1f} ms  {body['checked']:,} new events "
            f"from checkpoint {body['from_seq']:,}"
        )
        print(f"  ratio full / routine:   {full_s / routine_s:8.0f}x")
        verdict = "within" if routine_s < ROUTINE_BUDGET_S else "OVER"
        print(
            f"  routine check {verdict} the {ROUTINE_BUDGET_S:.0f} s budget; memory flat: "
            f"{'yes' if full_peak < small_peak * 1.5 + 1 else 'NO'}"
        )
        with app.app_context():
            from pharmacy.extensions import db

            db.engine.dispose()


if __name__ == "__main__":
    main()
