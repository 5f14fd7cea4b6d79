"""The audit trail: append-only events chained by HMAC-SHA-256 (SPEC 2.9, 8.5).

Every service that changes state calls :func:`record` inside its own transaction,
so the event and the change commit together or not at all.

Each event's hash is an HMAC keyed by ``AUDIT_KEY`` (kept outside the database) over the
event's canonical JSON, which includes the previous event's hash. Whoever can write to the
database but lacks the key can neither edit an event nor recompute the later hashes to match.

Verification streams the chain in keyset chunks (constant memory) and starts from the last
*checkpoint*: a row in ``audit_checkpoints`` signed with the same key, written after each
successful check. Routine checks (``GET /audit/verify``, the admin page, ``audit verify``)
cover only the events since then, bounded per request; ``audit verify --full`` checks all.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Text, cast, select, type_coerce
from sqlalchemy.exc import OperationalError

from pharmacy.extensions import db
from pharmacy.models import AuditCheckpoint, AuditEvent, AuditHead, User, now_utc
from pharmacy.services.paging import Cursor, Page, read_page

GENESIS_HASH = "0" * 64

logger = logging.getLogger(__name__)

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


# Where the key comes from: ``create_app`` registers a reader of the current app's
# ``AUDIT_KEY``, so this module needs no web framework to find it.
_key_source: Callable[[], str] | None = None


def set_key_source(source: Callable[[], str]) -> None:
    """Register the function that returns the current ``AUDIT_KEY`` (called by ``create_app``)."""
    global _key_source
    _key_source = source


def audit_key() -> bytes:
    """Return the chain's HMAC key.

    :raise RuntimeError: no app registered a key source yet.
    """
    if _key_source is None:
        raise RuntimeError("the audit key is not configured: create the app first")
    return _key_source().encode("utf-8")


# One encoder and decoder for every event: ``json.dumps`` with options builds a new encoder
# per call, which was a third of the cost of checking an event.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_ENCODE = _ENCODER.encode
_DECODE = json.JSONDecoder().decode
_RAW_DECODE = json.JSONDecoder().raw_decode


def _chunk_encoder() -> Callable[[Any, int], Sequence[str]]:
    """Return the encoder ``_ENCODE`` itself builds on each call, built once.

    ``JSONEncoder.encode`` makes the C encoder anew for every value it encodes, with a dict
    to detect cycles; the verifier encodes millions of values fresh from the JSON decoder,
    which have no cycles, so it keeps one. Same separators, key order, escaping and number
    forms: the bytes are the same (the tests compare them with ``canonical``).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C speedups in this Python: the encoder's own iterator
        return lambda value, _level: list(_ENCODER.iterencode(value))
    return make(
        None,  # no cycle check
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # no indent
        ":",
        ",",
        True,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan, as JSONEncoder's default
    )


def canonical(event: Any) -> bytes:
    """Return the event's canonical JSON form (its hash excluded), as bytes.

    ``event`` is an :class:`AuditEvent` or anything with the same attributes (the history
    generator hashes plain namespaces).
    """
    return _canonical(event, event.before, event.after)


