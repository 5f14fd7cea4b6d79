"""``POST /api/v1/plan``: the dosing plan for a regimen, vial and supply (SPEC 2.3, 3)."""

from __future__ import annotations

from flask import jsonify

from pharmacy.api.base import api_roles, bp, json_body
from pharmacy.auth.roles import ADMIN, PHARMACIST, PRESCRIBER, TECHNICIAN
from pharmacy.services.plans import compute_plan


@bp.post("/plan")
@api_roles(PRESCRIBER, TECHNICIAN, PHARMACIST, ADMIN)
def create_plan():
    """Return the plan (or, with ``vial_options``, one plan per option and the pick)."""
    # ValidationFailed becomes 422 with every field keyed by JSON path (api.base handlers).
    return jsonify(compute_plan(json_body()).data)
