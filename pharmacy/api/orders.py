"""``/api/v1/orders``: submit, list, read, verify and cancel orders (SPEC section 3)."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.orders import (
    CancelIn,
    OrderIn,
    OrderListOut,
    OrderListQuery,
    OrderOut,
    VerifyIn,
)
from pharmacy.errors import ApiError
from pharmacy.pagination import cursor_from_request, date_args, page_links
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import orders as service


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    """Return a whole-number query argument within ``low..high`` (422 otherwise)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            422, f"{name} must be a whole number.", fields={name: "Must be a whole number."}
        ) from None
    if not low <= value <= high:
        raise ApiError(
            422, f"{name} must be {low}-{high}.", fields={name: f"Must be {low}-{high}."}
        )
    return value


@bp.post("/orders")
@api_roles(PRESCRIBER)
@operation(request=OrderIn, responses={201: OrderOut, 422: ErrorOut}, creates=True)
def create_order():
    """Submit an order as the signed-in prescriber: ``201`` with rx_number, status, plan, alerts."""
    body = json_body()
    today = service.local_today()
    validate(OrderIn, body, domain=lambda data: service.parse_order_body(data, today))
    order = service.submit_order(body, api_user(), source="api", today=today)
    response = jsonify(service.order_to_dict(order, viewer=api_user()))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/orders/{order.rx_number}"
    return response


@bp.get("/orders")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(query=OrderListQuery, responses={200: OrderListOut, 422: ErrorOut})
def list_orders():
    """List orders newest first; filter by ``status``, ``patient`` (id) and the local
    submission dates ``submitted_from`` / ``submitted_to`` (``YYYY-MM-DD``); page by key.

    ``?before=<id>`` / ``?after=<id>`` and ``?limit=``; ``next`` and ``prev`` are the links.
    """
    page = service.list_orders(
        api_user(),
        status=request.args.get("status") or None,
        patient_id=_int_arg("patient", None, 1, 2**31 - 1),
        cursor=cursor_from_request(default_limit=25),
        **date_args("submitted_from", "submitted_to"),
    )
    return jsonify(
        {
            "orders": [
                service.order_to_dict(o, with_plan=False, viewer=api_user()) for o in page.items
            ],
            "limit": page.limit,
            **page_links(page),
        }
    )


@bp.get("/orders/<rx_number>")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(responses={200: OrderOut, 404: ErrorOut})
def get_order(rx_number: str):
    """Return one order with its plan and alerts."""
    return jsonify(
        service.order_to_dict(service.get_order(rx_number, api_user()), viewer=api_user())
    )


@bp.post("/orders/<rx_number>/verify")
@api_roles(PHARMACIST)
@operation(request=VerifyIn, responses={200: OrderOut, 409: ErrorOut, 422: ErrorOut})
def verify_order(rx_number: str):
    """Approve or reject: ``{"decision": "approve"|"reject", "reason", "acknowledgements"}``.

    Approval needs ``acknowledgements`` {alert code: reason} for every warning (422 naming
    ``acknowledgements.<code>``); a stop alert blocks it (409).
    """
    body = validate(VerifyIn, json_body()).model_dump()
    order = service.verify_order(
        service.get_order(rx_number, api_user()),
        api_user(),
        body.get("decision"),
        body.get("reason"),
        body.get("acknowledgements"),
    )
    return jsonify(service.order_to_dict(order, viewer=api_user()))


@bp.post("/orders/<rx_number>/cancel")
@api_roles(PRESCRIBER, PHARMACIST)
@operation(request=CancelIn, responses={200: OrderOut, 409: ErrorOut, 422: ErrorOut})
def cancel_order(rx_number: str):
    """Cancel with ``{"reason"}``: the prescriber before verification, a pharmacist until dispensed."""
    body = validate(CancelIn, json_body()).model_dump()
    order = service.cancel_order(
        service.get_order(rx_number, api_user()), api_user(), body.get("reason")
    )
    return jsonify(service.order_to_dict(order, viewer=api_user()))
