"""Patient search and history."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, g, render_template, request
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.pagination import cursor_from_request
from pharmacy.roles import PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import orders as order_service
from pharmacy.services import patients as service
from pharmacy.services.followup import can_see_patient
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
    """Show a patient, their orders and their therapy follow-up (prescribers: their own)."""
    patient = service.get_patient(patient_id)
    if patient is None or not can_see_patient(patient.id, current_user):
        abort(404)
    return render_template(
        "patients/detail.html",
        patient=patient,
        age=order_service.patient_age(patient.dob),
        orders=service.patient_orders(patient, current_user),
        **therapy_block(patient, current_user, **g.get("therapy_forms", {})),
    )
