"""``/api/v1/formulations``: master formulation records (pharmacist writes, pharmacy reads)."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.formulations import (
    FormulationIn,
    FormulationListOut,
    FormulationOut,
)
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF
from pharmacy.services import formulary as service


@bp.post("/formulations")
@api_roles(PHARMACIST)
@operation(
    request=FormulationIn,
    responses={201: FormulationOut, 409: ErrorOut, 422: ErrorOut},
    creates=True,
)
def create_formulation():
    """Create a formulation from the SPEC formulation body (201)."""
    body = json_body()
    validate(FormulationIn, body)
    formulation = service.create_formulation(body, api_user())
    return jsonify(service.to_dict(formulation)), 201


@bp.get("/formulations")
@api_roles(*PHARMACY_STAFF)
@operation(responses={200: FormulationListOut})
def list_formulations():
    """List current formulations: active ones, or with ``?all=1`` the retired ones too."""
    include_retired = request.args.get("all", "") in ("1", "true", "yes")
    return jsonify(
        {"formulations": [service.to_dict(f) for f in service.list_formulations(include_retired)]}
    )


@bp.get("/formulations/<code>")
@api_roles(*PHARMACY_STAFF)
@operation(responses={200: FormulationOut, 404: ErrorOut})
def get_formulation(code: str):
    """Return the current version of a formulation and the numbers of its older versions."""
    formulation = service.get_formulation(code)
    data = service.to_dict(formulation)
    data["versions"] = [
        {"version": f.version, "status": f.status, "id": f.id}
        for f in service.versions(formulation.code)
    ]
    return jsonify(data)


@bp.put("/formulations/<code>")
@api_roles(PHARMACIST)
@operation(
    request=FormulationIn,
    responses={200: FormulationOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def update_formulation(code: str):
    """Edit a formulation (a new version when a batch used the current one)."""
    service.get_formulation(code)
    body = json_body()
    validate(FormulationIn, body)
    formulation = service.update_formulation(code, body, api_user())
    return jsonify(service.to_dict(formulation))


@bp.post("/formulations/<code>/retire")
@api_roles(PHARMACIST)
@operation(responses={200: FormulationOut, 404: ErrorOut, 409: ErrorOut}, body_required=False)
def retire_formulation(code: str):
    """Retire a formulation: no new batches or orders match it."""
    service.get_formulation(code)
    return jsonify(service.to_dict(service.set_status(code, service.RETIRED, api_user())))


@bp.post("/formulations/<code>/activate")
@api_roles(PHARMACIST)
@operation(responses={200: FormulationOut, 404: ErrorOut, 409: ErrorOut}, body_required=False)
def activate_formulation(code: str):
    """Make a retired formulation active again."""
    service.get_formulation(code)
    return jsonify(service.to_dict(service.set_status(code, service.ACTIVE, api_user())))
