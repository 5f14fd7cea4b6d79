"""``/api/v1/ingredient-lots``: receive (technician), release and reject (pharmacist), list."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import ApiError, api_roles, api_user, bp, json_body
from pharmacy.auth.roles import PHARMACIST, PHARMACY_STAFF, TECHNICIAN
from pharmacy.services import lots as service


def _existing(lot_id: int):
    lot = service.get_lot(lot_id)
    if lot is None:
        raise ApiError(404, f"No ingredient lot {lot_id}.")
    return lot


@bp.post("/ingredient-lots")
@api_roles(TECHNICIAN)
def receive_lot():
    """Receive a lot into quarantine (201 with ``id`` and ``status``)."""
    lot = service.receive_lot(json_body(), api_user())
    return jsonify(service.to_dict(lot)), 201


@bp.get("/ingredient-lots")
@api_roles(*PHARMACY_STAFF)
def list_lots():
    """List lots with ``quantity_on_hand`` (filters: ``component``, ``status``)."""
    lots = service.list_lots(
        request.args.get("component") or None, request.args.get("status") or None
    )
    return jsonify({"ingredient_lots": [service.to_dict(lot) for lot in lots]})


@bp.get("/ingredient-lots/<int:lot_id>")
@api_roles(*PHARMACY_STAFF)
def get_lot(lot_id: int):
    """Return one lot."""
    return jsonify(service.to_dict(_existing(lot_id)))


@bp.post("/ingredient-lots/<int:lot_id>/release")
@api_roles(PHARMACIST)
def release_lot(lot_id: int):
    """Release a lot, or 422 naming the failed specification."""
    _existing(lot_id)
    return jsonify(service.to_dict(service.release_lot(lot_id, api_user())))


@bp.post("/ingredient-lots/<int:lot_id>/reject")
@api_roles(PHARMACIST)
def reject_lot(lot_id: int):
    """Reject a lot with ``{"reason"}``."""
    _existing(lot_id)
    body = json_body()
    return jsonify(service.to_dict(service.reject_lot(lot_id, body.get("reason"), api_user())))
