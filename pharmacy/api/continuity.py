"""Continuity over the API (SPEC 7.5, 7.6): the follow-up list and renewals."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.schemas.base import operation, parse_body, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.continuity import (
    FollowUpListOut,
    FollowUpQuery,
    RenewalRequestIn,
    RenewIn,
)
from pharmacy.api.schemas.orders import OrderOut
from pharmacy.models import now_utc
from pharmacy.pagination import position_args, position_links
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import continuity_list, renewals
from pharmacy.services import orders as order_service


@bp.get("/follow-up")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(query=FollowUpQuery, responses={200: FollowUpListOut, 422: ErrorOut})
def follow_up_list():
    """List what needs acting on (prescribers: their own patients), most urgent first.

    A page at a time: ``next`` and ``prev`` are the links to the neighbouring pages
    (``?after=`` / ``?before=`` a position, ``?limit=`` up to 200). ``counts`` gives every
    kind's number of items; a count stops at 500 (``counts_capped_at``).
    """
    query = validate(FollowUpQuery, request.args.to_dict())
    after, before, limit = position_args(continuity_list.Key.parse)
    page = continuity_list.follow_up_page(
        api_user(),
        today=order_service.local_today(),
        kind=query.kind,
        after=after,
        before=before,
        limit=limit,
    )
    return jsonify(
        {
            "items": [i.to_dict() for i in page.items],
            "counts": page.counts,
            "counts_capped_at": continuity_list.COUNT_CAP,
            "limit": page.limit,
            **position_links(
                page.next.encode() if page.next else None,
                page.prev.encode() if page.prev else None,
            ),
        }
    )


@bp.post("/orders/<rx_number>/renewal-request")
@api_roles(PHARMACIST)
@operation(
    request=RenewalRequestIn,
    body_required=False,
    responses={200: OrderOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def request_renewal(rx_number: str):
    """Ask the order's prescriber to renew it: a ``renewal_requested`` item on their list."""
    body = parse_body(RenewalRequestIn) if request.get_data() else RenewalRequestIn()
    order = renewals.request_renewal(
        order_service.get_order(rx_number, api_user()),
        actor=api_user(),
        now=now_utc(),
        note=body.note or "",
    )
    return jsonify(order_service.order_to_dict(order, with_plan=False, viewer=api_user()))


@bp.post("/orders/<rx_number>/renew")
@api_roles(PRESCRIBER)
@operation(
    request=RenewIn,
    creates=True,
    responses={201: OrderOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def renew(rx_number: str):
    """Renew the prescriber's order: ``201`` a new submitted order continuing the regimen."""
    body = parse_body(RenewIn)
    new = renewals.renew(
        order_service.get_order(rx_number, api_user()),
        api_user(),
        refills=body.refills,
        days_supply=body.days_supply,
        note=body.note,
        today=order_service.local_today(),
        source="api",
    )
    response = jsonify(order_service.order_to_dict(new, viewer=api_user()))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/orders/{new.rx_number}"
    return response
