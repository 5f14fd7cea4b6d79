"""``/api/v1/audit``: page through events and verify the chain."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from pharmacy.api.base import ApiError, api_roles, bp
from pharmacy.auth.roles import ADMIN, PHARMACIST
from pharmacy.extensions import db
from pharmacy.models import AuditEvent
from pharmacy.services.audit import verify_chain


def event_to_dict(event: AuditEvent) -> dict:
    """Return the API form of an audit event."""
    return {
        "id": event.id, "seq": event.seq, "at": event.occurred_dt.isoformat(),
        "actor": event.actor, "action": event.action, "entity": event.entity,
        "entity_id": event.entity_id, "before": event.before, "after": event.after,
        "request_id": event.request_id, "prev_hash": event.prev_hash, "hash": event.hash,
    }


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"{name} must be a whole number.", fields={name: "Must be a whole number."})
    if not low <= value <= high:
        raise ApiError(422, f"{name} must be {low}-{high}.", fields={name: f"Must be {low}-{high}."})
    return value


@bp.get("/audit")
@api_roles(PHARMACIST, ADMIN)
def list_events():
    """Page through audit events, newest first; filter by ``entity``, ``entity_id``, ``actor``."""
    page = _int_arg("page", 1, 1, 10**6)
    per_page = _int_arg("per_page", 50, 1, 500)
    query = select(AuditEvent)
    for arg, column in (("entity", AuditEvent.entity), ("entity_id", AuditEvent.entity_id),
                        ("actor", AuditEvent.actor), ("action", AuditEvent.action)):
        if request.args.get(arg):
            query = query.where(column == request.args[arg])
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    events = db.session.execute(
        query.order_by(AuditEvent.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    ).scalars()
    return jsonify({"events": [event_to_dict(e) for e in events], "page": page,
                    "per_page": per_page, "total": total})


@bp.get("/audit/verify")
@api_roles(PHARMACIST, ADMIN)
def verify():
    """Recompute the hash chain: ``{"ok": bool, "checked": n}``."""
    return jsonify(verify_chain().to_dict())
