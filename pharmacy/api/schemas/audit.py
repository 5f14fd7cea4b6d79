"""The audit trail."""

from __future__ import annotations

from pharmacy.api.schemas.base import Int, Out, Query, Text


class AuditQuery(Query):
    """Filters and page of ``GET /audit``."""

    page: Int(ge=1, le=10**6) | None = None
    per_page: Int(ge=1, le=500) | None = None
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


class AuditListOut(Out):
    """A page of events, newest first."""

    events: list[AuditEventOut]
    page: int
    per_page: int
    total: int


class VerifyOut(Out):
    """The chain check."""

    ok: bool
    checked: int
