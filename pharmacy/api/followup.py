"""Therapy follow-up over the API (SPEC 7.2-7.4): lab results (JSON and FHIR Observation),
symptom reports, reviews and an order's follow-up."""

from __future__ import annotations

import json

from flask import Response, jsonify, request

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.schemas.base import operation, parse_body
from pharmacy.api.schemas.common import DatedPageQuery, ErrorOut
from pharmacy.api.schemas.followup import (
    FollowUpOut,
    ObservationIn,
    ObservationList,
    ObservationListQuery,
    ObservationOut,
    ReviewIn,
    ReviewOut,
    SymptomReportIn,
    SymptomReportList,
    SymptomReportOut,
)
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.fhir import FhirError, Issue, operation_outcome
from pharmacy.domain.fhir_observation import searchset, to_observation
from pharmacy.pagination import dated_cursor_from_request, page_links
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import followup as service
from pharmacy.services import orders as order_service
from pharmacy.services.errors import NotFound

FHIR_JSON = "application/fhir+json"


def _created(body: dict, location: str) -> Response:
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@bp.post("/patients/<int:patient_id>/observations")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(request=ObservationIn, responses={201: ObservationOut}, creates=True)
def create_observation(patient_id: int):
    """Record a lab result: ``201`` with the value in the canonical unit and its flag."""
    patient = service.get_patient(patient_id, api_user())
    body = parse_body(ObservationIn)
    obs = service.record_observation(
        patient,
        body.to_input(),
        actor=api_user(),
        today=order_service.local_today(),
        source="api",
    )
    return _created(
        service.observation_to_dict(obs), f"/api/v1/patients/{patient_id}/observations/{obs.id}"
    )


@bp.get("/patients/<int:patient_id>/observations")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(
    query=ObservationListQuery,
    responses={200: ObservationList, 404: ErrorOut, 422: ErrorOut},
)
def list_observations(patient_id: int):
    """List the patient's lab results a page at a time (``?test=b12`` to filter).

    The first page holds the latest results, oldest first within the page; ``next`` opens
    the older ones and ``prev`` the newer (``?before=`` / ``?after=`` a position from those
    links, ``?limit=`` up to 200, default 50).
    """
    patient = service.get_patient(patient_id, api_user())
    page = service.observations_page(
        patient.id, dated_cursor_from_request(), request.args.get("test") or None
    )
    return jsonify(
        {
            "observations": [service.observation_to_dict(o) for o in reversed(page.items)],
            "limit": page.limit,
            **page_links(page),
        }
    )


@bp.post("/patients/<int:patient_id>/symptom-reports")
@api_roles(PRESCRIBER, PHARMACIST)
@operation(request=SymptomReportIn, responses={201: SymptomReportOut}, creates=True)
def create_symptom_report(patient_id: int):
    """Record how the patient's symptoms changed: ``201`` with the report."""
    patient = service.get_patient(patient_id, api_user())
    body = parse_body(SymptomReportIn)
    report = service.record_symptom_report(
        patient,
        body.date,
        body.symptoms,
        body.note or "",
        actor=api_user(),
        today=order_service.local_today(),
        source="api",
    )
    return _created(
        service.symptom_report_to_dict(report),
        f"/api/v1/patients/{patient_id}/symptom-reports/{report.id}",
    )


@bp.get("/patients/<int:patient_id>/symptom-reports")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(
    query=DatedPageQuery,
    responses={200: SymptomReportList, 404: ErrorOut, 422: ErrorOut},
)
def list_symptom_reports(patient_id: int):
    """List the patient's symptom reports a page at a time.

    The first page holds the latest reports, oldest first within the page; ``next`` opens
    the older ones and ``prev`` the newer (``?before=`` / ``?after=`` a position from those
    links, ``?limit=`` up to 200, default 50).
    """
    patient = service.get_patient(patient_id, api_user())
    page = service.symptom_reports_page(patient.id, dated_cursor_from_request())
    return jsonify(
        {
            "symptom_reports": [service.symptom_report_to_dict(r) for r in reversed(page.items)],
            "limit": page.limit,
            **page_links(page),
        }
    )


@bp.post("/orders/<rx_number>/reviews")
@api_roles(PRESCRIBER)
@operation(request=ReviewIn, responses={201: ReviewOut}, creates=True)
def create_review(rx_number: str):
    """Record the prescriber's review; ``stop`` ends the order's future fills."""
    order = order_service.get_order(rx_number, api_user())
    body = parse_body(ReviewIn)
    review = service.record_review(
        order,
        body.decision,
        body.note or "",
        actor=api_user(),
        today=order_service.local_today(),
    )
    return _created(service.review_to_dict(review), f"/api/v1/orders/{rx_number}/follow-up")


@bp.get("/orders/<rx_number>/follow-up")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(responses={200: FollowUpOut})
def follow_up(rx_number: str):
    """Return the order's checkpoints, next fill, coverage, reviews and PDC."""
    return jsonify(
        service.follow_up(
            order_service.get_order(rx_number, api_user()), today=order_service.local_today()
        )
    )


# --- FHIR Observation ---------------------------------------------------------------------


def _fhir(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON)


@bp.post("/fhir/Observation")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(
    responses={201: "application/fhir+json", 422: "application/fhir+json"},
    request_media=FHIR_JSON,
    creates=True,
)
def create_fhir_observation():
    """Record a lab result from an R4 Observation: ``201`` Observation or 422 OperationOutcome."""
    resource = request.get_json(silent=True, force=True)
    if resource is None:
        return _fhir(
            operation_outcome([Issue("Observation", "The body is not valid JSON.", "structure")]),
            400,
        )
    try:
        obs = service.record_fhir_observation(
            resource, actor=api_user(), today=order_service.local_today()
        )
    except FhirError as exc:
        return _fhir(exc.outcome(), 422)
    response = _fhir(to_observation(service.observation_to_dict(obs)), 201)
    response.headers["Location"] = f"/api/v1/fhir/Observation/{obs.id}"
    return response


@bp.get("/fhir/Observation")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(query=DatedPageQuery, responses={200: "application/fhir+json"})
def search_fhir_observations():
    """Return ``?patient=<id>``'s lab results as a searchset Bundle, a page at a time.

    The newest ``limit`` results (default 100, at most 200), oldest first within the page;
    ``total`` counts them all; the Bundle's ``next`` link opens older results and
    ``previous`` newer ones (``?before=`` / ``?after=`` a position).
    """
    raw = request.args.get("patient", "")
    ref = raw.removeprefix("Patient/")
    if not ref.isdigit() or len(ref) > 10:
        return _fhir(
            operation_outcome([Issue("patient", "Search by patient=<id>.", "required")]), 422
        )
    try:
        cursor = dated_cursor_from_request(default_limit=100)
    except ValidationFailed as exc:
        issues = [Issue(name, message, "value") for name, message in exc.errors.items()]
        return _fhir(operation_outcome(issues), 422)
    try:
        patient = service.get_patient(int(ref), api_user())
    except NotFound as exc:
        return _fhir(operation_outcome([Issue("patient", str(exc), "not-found")]), 404)
    page = service.observations_page(patient.id, cursor)
    resources = [to_observation(service.observation_to_dict(o)) for o in reversed(page.items)]
    base = request.host_url.rstrip("/") + "/api/v1/fhir"
    links = page_links(page, external=True)
    bundle = searchset(
        resources,
        base,
        request.url,
        total=service.count_observations(patient.id),
        next_url=links["next"],
        previous_url=links["prev"],
    )
    return _fhir(bundle)
