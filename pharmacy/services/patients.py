"""Patients: find by MRN, or by exact name and date of birth, else create (SPEC 5.7).

The ``patients`` row is the pharmacy's merged record: the safety checks (duplicate therapy,
allergies) read it, orders only add allergies to it, and pharmacy staff edit it. What each
prescriber entered is kept apart in ``patient_entries``; a prescriber is shown only their
own entry, and no order changes another prescriber's entry.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from pharmacy.domain.allergies import (
    MAX_TEXT,
    entry_key,
    format_allergies,
    merge_allergies,
    parse_allergies,
)
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.order_input import MAX_ADDRESS, MAX_PHONE, PatientInput, parse_allergy_field
from pharmacy.extensions import db
from pharmacy.models import Order, Patient, PatientEntry, User, now_utc

# orders imports this module: read orders.compute_alerts at call time (a module, not a name).
from pharmacy.services import audit
from pharmacy.services import orders as order_service
from pharmacy.services.errors import NotFound
from pharmacy.services.paging import Cursor, Page, read_page
from pharmacy.services.tx import atomic


def _record_dict(patient: Patient) -> dict:
    """Return the pharmacy's record of a patient (pharmacy roles and the audit)."""
    return {
        "id": patient.id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "dob": patient.dob.isoformat(),
        "mrn": patient.mrn,
        "allergies": patient.allergies,
        "phone": patient.phone or "",
        "address": patient.address or "",
    }


def _entry_dict(entry: PatientEntry) -> dict:
    return {
        "id": entry.patient_id,
        "first_name": entry.first_name,
        "last_name": entry.last_name,
        "dob": entry.dob.isoformat(),
        "mrn": entry.mrn,
        "allergies": entry.allergies,
        "phone": entry.phone or "",
        "address": entry.address or "",
    }


def own_entry(patient: Patient, prescriber: User) -> PatientEntry | None:
    """Return what ``prescriber`` entered for ``patient``, or None.

    Reads ``patient.entries`` (a list can load them for a whole page in one statement).
    """
    return next((e for e in patient.entries if e.prescriber_id == prescriber.id), None)


def patient_to_dict(patient: Patient, viewer: User | None = None) -> dict:
    """Return the API form of a patient as ``viewer`` may see it (SPEC 5.7).

    Pharmacy roles (and None: the audit) see the pharmacy's record; a prescriber sees what
    they entered. A patient nobody has entries for (made by the pharmacy) shows its record.
    """
    if viewer is None or viewer.role != "prescriber":
        return _record_dict(patient)
    entry = own_entry(patient, viewer)
    if entry is not None:
        return _entry_dict(entry)
    if not patient.entries:
        return _record_dict(patient)
    return {
        **_record_dict(patient),
        "mrn": None,
        "allergies": "",
        "phone": "",
        "address": "",
    }


def hidden_from(patient: Patient, prescriber: User) -> tuple[str, ...]:
    """Return the allergy entries on the pharmacy's record that ``prescriber`` did not enter."""
    seen = patient_to_dict(patient, prescriber)
    own = {entry_key(a) for a in parse_allergies(seen["allergies"])}
    return tuple(a for a in parse_allergies(patient.allergies) if entry_key(a) not in own)


def _same_person(patient: Patient | PatientEntry, data: PatientInput) -> bool:
    return (
        patient.first_name.lower() == data.first_name.lower()
        and patient.last_name.lower() == data.last_name.lower()
        and patient.dob == data.dob
    )


def find_patient(data: PatientInput, prescriber: User | None = None) -> Patient | None:
    """Return the patient this order is for, or None (a new patient).

    By MRN first: the prescriber's own entry with it (a different name or birth date there
    is refused), else the pharmacy record or another prescriber's entry with it when the
    name and birth date agree (when they do not, the MRN is another clinic's numbering and
    is neither linked nor revealed). Then by exact name and birth date (letter case and
    surrounding spaces aside).

    :raise DomainError: ``patient.mrn`` is on this prescriber's entry for someone else.
    """
    if data.mrn:
        if prescriber is not None:
            mine = db.session.execute(
                select(PatientEntry).where(
                    PatientEntry.prescriber_id == prescriber.id, PatientEntry.mrn == data.mrn
                )
            ).scalar_one_or_none()
            if mine is not None:
                if not _same_person(mine, data):
                    raise DomainError(
                        "patient.mrn",
                        f"MRN {data.mrn} belongs to another of your patients"
                        " (name or date of birth differ).",
                    )
                return mine.patient
        others = db.session.execute(
            select(Patient)
            .where(
                or_(
                    Patient.mrn == data.mrn,
                    Patient.id.in_(
                        select(PatientEntry.patient_id).where(PatientEntry.mrn == data.mrn)
                    ),
                )
            )
            .order_by(Patient.id)
        ).scalars()
        for found in others:
            if _same_person(found, data):
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


def _mrn_free(mrn: str | None) -> bool:
    """Return True when ``mrn`` can go on a pharmacy record (unique there)."""
    return bool(mrn) and (
        db.session.execute(select(Patient.id).where(Patient.mrn == mrn)).first() is None
    )


