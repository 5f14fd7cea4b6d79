"""Final check by scanning, and dispensing (SPEC 2.9)."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.fills import (
    CheckIn,
    CheckOut,
    DispenseIn,
    DispenseRefusedOut,
    FillOut,
)
from pharmacy.domain.final_check import RecheckFailed
from pharmacy.models import now_utc
from pharmacy.roles import PHARMACIST
from pharmacy.services import dispensing as service
from pharmacy.services.fills import fill_to_dict


@bp.post("/fills/<int:fill_id>/check")
@api_roles(PHARMACIST)
@operation(request=CheckIn, responses={200: CheckOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def check_fill(fill_id: int):
    """Check the fill's scans: ``200 {"ok": true}`` or ``409`` with the reasons."""
    body = validate(CheckIn, json_body()).model_dump()
    result = service.check_fill(fill_id, body.get("scans"), api_user())
    outcome = service.result_to_dict(result)
    if result.ok:
        return jsonify(outcome)
    message = "The final check failed: " + "; ".join(result.reasons)
    response = jsonify(
        {
            "error": {
                "code": "check_failed",
                "message": message,
                "fields": {"scans": result.reasons[0]},
            },
            **outcome,
        }
    )
    response.status_code = 409
    return response


@bp.post("/fills/<int:fill_id>/dispense")
@api_roles(PHARMACIST)
@operation(
    request=DispenseIn,
    responses={200: FillOut, 404: ErrorOut, 409: DispenseRefusedOut, 422: ErrorOut},
    body_required=False,
)
def dispense_fill(fill_id: int):
    """Dispense a fill that passed its final check; return the fill.

    The stock rules of the check run again (SPEC 5.5): a batch recalled, rejected or past its
    BUD since, or labels reprinted after the check, is a ``409`` with ``reasons``.
    """
    body = validate(DispenseIn, json_body() if _has_body() else {}).model_dump()
    initials = body.get("pharmacist_initials")
    if initials is not None and not isinstance(initials, str):
        initials = None
    try:
        fill = service.dispense(fill_id, api_user(), initials, now=now_utc())
    except RecheckFailed as exc:
        # SPEC 5.5: the stock rules failed at dispensing; every reason, the fill unchanged.
        response = jsonify(
            {
                "error": {
                    "code": "dispense_refused",
                    "message": exc.message,
                    "fields": {"fill": exc.reasons[0]},
                },
                "reasons": list(exc.reasons),
            }
        )
        response.status_code = 409
        return response
    return jsonify(fill_to_dict(fill))


def _has_body() -> bool:
    """Tell whether the request carries a body (dispensing needs none)."""
    return bool(request.get_data(cache=True))
