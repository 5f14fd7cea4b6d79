"""Record lab results, symptom reports and reviews from the pages (SPEC 7.2-7.4, 7.8).

The patient page (:mod:`pharmacy.patients.views`) shows the forms; these views take their
posts, validate them with the API's schemas, call the same services and go back to the
patient (or the order), or show the page again with the errors on the fields (422).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, url_for
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.api.schemas.base import validate
from pharmacy.api.schemas.followup import ObservationIn, ReviewIn, SymptomReportIn
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.domain.followup import check_symptoms
from pharmacy.forms import apply_errors
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import followup as service
from pharmacy.services import orders as order_service
from pharmacy.therapy.forms import SYMPTOM_ALIASES, ObservationForm, ReviewForm, SymptomForm

bp = Blueprint("therapy", __name__)


def _patient(patient_id: int):
    return service.get_patient(patient_id, current_user)


def _errors(exc: DomainError) -> dict[str, str]:
    return exc.errors if isinstance(exc, ValidationFailed) else {exc.field: exc.message}


@bp.post("/patients/<int:patient_id>/observations")
@role_required(PRESCRIBER, *PHARMACY_STAFF)
def record_observation(patient_id: int):
    """Record a lab result from the patient page."""
    patient = _patient(patient_id)
    form = ObservationForm()
    if form.validate():
        try:
            body = validate(ObservationIn, form.to_json())
            obs = service.record_observation(
                patient,
                body.to_input(),
                actor=current_user,
                today=order_service.local_today(),
            )
        except DomainError as exc:
            general = apply_errors(form, _errors(exc))
            return _again(patient, observation_form=form, general=general)
        flash(
            f"{obs.test.upper() if obs.test != 'hemoglobin' else 'Hemoglobin'} result recorded ({obs.flag}).",
            "success",
        )
        return redirect(url_for("patients.detail", patient_id=patient.id, _anchor="therapy"))
    return _again(patient, observation_form=form)


@bp.post("/patients/<int:patient_id>/symptom-reports")
@role_required(PRESCRIBER, PHARMACIST)
def record_symptoms(patient_id: int):
    """Record a symptom report from the patient page (at pick-up or at a visit)."""
    patient = _patient(patient_id)
    form = SymptomForm()
    if form.validate():
        try:
            check_symptoms(form.symptoms())  # the domain's message for an empty report
            data = form.to_json()
            body = validate(SymptomReportIn, data)
            service.record_symptom_report(
                patient,
                body.date,
                body.symptoms,
                body.note or "",
                actor=current_user,
                today=order_service.local_today(),
            )
        except DomainError as exc:
            general = apply_errors(form, _errors(exc), SYMPTOM_ALIASES)
            return _again(patient, symptom_form=form, general=general)
        flash("Symptom report recorded.", "success")
        return redirect(url_for("patients.detail", patient_id=patient.id, _anchor="therapy"))
    return _again(patient, symptom_form=form)


@bp.post("/orders/<rx_number>/reviews")
@role_required(PRESCRIBER)
def review(rx_number: str):
    """Record the prescriber's review of their order."""
    order = order_service.get_order(rx_number, current_user)
    form = ReviewForm()
    if form.validate():
        try:
            body = validate(ReviewIn, form.to_json())
            service.record_review(
                order,
                body.decision,
                body.note or "",
                actor=current_user,
                today=order_service.local_today(),
            )
        except ConflictError as exc:
            flash(exc.message, "error")
        except DomainError as exc:
            general = apply_errors(form, _errors(exc))
            return _again(order.patient, review_form=form, review_rx=rx_number, general=general)
        else:
            flash(f"Review of Rx {rx_number} recorded.", "success")
    return redirect(url_for("patients.detail", patient_id=order.patient_id, _anchor="therapy"))


def _again(patient, *, general: dict[str, str] | None = None, **forms):
    """Show the patient page again with the form's errors on its fields (422)."""
    flash("Not recorded: please correct the highlighted fields.", "error")
    for message in (general or {}).values():
        flash(message, "error")
    g.therapy_forms = forms
    # The patient page belongs to the patients blueprint: call its view, not its module.
    return current_app.view_functions["patients.detail"](patient_id=patient.id), 422
