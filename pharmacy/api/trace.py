"""``/api/v1/trace`` and ``/api/v1/recalls``: who a lot reached, and recalling it (SPEC 2.9)."""

from __future__ import annotations

from flask import Response, jsonify, request, stream_with_context

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.trace import RecallIn, TraceOut, TracePageOut, TraceQuery
from pharmacy.errors import ApiError
from pharmacy.pagination import cursor_from_request, page_links
from pharmacy.roles import PHARMACIST
from pharmacy.services import trace as trace_service


@bp.get("/trace")
@api_roles(PHARMACIST)
@operation(
    query=TraceQuery,
    responses={200: TracePageOut, 404: ErrorOut, 422: ErrorOut},
)
def trace():
    """Return the batches, fills, patients and prescribers a lot reached (JSON or CSV).

    JSON is a page of fills, newest first (``before``/``after``/``limit``, with ``next`` and
    ``prev`` links); ``format=csv`` streams every fill, one row each, for a recall list.
    """
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(422, "format must be json or csv.", fields={"format": "Use json or csv."})
    cursor = cursor_from_request(default_limit=trace_service.PAGE_LIMIT)
    traced = trace_service.resolve(
        request.args.get("ingredient_lot"), request.args.get("batch_lot")
    )
    if fmt == "csv":
        name = (
            f"ingredient-lot-{traced.ingredient_lot_id}"
            if traced.ingredient_lot_id is not None
            else f"batch-{traced.batch_lot}"
        )
        return Response(
            stream_with_context(trace_service.trace_csv(traced)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="trace-{name}.csv"'},
        )
    result, page = trace_service.trace_page(traced, cursor)
    return jsonify({**result, **page_links(page)})


@bp.post("/recalls")
@api_roles(PHARMACIST)
@operation(
    request=RecallIn,
    responses={201: TraceOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    creates=True,
)
def create_recall():
    """Recall an ingredient lot or batch lot (``reason`` required); return whom to contact."""
    body = json_body()
    validate(RecallIn, body)
    _, result = trace_service.recall(
        body.get("ingredient_lot"),
        body.get("batch_lot"),
        reason=body.get("reason"),
        actor=api_user(),
    )
    return jsonify(result), 201
