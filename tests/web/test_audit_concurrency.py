"""Concurrent writers never fork the audit chain (SQLite)."""

from __future__ import annotations

import base64

from pharmacy.extensions import db
from pharmacy.models import AuditEvent
from pharmacy.services.audit import verify_chain
from tests.concurrency import run_at_once
from tests.factories import PASSWORD

BASIC = {"Authorization": "Basic " + base64.b64encode(f"technician:{PASSWORD}".encode()).decode()}


def check_parallel_token_issue(app, count=8):
    statuses = run_at_once(
        app, count, lambda client, i: client.post("/api/v1/tokens", headers=BASIC).status_code
    )
    assert statuses == [201] * count
    with app.app_context():
        report = verify_chain()
        assert report.ok, report.reason
        seqs = (
            db.session.execute(db.select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()
        )
        assert seqs == list(range(1, len(seqs) + 1))
        issued = db.session.execute(
            db.select(db.func.count()).select_from(AuditEvent).filter_by(action="token.issued")
        ).scalar_one()
        assert issued == count


def test_parallel_writers_keep_one_chain_sqlite(app):
    check_parallel_token_issue(app)
