"""``POST /api/v1/plan``: the dosing plan for a regimen, vial and supply (SPEC 2.3, 3)."""

from __future__ import annotations

from flask import jsonify

from pharmacy.api.base import api_roles, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.plan import PlanIn, PlanOut
from pharmacy.domain.plan_input import parse_plan_request
from pharmacy.roles import ADMIN, PHARMACIST, PRESCRIBER, TECHNICIAN
from pharmacy.services.plans import compute_plan


@bp.post("/plan")
@api_roles(PRESCRIBER, TECHNICIAN, PHARMACIST, ADMIN)
@operation(request=PlanIn, responses={200: PlanOut, 422: ErrorOut})
def create_plan():
    """Return the plan (or, with ``vial_options``, one plan per option and the pick)."""
    # ValidationFailed becomes 422 with every field keyed by JSON path (api.base handlers).
    body = json_body()
    # Shape, types and ranges here; the domain checks the rest (and adds its errors).
    validate(PlanIn, body, domain=parse_plan_request)
    return jsonify(compute_plan(body).data)
