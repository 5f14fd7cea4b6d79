"""Final check by scanning, and dispensing (SPEC 2.9)."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp, json_body
from pharmacy.auth.roles import PHARMACIST
from pharmacy.services import dispensing as service
from pharmacy.services.fills import fill_to_dict


@bp.post("/fills/<int:fill_id>/check")
@api_roles(PHARMACIST)
def check_fill(fill_id: int):
    """Check the fill's scans: ``200 {"ok": true}`` or ``409`` with the reasons."""
    body = json_body()
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
def dispense_fill(fill_id: int):
    """Dispense a fill that passed its final check; return the fill."""
    body = json_body() if _has_body() else {}
    initials = body.get("pharmacist_initials")
    if initials is not None and not isinstance(initials, str):
        initials = None
    fill = service.dispense(fill_id, api_user(), initials)
    return jsonify(fill_to_dict(fill))


def _has_body() -> bool:
    """Tell whether the request carries a body (dispensing needs none)."""
    return bool(request.get_data(cache=True))