def _canonical(event: Any, before: Any, after: Any) -> bytes:
    payload = {
        "seq": event.seq,
        "occurred_dt": event.occurred_dt.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "before": before,
        "after": after,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    return _ENCODE(payload).encode("utf-8")


def event_hash(event: Any, key: bytes) -> str:
    """Return the event's HMAC-SHA-256 under ``key``, in hex."""
    return hmac.digest(key, canonical(event), "sha256").hex()


def _decode(text: str | None) -> Any:
    """Return stored JSON text as a value, exactly as ``_DECODE`` reads it (None: NULL)."""
    if text is None:
        return None
    try:
        value, end = _RAW_DECODE(text)
    except ValueError:
        end = -1
    # The value alone when it was the whole text; anything else (spaces around it, extra
    # data, bad JSON) goes to the full decoder, which reads or refuses it as before.
    return value if end == len(text) else _DECODE(text)


def _row_canonical(
    encode: Callable[[Any, int], Sequence[str]],
    seq: int,
    occurred: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: str | None,
    after: str | None,
    request_id: str | None,
    prev_hash: str,
) -> bytes:
    """Return ``canonical`` of a streamed row: ``occurred`` naive UTC, ``before`` and
    ``after`` JSON text. The verifier's fast form of the same bytes."""
    payload = {
        "seq": seq,
        # The UTC datetime's isoformat(), without building the aware datetime.
        "occurred_dt": occurred.isoformat() + "+00:00",
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": _decode(before),
        "after": _decode(after),
        "request_id": request_id,
        "prev_hash": prev_hash,
    }
    return "".join(encode(payload, 0)).encode("utf-8")


def _checkpoint_signature(seq: int, hash_: str, key: bytes) -> str:
    return hmac.digest(key, f"audit-checkpoint:{seq}:{hash_}".encode(), "sha256").hex()


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
    event.hash = event_hash(event, audit_key())
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
    """Result of verifying the chain (or the part of it since the last checkpoint)."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    from_seq: int = 0  # the checkpoint the check started from (0: the start of the chain)
    through_seq: int = 0  # the last event found intact
    pending: int = 0  # events left for the next check when a bounded check stopped early
    full: bool = False

    def to_dict(self) -> dict:
        """Return the API form ``{"ok", "checked", "from_seq", "through_seq", "pending"}``."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "checked": self.checked,
            "from_seq": self.from_seq,
            "through_seq": self.through_seq,
            "pending": self.pending,
            "full": self.full,
        }
        if not self.ok:
            data["broken"] = {"id": self.broken_id, "seq": self.broken_seq, "reason": self.reason}
        return data


CHUNK = 5000  # events fetched at a time (and the progress step): memory stays flat
ROUTINE_LIMIT = 10_000  # events one request verifies at most: under a second on a busy server

# Plain values, with no per-row conversion by SQLAlchemy: the JSON as text (decoded once
# by _decode) and the time as the naive UTC the column stores (UTCDateTime would make every
# one aware only for _row_canonical to print it).
_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    type_coerce(AuditEvent.occurred_dt, DateTime()).label("occurred_dt"),
    AuditEvent.actor_id,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.entity,
    AuditEvent.entity_id,
    cast(AuditEvent.before, Text).label("before"),
    cast(AuditEvent.after, Text).label("after"),
    AuditEvent.request_id,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def _stream(after_seq: int, through_seq: int) -> Iterator[Sequence[Any]]:
    """Yield the rows of events ``after_seq < seq <= through_seq`` in order, as tuples.

    One query read through a server-side cursor (PostgreSQL) ``CHUNK`` rows at a time, so
    memory does not grow with the chain.
    """
    result = db.session.connection().execute(
        select(*_COLUMNS)
        .where(AuditEvent.seq > after_seq, AuditEvent.seq <= through_seq)
        .order_by(AuditEvent.seq),
        execution_options={"stream_results": True, "yield_per": CHUNK},
    )
    try:
        for rows in result.partitions():
            yield from rows
    finally:
        result.close()


def _start(key: bytes, full: bool) -> tuple[int, str, ChainReport | None]:
    """Return where to start (seq, hash), or a broken report when the checkpoint is bad."""
    if full:
        return 0, GENESIS_HASH, None
    checkpoint = db.session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).scalar_one_or_none()
    if checkpoint is None:
        return 0, GENESIS_HASH, None
    expected = _checkpoint_signature(checkpoint.seq, checkpoint.hash, key)
    if not hmac.compare_digest(expected, checkpoint.signature):
        return (
            0,
            GENESIS_HASH,
            ChainReport(
                False,
                0,
                checkpoint.seq,
                None,
                "the latest checkpoint is not signed with AUDIT_KEY (forged?): run a full check",
                from_seq=checkpoint.seq,
            ),
        )
    stored = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.seq == checkpoint.seq)
    ).one_or_none()
    if stored is None or stored.hash != checkpoint.hash:
        return (
            0,
            GENESIS_HASH,
            ChainReport(
                False,
                0,
                checkpoint.seq,
                stored.id if stored else None,
                "the event at the last checkpoint was changed or deleted since it was verified",
                from_seq=checkpoint.seq,
            ),
        )
    return checkpoint.seq, checkpoint.hash, None


