"""The audit trail: append-only events chained by SHA-256.

Every service that changes state calls :func:`record` inside its own transaction,
so the event and the change commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, AuditHead, User, now_utc
from pharmacy.services.paging import Cursor, Page, read_page

GENESIS_HASH = "0" * 64

# The id of the HTTP request being served, set by the web layer for each request (the CLI and
# the demo loader leave it unset): events record it without the services reading flask.g.
_request_id: ContextVar[str | None] = ContextVar("audit_request_id", default=None)


def bind_request_id(request_id: str | None) -> Token[str | None]:
    """Stamp the events this context records with ``request_id``; return a reset token."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    """Undo :func:`bind_request_id`."""
    _request_id.reset(token)


def jsonable(value: Any) -> Any:
    """Return ``value`` with Decimals, dates and sets turned into JSON-stable forms."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _digest(event: AuditEvent) -> str:
    """Return the SHA-256 of the event's canonical JSON form (its hash excluded)."""
    payload = {
        "seq": event.seq,
        "occurred_dt": event.occurred_dt.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_head() -> AuditHead:
    """Return the chain tip, locked for this transaction (creating it on first use)."""
    head = db.session.execute(
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS_HASH)
        db.session.add(head)
        db.session.flush()
    return head


def record(
    action: str,
    entity: str,
    entity_id: Any,
    *,
    actor: User | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append an event to the caller's transaction; the caller commits.

    :param action: a verb phrase such as ``order.verified``.
    :param entity: the kind of thing changed (``order``, ``batch``, ``user`` ...).
    :param actor: who did it; ``None`` means the system (CLI, demo loader).
    """
    head = _lock_head()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_dt=now_utc(),
        actor_id=actor.id if actor is not None else None,
        actor=actor.username if actor is not None else "system",
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        request_id=_request_id.get(),
        prev_hash=head.hash,
    )
    event.hash = _digest(event)
    head.seq = event.seq
    head.hash = event.hash
    db.session.add(event)
    return event


FILTERS = {
    "entity": AuditEvent.entity,
    "entity_id": AuditEvent.entity_id,
    "actor": AuditEvent.actor,
    "action": AuditEvent.action,
}


def list_events(filters: dict[str, str], cursor: Cursor | None = None) -> Page[AuditEvent]:
    """Return one page of events, newest first, matching ``filters`` (entity, entity_id, actor).

    Paged by sequence number without counting: the trail grows by millions of events.
    """
    query = select(AuditEvent)
    for name, column in FILTERS.items():
        if filters.get(name):
            query = query.where(column == filters[name])
    return read_page(query, AuditEvent.seq, cursor or Cursor(), key=lambda event: event.seq)


@dataclass(frozen=True)
class ChainReport:
    """Result of verifying the chain."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    def to_dict(self) -> dict:
        """Return the API form ``{"ok", "checked", "broken"?}``."""
        data: dict[str, Any] = {"ok": self.ok, "checked": self.checked}
        if not self.ok:
            data["broken"] = {"id": self.broken_id, "seq": self.broken_seq, "reason": self.reason}
        return data


def verify_chain() -> ChainReport:
    """Recompute every event's hash in order and report the first broken link.

    Detects edited rows (hash mismatch), deleted rows (a gap in ``seq`` or a
    ``prev_hash`` that does not match), and a tip that does not match the last event.
    """
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    events = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    for event in events:
        if event.seq != expected_seq:
            return ChainReport(
                False,
                checked,
                expected_seq,
                event.id,
                f"event {expected_seq} is missing (deleted?)",
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                False,
                checked,
                event.seq,
                event.id,
                "previous-hash link does not match the event before it",
            )
        if _digest(event) != event.hash:
            return ChainReport(
                False,
                checked,
                event.seq,
                event.id,
                "contents do not match the stored hash (edited?)",
            )
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev_hash):
        return ChainReport(
            False,
            checked,
            checked + 1,
            None,
            "the chain ends early: the latest events are missing (deleted?)",
        )
    return ChainReport(True, checked)
