"""The chain check reads plain rows and encodes them its own way, for speed (SPEC 9: at
least 50,000 events a second). Its bytes must be exactly ``audit.canonical``'s, whatever an
event holds, and it must stay as strict: every edit is still found."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import AuditEvent
from pharmacy.services import audit
from pharmacy.services.audit import bind_request_id, unbind_request_id
from tests.factories import user

# Values an event's before and after can hold once ``jsonable`` has made them JSON-stable.
AWKWARD = [
    ({"status": "checked"}, {"status": "dispensed", "vials": 2}),
    (None, {"name": 'Zoë "Zo" O\'Brien \\ née Ångström', "note": "tab\there\nnew line"}),
    ({"control": "\x00\x01\x1f\x7f", "separators": "\u2028\u2029", "emoji": "💉🧪"}, None),
    ({"dose": Decimal("1000.50"), "on": date(2026, 2, 28), "tags": {"b", "a"}}, {}),
    ({"z": 1, "a": [3, 2, 1], "m": {"y": None, "b": True, "a": False}}, {"nested": [[{}]]}),
    ({"big": 2**70, "neg": -5, "float": 0.1, "exp": 1e22, "tiny": 5e-324}, {"x": 1.5}),
    ({"": "empty key", "10": "ten", "9": "nine", "é": "accent", "E": "upper"}, {"n": 0}),
]


def _record_awkward(app) -> None:
    with app.app_context(), write_intent():
        admin = user("admin")
        for i, (before, after) in enumerate(AWKWARD):
            token = bind_request_id(f"req-{i}-ü" if i % 2 else None)
            try:
                audit.record(
                    "test.awkward",
                    "thing",
                    f"id-{i}/é",
                    actor=admin if i % 3 else None,
                    before=before,
                    after=after,
                )
            finally:
                unbind_request_id(token)
            db.session.commit()


def _check_fast_form_matches(app) -> None:
    with app.app_context():
        events = {e.seq: e for e in db.session.execute(db.select(AuditEvent)).scalars().all()}
        encode = audit._chunk_encoder()
        rows = list(audit._stream(0, max(events)))
        assert [row[1] for row in rows] == sorted(events)
        for row in rows:
            event = events[row[1]]
            assert audit._row_canonical(encode, *row[1:12]) == audit.canonical(event), row[1]
        report = audit.verify_chain(full=True)
        assert report.ok and report.checked == len(events)


EDITS = {
    "json": 'UPDATE audit_events SET after = \'{"status": "dispensed", "vials": 3}\'',
    "json-null": "UPDATE audit_events SET before = NULL",
    "actor": "UPDATE audit_events SET actor = 'mallory'",
    "request": "UPDATE audit_events SET request_id = 'req-forged'",
    "entity": "UPDATE audit_events SET entity_id = 'id-0/e'",
    "time": {
        "postgresql": "UPDATE audit_events SET occurred_dt = occurred_dt + interval '1 microsecond'",
        "sqlite": "UPDATE audit_events SET occurred_dt = datetime(occurred_dt, '+1 second')",
    },
}


def _check_edit_is_found(app, name: str) -> None:
    """Edit the first event's stored row behind the ORM's back: the check names it."""
    edit = EDITS[name]
    with app.app_context():
        if isinstance(edit, dict):
            edit = edit[db.engine.dialect.name]
        assert audit.verify_chain(full=True).ok
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text(edit + " WHERE seq = 1"))
        report = audit.verify_chain(full=True)
    assert not report.ok and report.broken_seq == 1, name
    assert "edited" in report.reason


def test_fast_form_is_the_canonical_form(app):
    _record_awkward(app)
    _check_fast_form_matches(app)


@pytest.mark.parametrize("name", EDITS)
def test_edits_of_stored_json_and_columns_are_found(app, name):
    _record_awkward(app)
    _check_edit_is_found(app, name)


def test_json_text_with_spaces_around_it_reads_as_before(app):
    """Stored text the plain decoder accepts (spaces around the value) is read the same."""
    _record_awkward(app)
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET after = ' ' || after || '  '"))
        assert audit.verify_chain(full=True).ok


@pytest.mark.pg
def test_fast_form_is_the_canonical_form_on_postgresql(pg_app):
    _record_awkward(pg_app)
    _check_fast_form_matches(pg_app)


@pytest.mark.pg
@pytest.mark.parametrize("name", ["json", "json-null", "time"])
def test_edits_are_found_on_postgresql(pg_app, name):
    _record_awkward(pg_app)
    _check_edit_is_found(pg_app, name)


def test_without_the_c_encoder_the_python_one_gives_the_same_text(monkeypatch):
    import json.encoder

    fast = audit._chunk_encoder()
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    slow = audit._chunk_encoder()
    for before, after in AWKWARD:
        value = {"before": audit.jsonable(before), "after": audit.jsonable(after), "seq": 1}
        assert "".join(slow(value, 0)) == "".join(fast(value, 0)) == audit._ENCODE(value)