def _save_checkpoint(seq: int, hash_: str, key: bytes, *, full: bool) -> None:
    """Record a signed checkpoint and commit (the check owns its transaction).

    Best effort: a checkpoint only saves work. If SQLite refuses to turn this reader into a
    writer because another request wrote meanwhile, the next check simply starts earlier.
    """
    db.session.add(
        AuditCheckpoint(
            seq=seq,
            hash=hash_,
            full=full,
            created_dt=now_utc(),
            signature=_checkpoint_signature(seq, hash_, key),
        )
    )
    try:
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        logger.warning("audit checkpoint at event %s not saved (database busy)", seq)


def checkpoint_tip() -> None:
    """Record a signed checkpoint at the chain's tip, for a writer that hashed every event
    itself (the history generator), so routine checks start after what it wrote."""
    head = db.session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one_or_none()
    if head is not None and head.seq:
        _save_checkpoint(head.seq, head.hash, audit_key(), full=False)


def verify_chain(
    *,
    full: bool = False,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ChainReport:
    """Recompute each event's HMAC in order and report the first broken link.

    Starts from the last signed checkpoint (or the start of the chain when ``full``) and
    checks at most ``limit`` events; a successful check records a new checkpoint. Detects
    edited rows (hash mismatch, even when later hashes were recomputed without the key),
    deleted rows (a gap in ``seq`` or a ``prev_hash`` that does not match), a tip that does
    not match the last event, and a forged or outdated checkpoint.

    :param progress: called as ``progress(done, total)`` after each chunk (the CLI's bar).
    """
    key = audit_key()
    # Read the tip first: every event up to it was committed with it, so events appended
    # while we check are left for the next check instead of looking like a broken end.
    head = db.session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    if head is None and db.session.execute(select(AuditEvent.id).limit(1)).first() is not None:
        return ChainReport(False, 0, 1, None, "the chain's tip record is missing (deleted?)")
    from_seq, prev_hash, bad = _start(key, full)
    if bad is not None:
        return bad
    through = head_seq if limit is None else min(head_seq, from_seq + limit)
    total = max(0, through - from_seq)
    expected_seq = from_seq + 1
    checked = 0

    def broken(event: Any, seq: int, reason: str) -> ChainReport:
        return ChainReport(
            False,
            checked,
            seq,
            event.id if event is not None else None,
            reason,
            from_seq=from_seq,
            through_seq=expected_seq - 1,
            full=full,
        )

    encode = _chunk_encoder()
    digest, compare = hmac.digest, hmac.compare_digest
    for row in _stream(from_seq, through):
        (_id, seq, occurred, actor_id, actor, action, entity, entity_id) = row[:8]
        (before, after, request_id, stored_prev, stored_hash) = row[8:]
        if seq != expected_seq:
            return broken(row, expected_seq, f"event {expected_seq} is missing (deleted?)")
        if stored_prev != prev_hash:
            return broken(row, seq, "previous-hash link does not match the event before it")
        message = _row_canonical(
            encode,
            seq,
            occurred,
            actor_id,
            actor,
            action,
            entity,
            entity_id,
            before,
            after,
            request_id,
            stored_prev,
        )
        if not compare(digest(key, message, "sha256").hex(), stored_hash):
            return broken(row, seq, "contents do not match the stored hash (edited?)")
        prev_hash = stored_hash
        expected_seq += 1
        checked += 1
        if progress is not None and checked % CHUNK == 0:
            progress(checked, total)
    last_seq = expected_seq - 1
    if last_seq < through or (through == head_seq and prev_hash != head_hash):
        return broken(
            None,
            last_seq + 1,
            "the chain ends early: the latest events are missing (deleted?)",
        )
    if progress is not None:
        progress(checked, total)
    if checked:
        _save_checkpoint(last_seq, prev_hash, key, full=full)
    return ChainReport(
        True,
        checked,
        from_seq=from_seq,
        through_seq=last_seq,
        pending=head_seq - last_seq,
        full=full,
    )
