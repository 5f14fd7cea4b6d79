"""``/api/v1/audit``: page through events and verify the chain."""

from __future__ import annotations

from flask import jsonify

from pharmacy.api.base import api_roles, bp
from pharmacy.api.schemas.audit import AuditListOut, AuditQuery, VerifyOut
from pharmacy.api.schemas.base import operation
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.models import AuditEvent
from pharmacy.pagination import cursor_from_request, page_links, text_arg
from pharmacy.roles import ADMIN, PHARMACIST
from pharmacy.services import audit as audit_service


def event_to_dict(event: AuditEvent) -> dict:
    """Return the API form of an audit event."""
    return {
        "id": event.id,
        "seq": event.seq,
        "at": event.occurred_dt.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@bp.get("/audit")
@api_roles(PHARMACIST, ADMIN)
@operation(query=AuditQuery, responses={200: AuditListOut, 422: ErrorOut})
def list_events():
    """Page through audit events, newest first; filter by ``entity``, ``entity_id``, ``actor``."""
    filters = {name: text_arg(name, 80) for name in audit_service.FILTERS}
    page = audit_service.list_events(filters, cursor_from_request())
    return jsonify(
        {
            "events": [event_to_dict(e) for e in page.items],
            "limit": page.limit,
            **page_links(page),
        }
    )


@bp.get("/audit/verify")
@api_roles(PHARMACIST, ADMIN)
@operation(responses={200: VerifyOut})
def verify():
    """Check the chain from the last verified checkpoint, at most 10,000 events a call.

    ``{"ok", "checked", "from_seq", "through_seq", "pending"}``: ``pending`` events remain for
    the next call (each successful call moves the checkpoint), so the answer stays well under a
    second however long the chain; ``flask --app wsgi audit verify --full`` checks everything.
    """
    report = audit_service.verify_chain(limit=audit_service.ROUTINE_LIMIT)
    return jsonify(report.to_dict())
