"""``/api/v1/audit``: page through events and verify the chain."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import ApiError, api_roles, bp
from pharmacy.api.schemas.audit import AuditListOut, AuditQuery, VerifyOut
from pharmacy.api.schemas.base import operation
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.auth.roles import ADMIN, PHARMACIST
from pharmacy.models import AuditEvent
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


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            422, f"{name} must be a whole number.", fields={name: "Must be a whole number."}
        )
    if not low <= value <= high:
        raise ApiError(
            422, f"{name} must be {low}-{high}.", fields={name: f"Must be {low}-{high}."}
        )
    return value


@bp.get("/audit")
@api_roles(PHARMACIST, ADMIN)
@operation(query=AuditQuery, responses={200: AuditListOut, 422: ErrorOut})
def list_events():
    """Page through audit events, newest first; filter by ``entity``, ``entity_id``, ``actor``."""
    page = _int_arg("page", 1, 1, 10**6)
    per_page = _int_arg("per_page", 50, 1, 500)
    filters = {name: request.args.get(name, "") for name in audit_service.FILTERS}
    listing = audit_service.list_events(filters, page, per_page)
    return jsonify(
        {
            "events": [event_to_dict(e) for e in listing.events],
            "page": page,
            "per_page": per_page,
            "total": listing.total,
        }
    )


@bp.get("/audit/verify")
@api_roles(PHARMACIST, ADMIN)
@operation(responses={200: VerifyOut})
def verify():
    """Recompute the hash chain: ``{"ok": bool, "checked": n}``."""
    return jsonify(audit_service.verify_chain().to_dict())