def resolve_patient(data: PatientInput, actor: User | None) -> Patient:
    """Return the order's patient, creating it when new; the caller commits.

    The pharmacy's record gains the allergies the order adds (never replaced or removed,
    SPEC 5.1) and an MRN, phone or address it lacks. The prescriber's own entry records
    what this order states; another prescriber's entry is never touched (SPEC 5.7). Both
    changes are audited.

    :raise DomainError: ``patient.mrn`` is on this prescriber's entry for someone else.
    """
    patient = find_patient(data, actor)
    if patient is None:
        patient = Patient(
            first_name=data.first_name,
            last_name=data.last_name,
            dob=data.dob,
            mrn=data.mrn if _mrn_free(data.mrn) else None,
            allergies=format_allergies(data.allergies),
            phone=data.phone,
            address=data.address,
        )
        db.session.add(patient)
        db.session.flush()
        # The new record is also the prescriber's first entry: one event tells both.
        audit.record(
            "patient.created", "patient", patient.id, actor=actor, after=_record_dict(patient)
        )
        if actor is not None and actor.role == "prescriber":
            _record_entry(patient, data, actor, audited=False)
        return patient
    else:
        before = _record_dict(patient)
        if data.mrn and not patient.mrn and _mrn_free(data.mrn):
            patient.mrn = data.mrn
        merged = merge_allergies(parse_allergies(patient.allergies), data.allergies)
        if format_allergies(merged) != patient.allergies:
            patient.allergies = format_allergies(merged)
        if data.phone and not patient.phone:
            patient.phone = data.phone
        if data.address and not patient.address:
            patient.address = data.address
        after = _record_dict(patient)
        if after != before:
            audit.record(
                "patient.updated", "patient", patient.id, actor=actor, before=before, after=after
            )
    if actor is not None and actor.role == "prescriber":
        _record_entry(patient, data, actor)
    return patient


def _record_entry(
    patient: Patient, data: PatientInput, prescriber: User, *, audited: bool = True
) -> PatientEntry:
    """Create or update ``prescriber``'s entry for ``patient`` from an order (audited)."""
    entry = own_entry(patient, prescriber)
    before = _entry_dict(entry) if entry is not None else None
    if entry is None:
        entry = PatientEntry(
            patient=patient,
            prescriber_id=prescriber.id,
            first_name=data.first_name,
            last_name=data.last_name,
            dob=data.dob,
            mrn=data.mrn,
            allergies=format_allergies(merge_allergies((), data.allergies)),
            phone=data.phone,
            address=data.address,
        )
        db.session.add(entry)
    else:
        entry.first_name, entry.last_name = data.first_name, data.last_name
        entry.mrn = data.mrn or entry.mrn
        merged = merge_allergies(parse_allergies(entry.allergies), data.allergies)
        entry.allergies = format_allergies(merged)
        entry.phone = data.phone or entry.phone
        entry.address = data.address or entry.address
    after = _entry_dict(entry)
    if after != before:
        entry.updated_dt = now_utc()
        db.session.flush()
    if after != before and audited:
        audit.record(
            "patient.entry_recorded",
            "patient",
            patient.id,
            actor=prescriber,
            before=before,
            after={**after, "prescriber_id": prescriber.id},
        )
    return entry


def _edit_text(raw: object, field: str, limit: int, errors: dict[str, str]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        errors[field] = "Enter text."
        return None
    text = " ".join(raw.split()) if field != "address" else raw.strip()
    if len(text) > limit:
        errors[field] = f"At most {limit:,} characters."
        return None
    return text


@atomic
def update_patient(
    patient_id: int,
    *,
    actor: User,
    allergies: object = None,
    phone: object = None,
    address: object = None,
) -> Patient:
    """Edit the pharmacy's record of a patient (the patient page); return it, committed.

    Pharmacy staff edit the phone and address; only a pharmacist edits allergies, and may
    replace or remove them (orders only ever add). Audited with before and after. A field
    passed as None is left as it is.

    :raise NotFound: no such patient.
    :raise ValidationFailed: a field of the wrong type or too long; nothing changes.
    :raise DomainError: a technician editing allergies (field ``allergies``).
    """
    patient = db.session.get(Patient, patient_id) if 0 < patient_id < 2**31 else None
    if patient is None:
        raise NotFound(f"No patient {patient_id}.")
    errors: dict[str, str] = {}
    entries = None
    if allergies is not None:
        if actor.role != "pharmacist":
            raise DomainError("allergies", "Only a pharmacist may change a patient's allergies.")
        if isinstance(allergies, str) and len(allergies.strip()) > MAX_TEXT:
            errors["allergies"] = f"At most {MAX_TEXT:,} characters."
        else:
            entries = parse_allergy_field(allergies, "allergies", errors)
    new_phone = _edit_text(phone, "phone", MAX_PHONE, errors)
    new_address = _edit_text(address, "address", MAX_ADDRESS, errors)
    if errors:
        raise ValidationFailed(errors)
    before = _record_dict(patient)
    if entries is not None:
        patient.allergies = format_allergies(entries)
    if new_phone is not None:
        patient.phone = new_phone
    if new_address is not None:
        patient.address = new_address
    after = _record_dict(patient)
    if after != before:
        audit.record(
            "patient.edited", "patient", patient.id, actor=actor, before=before, after=after
        )
    if after["allergies"] != before["allergies"]:
        _refresh_waiting_alerts(patient)
    db.session.commit()
    return patient


def _refresh_waiting_alerts(patient: Patient) -> None:
    """Recompute the alerts of the patient's orders waiting for verification, so the queue
    shows what the edited allergies mean now (verification computes them again anyway)."""

    waiting = db.session.execute(
        select(Order).where(Order.patient_id == patient.id, Order.status == "submitted")
    ).scalars()
    for order in waiting:
        order.alerts = order_service.compute_alerts(order)


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


def patient_orders(patient: Patient, viewer: User, cursor: Cursor | None = None) -> Page[Order]:
    """Return one page of the patient's orders ``viewer`` may see, newest first, with each
    order's prescriber (one more statement for the page, not one per prescriber)."""
    stmt = select(Order).where(Order.patient_id == patient.id)
    if viewer.role == "prescriber":
        stmt = stmt.where(Order.prescriber_id == viewer.id)
    stmt = stmt.options(selectinload(Order.prescriber))
    return read_page(stmt, Order.id, cursor or Cursor())
