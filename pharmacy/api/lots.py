"""``/api/v1/ingredient-lots``: receive (technician), release and reject (pharmacist), list."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut, LotListQuery, ReasonIn
from pharmacy.api.schemas.lots import LotIn, LotListOut, LotOut
from pharmacy.pagination import cursor_from_request, page_links, text_arg
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, TECHNICIAN
from pharmacy.services import lots as service


@bp.post("/ingredient-lots")
@api_roles(TECHNICIAN)
@operation(request=LotIn, responses={201: LotOut, 422: ErrorOut}, creates=True)
def receive_lot():
    """Receive a lot into quarantine (201 with ``id`` and ``status``)."""
    body = json_body()
    validate(LotIn, body)
    lot = service.receive_lot(body, api_user())
    return jsonify(service.to_dict(lot)), 201


@bp.get("/ingredient-lots")
@api_roles(*PHARMACY_STAFF)
@operation(query=LotListQuery, responses={200: LotListOut, 422: ErrorOut})
def list_lots():
    """List lots with ``quantity_on_hand``, newest received first, a page at a time.

    Filters: ``component``, ``status``; paging: ``before``/``after``/``limit`` with ``next`` and
    ``prev`` links.
    """
    page = service.page_lots(
        text_arg("component", 80) or None,
        request.args.get("status") or None,
        cursor_from_request(),
    )
    actives = service.active_components()  # once for the page, not once per lot
    return jsonify(
        {
            "ingredient_lots": [service.to_dict(lot, actives=actives) for lot in page.items],
            "limit": page.limit,
            **page_links(page),
        }
    )


@bp.get("/ingredient-lots/<int:lot_id>")
@api_roles(*PHARMACY_STAFF)
@operation(responses={200: LotOut, 404: ErrorOut})
def get_lot(lot_id: int):
    """Return one lot."""
    return jsonify(service.to_dict(service.get_lot(lot_id)))


@bp.post("/ingredient-lots/<int:lot_id>/release")
@api_roles(PHARMACIST)
@operation(
    responses={200: LotOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}, body_required=False
)
def release_lot(lot_id: int):
    """Release a lot, or 422 naming the failed specification."""
    service.get_lot(lot_id)
    return jsonify(service.to_dict(service.release_lot(lot_id, api_user())))


@bp.post("/ingredient-lots/<int:lot_id>/reject")
@api_roles(PHARMACIST)
@operation(request=ReasonIn, responses={200: LotOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def reject_lot(lot_id: int):
    """Reject a lot with ``{"reason"}``."""
    service.get_lot(lot_id)
    body = validate(ReasonIn, json_body()).model_dump()
    return jsonify(service.to_dict(service.reject_lot(lot_id, body.get("reason"), api_user())))
