"""Label files: prescription and vial labels (PDF, ZPL), batch labels, dosing calendar."""

from __future__ import annotations

from flask import Response, request
from pydantic import BaseModel

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.schemas.base import operation
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.labels import BatchLabelQuery, LabelQuery
from pharmacy.errors import ApiError
from pharmacy.roles import PHARMACY_STAFF
from pharmacy.services import labels as label_service


def _send(rendered: label_service.Rendered, *, inline: bool = True) -> Response:
    """Return a rendered file; PDFs open in the browser (to print), ZPL downloads."""
    disposition = "inline" if inline else "attachment"
    response = Response(rendered.body, mimetype=rendered.mimetype)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Labels"] = str(rendered.labels)
    response.headers["X-Reprint"] = "true" if rendered.reprint else "false"
    return response


PDF: dict[int, type[BaseModel] | str | None] = {
    200: "application/pdf",
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def _reason() -> str | None:
    return request.args.get("reason")


def _dpi() -> int:
    dpi = request.args.get("dpi", "203")
    if dpi not in ("203", "300"):
        raise ApiError(
            422, "The printer resolution must be 203 or 300 dpi.", fields={"dpi": "Use 203 or 300."}
        )
    return int(dpi)


@bp.get("/fills/<int:fill_id>/label.pdf")
@api_roles(*PHARMACY_STAFF)
@operation(query=LabelQuery, responses=PDF)
def fill_label_pdf(fill_id: int):
    """Return the fill's prescription label and one vial label per vial, one per page.

    ``?dpi=203|300`` puts the bars on that printer's dot grid (default 203).
    """
    return _send(label_service.fill_labels(fill_id, "pdf", api_user(), _reason(), _dpi()))


@bp.get("/fills/<int:fill_id>/label.zpl")
@api_roles(*PHARMACY_STAFF)
@operation(query=LabelQuery, responses={**PDF, 200: "application/zpl"})
def fill_label_zpl(fill_id: int):
    """Return the same labels as ZPL II for a 203 or 300 dpi printer (``?dpi=``)."""
    return _send(
        label_service.fill_labels(fill_id, f"zpl{_dpi()}", api_user(), _reason()), inline=False
    )


@bp.get("/batches/<lot>/labels.pdf")
@api_roles(*PHARMACY_STAFF)
@operation(query=BatchLabelQuery, responses=PDF)
def batch_labels_pdf(lot: str):
    """Return the batch label, then one vial label per vial (or ``?count=`` of them)."""
    raw = request.args.get("count")
    count = None
    if raw not in (None, ""):
        if len(raw) > 6:
            raise ApiError(
                422, "count is out of range.", fields={"count": "Give at most 6 digits."}
            )
        try:
            count = int(raw)
        except ValueError:
            raise ApiError(
                422,
                "count must be a whole number of vial labels.",
                fields={"count": "Give a whole number."},
            ) from None
    return _send(label_service.batch_labels(lot, api_user(), count, _reason(), dpi=_dpi()))


@bp.get("/fills/<int:fill_id>/calendar.pdf")
@api_roles(*PHARMACY_STAFF)
@operation(responses=PDF)
def fill_calendar_pdf(fill_id: int):
    """Return the patient dosing calendar of the fill (US letter)."""
    return _send(label_service.fill_calendar(fill_id, api_user()))
