"""The audit trail."""

from __future__ import annotations

from pharmacy.api.schemas.base import Out, Text
from pharmacy.api.schemas.common import PageOut, PageQuery


class AuditQuery(PageQuery):
    """Filters and page of ``GET /audit``."""

    entity: Text(60) | None = None
    entity_id: Text(60) | None = None
    actor: Text(64) | None = None


class AuditEventOut(Out):
    """One audit event."""

    id: int
    seq: int
    at: str
    action: str
    hash: str


class AuditListOut(PageOut):
    """A page of events, newest first."""

    events: list[AuditEventOut]


class BrokenOut(Out):
    """Where the chain broke."""

    id: int | None
    seq: int | None
    reason: str


class VerifyOut(Out):
    """The chain check from the last verified checkpoint (SPEC 8.5)."""

    ok: bool
    checked: int
    from_seq: int
    through_seq: int
    pending: int
    full: bool
    broken: BrokenOut | None = None
