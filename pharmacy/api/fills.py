"""``/api/v1`` fills: allocate the next fill of an order, read a fill, void it (SPEC 3)."""

from __future__ import annotations

from flask import jsonify

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.fills import FillOut, VoidIn
from pharmacy.errors import ApiError
from pharmacy.roles import PHARMACY_STAFF, TECHNICIAN
from pharmacy.services import fills as fills_service


@bp.post("/orders/<rx_number>/fills")
@api_roles(TECHNICIAN)
@operation(
    responses={201: FillOut, 404: ErrorOut, 409: ErrorOut}, creates=True, body_required=False
)
def create_fill(rx_number: str):
    """Allocate the order's next fill; 409 when not verified, too early, no refills or short."""
    order = fills_service.get_order(rx_number)
    fill = fills_service.allocate_fill(order, api_user(), today=fills_service.local_today())
    return jsonify(fills_service.fill_to_dict(fill)), 201


@bp.get("/fills/<int:fill_id>")
@api_roles(*PHARMACY_STAFF)
@operation(responses={200: FillOut, 404: ErrorOut})
def get_fill(fill_id: int):
    """Return one fill with its status, allocations and order details."""
    return jsonify(fills_service.fill_to_dict(fills_service.get_fill(fill_id)))


@bp.post("/fills/<int:fill_id>/void")
@api_roles(TECHNICIAN)
@operation(request=VoidIn, responses={200: FillOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def void_fill(fill_id: int):
    """Void a fill before dispensing (``{"reason"}``); its vials go back to stock."""
    body = validate(VoidIn, json_body()).model_dump()
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ApiError(
            422,
            "Give the reason for voiding the fill.",
            fields={"reason": "The reason is required."},
        )
    fill = fills_service.void_fill(fills_service.get_fill(fill_id), api_user(), reason)
    return jsonify(fills_service.fill_to_dict(fill))
