"""``/api/v1/fhir/MedicationRequest``: orders in and out as FHIR R4 (see pharmacy.domain.fhir)."""

from __future__ import annotations

import json

from flask import Response, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.fhir import (
    MedicationRequestIn,
    MedicationRequestOut,
    OperationOutcomeOut,
)
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.fhir import FhirError, Issue, operation_outcome
from pharmacy.roles import PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import orders as service

FHIR_JSON = "application/fhir+json"


def _fhir(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON)


def _outcome(status: int, issues: list[Issue]) -> Response:
    return _fhir(operation_outcome(issues), status)


@bp.post("/fhir/MedicationRequest")
@api_roles(PRESCRIBER)
@operation(
    request=MedicationRequestIn,
    request_media=FHIR_JSON,
    responses={201: MedicationRequestOut, 400: OperationOutcomeOut, 422: OperationOutcomeOut},
    creates=True,
)
def create_medication_request():
    """Create an order from a MedicationRequest: ``201`` with it back, or 422 OperationOutcome."""
    resource = request.get_json(silent=True, force=True)
    if resource is None:
        return _outcome(
            400, [Issue("MedicationRequest", "The body is not valid JSON.", "structure")]
        )
    try:
        validate(MedicationRequestIn, resource)
    except ValidationFailed as exc:
        return _outcome(
            422,
            [
                Issue(f"MedicationRequest.{path}" if path else "MedicationRequest", message)
                for path, message in exc.errors.items()
            ],
        )
    try:
        order = service.submit_fhir(resource, api_user(), today=service.local_today())
    except FhirError as exc:
        return _fhir(exc.outcome(), 422)
    response = _fhir(service.order_as_fhir(order, api_user()), 201)
    response.headers["Location"] = f"/api/v1/fhir/MedicationRequest/{order.rx_number}"
    return response


@bp.get("/fhir/MedicationRequest/<rx_number>")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(responses={200: MedicationRequestOut, 404: "application/json"})
def read_medication_request(rx_number: str):
    """Return our order as a FHIR R4 MedicationRequest (404 when unknown or not yours)."""
    order = service.get_order(rx_number, api_user())
    return _fhir(service.order_as_fhir(order, api_user()))
