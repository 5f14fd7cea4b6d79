"""Patients: find by MRN, or by exact name and date of birth, else create."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select

from pharmacy.domain.allergies import format_allergies, merge_allergies, parse_allergies
from pharmacy.domain.errors import DomainError
from pharmacy.domain.order_input import PatientInput
from pharmacy.extensions import db
from pharmacy.models import Order, Patient, User
from pharmacy.services import audit
from pharmacy.services.paging import Cursor, Page, read_page


def patient_to_dict(patient: Patient) -> dict:
    """Return the API form of a patient."""
    return {
        "id": patient.id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "dob": patient.dob.isoformat(),
        "mrn": patient.mrn,
        "allergies": patient.allergies,
    }


def find_patient(data: PatientInput) -> Patient | None:
    """Return the patient with ``data.mrn``, else the one with the same name and birth date.

    Names match exactly apart from letter case and surrounding spaces.
    """
    if data.mrn:
        found = db.session.execute(
            select(Patient).where(Patient.mrn == data.mrn)
        ).scalar_one_or_none()
        if found is not None:
            return found
    return db.session.execute(
        select(Patient)
        .where(
            func.lower(Patient.first_name) == data.first_name.lower(),
            func.lower(Patient.last_name) == data.last_name.lower(),
            Patient.dob == data.dob,
        )
        .order_by(Patient.id)
        .limit(1)
    ).scalar_one_or_none()


def resolve_patient(data: PatientInput, actor: User | None) -> Patient:
    """Return the order's patient, creating it when new; the caller commits.

    A found patient gains an MRN and the allergies the order adds (audited); recorded
    allergies are never replaced or removed (SPEC 5.1). An MRN that
    belongs to someone with another name or birth date is refused: a wrong MRN would
    put this prescription on another person's record.

    :raise DomainError: ``patient.mrn`` names a different patient.
    """
    patient = find_patient(data)
    if patient is None:
        patient = Patient(
            first_name=data.first_name,
            last_name=data.last_name,
            dob=data.dob,
            mrn=data.mrn,
            allergies=format_allergies(data.allergies),
        )
        db.session.add(patient)
        db.session.flush()
        audit.record(
            "patient.created", "patient", patient.id, actor=actor, after=patient_to_dict(patient)
        )
        return patient
    same_person = (
        patient.first_name.lower() == data.first_name.lower()
        and patient.last_name.lower() == data.last_name.lower()
        and patient.dob == data.dob
    )
    if not same_person:
        raise DomainError(
            "patient.mrn",
            f"MRN {data.mrn} belongs to another patient (name or date of birth differ).",
        )
    before = patient_to_dict(patient)
    if data.mrn and not patient.mrn:
        patient.mrn = data.mrn
    # SPEC 5.1: an order only adds allergies; it never replaces or removes them.
    merged = format_allergies(merge_allergies(parse_allergies(patient.allergies), data.allergies))
    if merged != patient.allergies:
        patient.allergies = merged
    after = patient_to_dict(patient)
    if after != before:
        audit.record(
            "patient.updated", "patient", patient.id, actor=actor, before=before, after=after
        )
    return patient


def search_patients(
    query: str = "", dob: date | None = None, cursor: Cursor | None = None
) -> Page[Patient]:
    """Return one page of patients, newest first, whose name or MRN contains every word of
    ``query`` (and born on ``dob``): keyset-paged like every list (SPEC 9)."""
    stmt = select(Patient)
    for word in query.split():
        like = f"%{word.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Patient.first_name).like(like),
                func.lower(Patient.last_name).like(like),
                func.lower(Patient.mrn).like(like),
            )
        )
    if dob is not None:
        stmt = stmt.where(Patient.dob == dob)
    return read_page(stmt, Patient.id, cursor or Cursor())


def order_counts(patient_ids: list[int]) -> dict[int, int]:
    """Return how many orders each of these patients has, in one grouped query."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        select(Order.patient_id, func.count())
        .where(Order.patient_id.in_(patient_ids))
        .group_by(Order.patient_id)
    )
    return {patient_id: count for patient_id, count in rows}


def get_patient(patient_id: int) -> Patient | None:
    """Return the patient with ``patient_id``, or None."""
    return db.session.get(Patient, patient_id)


def patient_orders(patient: Patient, viewer: User) -> list[Order]:
    """Return the patient's orders ``viewer`` may see, newest first."""
    stmt = select(Order).where(Order.patient_id == patient.id)
    if viewer.role == "prescriber":
        stmt = stmt.where(Order.prescriber_id == viewer.id)
    return list(db.session.execute(stmt.order_by(Order.id.desc())).scalars())
