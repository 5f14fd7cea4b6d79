"""Patient search and history."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.domain.errors import DomainError
from pharmacy.forms import attach_errors
from pharmacy.pagination import cursor_from_request, date_args, dated_cursor_from_request
from pharmacy.patients.forms import PatientRecordForm
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import followup as followup_service
from pharmacy.services import orders as order_service
from pharmacy.services import patient_therapy as therapy
from pharmacy.services import patients as service
from pharmacy.services.patient_therapy import PageCursors
from pharmacy.therapy.context import therapy_block

bp = Blueprint("patients", __name__, url_prefix="/patients")


@bp.get("/")
@role_required(*PHARMACY_STAFF)
def index():
    """List patients newest first, searched by name or MRN and date of birth, page by page."""
    query = request.args.get("q", "").strip()[:100]
    dob_text = request.args.get("dob", "").strip()
    dob, error = None, None
    if dob_text:
        try:
            dob = date.fromisoformat(dob_text)
        except ValueError:
            error = "Enter the date of birth as YYYY-MM-DD."
    page = service.search_patients(query, dob, cursor_from_request()) if not error else None
    patients = page.items if page else []
    return render_template(
        "patients/index.html",
        page=page,
        patients=patients,
        order_counts=service.order_counts([p.id for p in patients]),
        query=query,
        dob=dob_text,
        error=error,
    )


@bp.get("/<int:patient_id>")
@role_required(PRESCRIBER, *PHARMACY_STAFF)
def detail(patient_id: int):
    """Show a patient, their orders and their therapy follow-up (prescribers: their own).

    Each list is one page, newest first (``orders_``, ``results_``, ``reports_`` and
    ``reviews_`` ``before``/``after``); the trend picture draws a window of two years,
    ``trend_until`` an earlier one.
    """
    patient = followup_service.get_patient(patient_id, current_user)
    cursors = PageCursors(
        orders=cursor_from_request(therapy.ORDERS_PAGE, prefix="orders_"),
        results=dated_cursor_from_request(therapy.RESULTS_PAGE, prefix="results_"),
        reports=dated_cursor_from_request(therapy.REPORTS_PAGE, prefix="reports_"),
        reviews=cursor_from_request(therapy.REVIEWS_PAGE, prefix="reviews_"),
    )
    until = date_args("trend_until")["trend_until"]
    record_form = g.get("record_form")
    if record_form is None and current_user.role in PHARMACY_STAFF:
        record_form = PatientRecordForm(
            formdata=None,
            phone=patient.phone,
            address=patient.address,
            allergies=patient.allergies,
        )
    return render_template(
        "patients/detail.html",
        patient=patient,
        # SPEC 5.7: a prescriber sees what they entered, pharmacy staff the pharmacy's record.
        patient_view=service.patient_to_dict(patient, current_user),
        record_form=record_form,
        age=order_service.patient_age(patient.dob),
        orders=service.patient_orders(patient, current_user, cursors.orders),
        **therapy_block(
            patient, current_user, until=until, cursors=cursors, **g.get("therapy_forms", {})
        ),
    )


@bp.post("/<int:patient_id>/record")
@role_required(*PHARMACY_STAFF)
def edit_record(patient_id: int):
    """Save the patient's phone and address (staff) and allergies (pharmacists), audited."""
    followup_service.get_patient(patient_id, current_user)  # NotFound answers 404
    form = PatientRecordForm()
    if form.validate():
        try:
            service.update_patient(
                patient_id,
                actor=current_user,
                phone=form.phone.data or "",
                address=form.address.data or "",
                allergies=(form.allergies.data or "") if current_user.role == PHARMACIST else None,
            )
        except DomainError as exc:
            attach_errors(form, exc)
        else:
            flash("Patient record saved.", "success")
            return redirect(url_for("patients.detail", patient_id=patient_id, _anchor="record"))
    g.record_form = form
    return detail(patient_id), 422
