"""``/api/v1/batches``: compound (technician), sterility test, release, reject (pharmacist)."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.batches import BatchIn, BatchListOut, BatchOut, SterilityIn
from pharmacy.api.schemas.common import BatchListQuery, ErrorOut, ReasonIn
from pharmacy.models import now_utc
from pharmacy.pagination import cursor_from_request, date_args, page_links, text_arg
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, TECHNICIAN
from pharmacy.services import batches as service


@bp.post("/batches")
@api_roles(TECHNICIAN)
@operation(request=BatchIn, responses={201: BatchOut, 409: ErrorOut, 422: ErrorOut}, creates=True)
def compound_batch():
    """Record a compounded batch and draw its ingredients (201)."""
    body = validate(BatchIn, json_body()).model_dump(mode="json")
    batch = service.compound_batch(body, api_user(), now=now_utc())
    return jsonify(service.to_dict(batch)), 201


@bp.get("/batches")
@api_roles(*PHARMACY_STAFF)
@operation(query=BatchListQuery, responses={200: BatchListOut, 422: ErrorOut})
def list_batches():
    """List batches newest first, a page at a time.

    Filters: ``status``, ``formulation`` (code), ``compounded_from``/``compounded_to`` (dates);
    paging: ``before``/``after``/``limit`` (25 by default, at most 200, each batch with its
    worksheet), with ``next`` and ``prev`` links.
    """
    page = service.list_batches(
        request.args.get("status") or None,
        text_arg("formulation") or None,
        cursor=cursor_from_request(default_limit=25),
        **date_args("compounded_from", "compounded_to"),
    )
    return jsonify(
        {
            "batches": [service.to_dict(batch) for batch in page.items],
            "limit": page.limit,
            **page_links(page),
        }
    )


@bp.get("/batches/<lot_number>")
@api_roles(*PHARMACY_STAFF)
@operation(responses={200: BatchOut, 404: ErrorOut})
def get_batch(lot_number: str):
    """Return one batch with its worksheet and components."""
    return jsonify(service.to_dict(service.get_batch(lot_number)))


@bp.post("/batches/<lot_number>/sterility-test")
@api_roles(PHARMACIST)
@operation(
    request=SterilityIn, responses={200: BatchOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
)
def sterility_test(lot_number: str):
    """Record ``{"result", "completed_at"?, "reference"?}``; a failure rejects the batch.

    A ``passed`` result completed before the incubation days (USP <71>) is a 422 on
    ``completed_at``, as is a completion before compounding or in the future.
    """
    batch = service.get_batch(lot_number)
    body = validate(SterilityIn, json_body()).model_dump()
    recorded = service.record_sterility(
        batch.lot_number,
        body["result"],
        api_user(),
        completed_at=body.get("completed_at"),
        reference=body.get("reference"),
        now=now_utc(),
    )
    return jsonify(service.to_dict(recorded))


@bp.post("/batches/<lot_number>/release")
@api_roles(PHARMACIST)
@operation(responses={200: BatchOut, 404: ErrorOut, 409: ErrorOut}, body_required=False)
def release_batch(lot_number: str):
    """Release a quarantined batch (409 while a required sterility test has not passed)."""
    batch = service.get_batch(lot_number)
    return jsonify(service.to_dict(service.release_batch(batch.lot_number, api_user())))


@bp.post("/batches/<lot_number>/reject")
@api_roles(PHARMACIST)
@operation(request=ReasonIn, responses={200: BatchOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def reject_batch(lot_number: str):
    """Reject a batch with ``{"reason"}``."""
    batch = service.get_batch(lot_number)
    body = validate(ReasonIn, json_body()).model_dump()
    return jsonify(
        service.to_dict(service.reject_batch(batch.lot_number, body.get("reason"), api_user()))
    )
