"""Therapy follow-up (SPEC 7.1-7.4): lab results, symptom reports, reviews, checkpoints,
adherence, and the two continuity-list queries (SPEC 7.5) that read stored state.

Every function that changes something owns its transaction (``@atomic``), writes its
audit event and commits once; it takes the actor and the date as arguments.

Stored state for the continuity list (indexed, never a re-plan):

* ``orders.labs_due_on``: the date of the order's earliest checkpoint that has no result
  and no later checkpoint done. It changes only when results arrive or the order is
  stored, so it is refreshed then (:func:`refresh_labs_due`). ``labs_overdue`` is then
  ``labs_due_on + 14 days < today`` on active orders.
* ``symptom_reports.worse``: the report has a ``worse`` or ``new`` symptom.
* ``symptom_reports.awaiting_review``: the report is worse, is the patient's latest, and no
  review of the patient's orders was recorded on or after its date. Set when a report is
  recorded (:func:`_mark_awaiting_review`), cleared by a later report or a review, so
  ``symptoms_worse`` reads a small partial index, not ten years of reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, literal_column, or_, select, update
from sqlalchemy.orm import aliased

from pharmacy.domain import fhir_observation
from pharmacy.domain import followup as fu
from pharmacy.domain.errors import ConflictError, DomainError
from pharmacy.domain.fhir import FhirError, Issue
from pharmacy.domain.monitoring import Checkpoint, monitoring_checkpoints
from pharmacy.domain.regimen import expand_regimen
from pharmacy.domain.units import json_decimal
from pharmacy.extensions import db
from pharmacy.models import (
    Observation,
    Order,
    OrderReview,
    Patient,
    PharmacySettings,
    SymptomReport,
    User,
)
from pharmacy.models.orders import open_order

# orders imports this module: read orders.order_plan at call time (a module, not a name).
from pharmacy.services import audit, continuity
from pharmacy.services import orders as order_service
from pharmacy.services.continuity import order_terms
from pharmacy.services.errors import NotFound
from pharmacy.services.paging import DatedCursor, DatedPage, DateKey, read_dated_page
from pharmacy.services.settings import get_settings
from pharmacy.services.tx import atomic

PHARMACY_ROLES = ("technician", "pharmacist")
# Orders whose therapy is followed up (SPEC 7.5 lists what needs someone to act).
FOLLOWED_STATUSES = ("verified",)
# The settings fields holding each test's default range (SPEC 7.2 *(default)*).
RANGE_SETTINGS: Mapping[str, tuple[str, str]] = {
    "b12": ("ref_b12_low_pg_ml", "ref_b12_high_pg_ml"),
    "mma": ("ref_mma_low_nmol_l", "ref_mma_high_nmol_l"),
    "homocysteine": ("ref_homocysteine_low_umol_l", "ref_homocysteine_high_umol_l"),
    "hemoglobin": ("ref_hemoglobin_low_g_dl", "ref_hemoglobin_high_g_dl"),
    "mcv": ("ref_mcv_low_fl", "ref_mcv_high_fl"),
}
MAX_NOTE = 2000
MAX_LAB = 120
MAX_LISTED = 1000


# --- who may see a patient ----------------------------------------------------------------


def is_prescriber_of(patient_id: int, user: User) -> bool:
    """Return whether ``user`` is a prescriber with an order for the patient."""
    if user.role != "prescriber":
        return False
    return (
        db.session.execute(
            select(Order.id)
            .where(Order.patient_id == patient_id, Order.prescriber_id == user.id)
            .limit(1)
        ).first()
        is not None
    )


def can_see_patient(patient_id: int, user: User) -> bool:
    """Return whether ``user`` may read and record the patient's follow-up (SPEC 7.2, 7.8)."""
    return user.role in PHARMACY_ROLES or is_prescriber_of(patient_id, user)


def get_patient(patient_id: int, viewer: User) -> Patient:
    """Return the patient ``viewer`` may follow up.

    :raise NotFound: unknown, or not one of this prescriber's patients (the same answer).
    """
    patient = db.session.get(Patient, patient_id) if 0 < patient_id < 2**31 else None
    if patient is None or not can_see_patient(patient.id, viewer):
        raise NotFound(f"No patient {patient_id} (or not one of yours).")
    return patient


# --- lab results (SPEC 7.2) ---------------------------------------------------------------


def default_ranges(settings: PharmacySettings | None = None) -> dict[str, fu.Range]:
    """Return each test's default reference range from the settings."""
    settings = settings or get_settings()
    return {
        test: fu.Range(Decimal(getattr(settings, low)), Decimal(getattr(settings, high)))
        for test, (low, high) in RANGE_SETTINGS.items()
    }


@dataclass(frozen=True)
class ObservationInput:
    """Hold a lab result as received (already shape-checked by the API schema or the form)."""

    test: str
    value: Decimal
    unit: str
    effective_date: date
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    lab: str = ""


def _check_text(value: str, field: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise DomainError(field, f"At most {limit:,} characters.")
    return text


@atomic
def record_observation(
    patient: Patient,
    data: ObservationInput,
    *,
    actor: User,
    today: date,
    source: str = "web",
) -> Observation:
    """Store a lab result in its canonical unit with its flag; return it (committed).

    :raise DomainError: unknown test or unit, implausible value, bad range, a date in the
        future or before the patient's birth (nothing is saved).
    """
    test = fu.lab_test(data.test)
    value = fu.lab_value(
        test,
        data.value,
        data.unit,
        default=default_ranges()[test.code],
        low=data.reference_low,
        high=data.reference_high,
    )
    fu.check_result_date(data.effective_date, today=today, dob=patient.dob, field="effective_date")
    obs = Observation(
        patient_id=patient.id,
        test=test.code,
        loinc=test.loinc,
        value=value.value,
        unit=value.unit,
        given_value=value.given_value.quantize(fu.VALUE_STEP),
        given_unit=value.given_unit,
        reference_low=value.range.low,
        reference_high=value.range.high,
        range_given=value.range_given,
        flag=value.flag,
        effective_date=data.effective_date,
        lab=_check_text(data.lab, "lab", MAX_LAB),
        source=source,
        recorded_by_id=actor.id,
    )
    db.session.add(obs)
    db.session.flush()
    audit.record(
        "observation.recorded",
        "patient",
        patient.id,
        actor=actor,
        after=observation_to_dict(obs),
    )
    _refresh_patient_orders(patient.id, today)
    db.session.commit()
    return obs


def observation_to_dict(obs: Observation) -> dict[str, Any]:
    """Return the API form of a lab result (canonical unit, range used, flag)."""
    return {
        "id": obs.id,
        "patient_id": obs.patient_id,
        "test": obs.test,
        "loinc": obs.loinc,
        "value": json_decimal(Decimal(obs.value).normalize()),
        "unit": obs.unit,
        "given_value": json_decimal(Decimal(obs.given_value).normalize()),
        "given_unit": obs.given_unit,
        "reference_low": json_decimal(Decimal(obs.reference_low).normalize()),
        "reference_high": json_decimal(Decimal(obs.reference_high).normalize()),
        "reference_range_source": "given" if obs.range_given else "default",
        "flag": obs.flag,
        "effective_date": obs.effective_date.isoformat(),
        "lab": obs.lab or None,
        "source": obs.source,
        "recorded_at": obs.recorded_dt.isoformat() if obs.recorded_dt else None,
    }


def count_observations(patient_id: int) -> int:
    """Return how many lab results the patient has (one index range)."""
    return db.session.execute(
        select(func.count()).select_from(Observation).where(Observation.patient_id == patient_id)
    ).scalar_one()


def observation_key(obs: Observation) -> DateKey:
    """Return a lab result's place in its patient's list: its date, then its id."""
    return DateKey(obs.effective_date, obs.id)


def observations_page(
    patient_id: int, cursor: DatedCursor, test: str | None = None
) -> DatedPage[Observation]:
    """Return one page of the patient's results, newest first by date (SPEC 9: keyset).

    :raise DomainError: an unknown ``test``.
    """
    stmt = select(Observation).where(Observation.patient_id == patient_id)
    if test:
        stmt = stmt.where(Observation.test == fu.lab_test(test).code)
    return read_dated_page(
        stmt, Observation.effective_date, Observation.id, cursor, key=observation_key
    )


def record_fhir_observation(resource: object, *, actor: User, today: date) -> Observation:
    """Record a lab result from an R4 Observation (see :mod:`pharmacy.domain.fhir_observation`).

    :raise FhirError: the resource cannot be mapped, the patient is unknown or not the
        caller's, or the result breaks a rule; each issue names the element. Nothing is saved.
    """
    mapped = fhir_observation.from_observation(resource)
    try:
        patient = get_patient(mapped.patient_id, actor)
    except NotFound:
        raise FhirError(
            [
                Issue(
                    "Observation.subject",
                    f"No patient {mapped.patient_id} (or not one of yours).",
                    "not-found",
                )
            ]
        ) from None
    body = mapped.body
    try:
        return record_observation(
            patient,
            ObservationInput(
                test=body["test"],
                value=body["value"],
                unit=body["unit"],
                effective_date=date.fromisoformat(body["effective_date"]),
                reference_low=body.get("reference_low"),
                reference_high=body.get("reference_high"),
                lab=body.get("lab") or "",
            ),
            actor=actor,
            today=today,
            source="fhir",
        )
    except ValueError:
        raise FhirError(
            [Issue("Observation.effectiveDateTime", "Not a calendar date.", "invalid")]
        ) from None
    except DomainError as exc:
        raise FhirError([Issue(mapped.expression(exc.field), exc.message)]) from None


# --- symptom reports (SPEC 7.3) -----------------------------------------------------------


def _mark_awaiting_review(report: SymptomReport) -> None:
    """Store whether the new ``report`` waits for a prescriber's review (SPEC 7.5).

    Only the patient's latest report can wait: a later one already recorded leaves this
    one quiet; otherwise this one replaces whatever report waited before it.
    """
    later = db.session.execute(
        select(SymptomReport.id).where(
            SymptomReport.patient_id == report.patient_id,
            SymptomReport.id != report.id,
            SymptomReport.report_date > report.report_date,
        )
    ).first()
    if later is not None:
        report.awaiting_review = False
        return
    db.session.execute(
        update(SymptomReport)
        .where(
            SymptomReport.patient_id == report.patient_id,
            SymptomReport.awaiting_review.is_(True),
            SymptomReport.id != report.id,
        )
        .values(awaiting_review=False)
    )
    reviewed = db.session.execute(
        select(OrderReview.id)
        .join(Order, Order.id == OrderReview.order_id)
        .where(
            Order.patient_id == report.patient_id,
            OrderReview.reviewed_on >= report.report_date,
        )
    ).first()
    report.awaiting_review = bool(report.worse) and reviewed is None


# The same rule over every stored report at once (the history generator's bulk writes).
AWAITING_REVIEW_SQL = """
UPDATE symptom_reports SET awaiting_review = (
  worse
  AND NOT EXISTS (
    SELECT 1 FROM symptom_reports later
    WHERE later.patient_id = symptom_reports.patient_id
      AND (later.report_date > symptom_reports.report_date
           OR (later.report_date = symptom_reports.report_date AND later.id > symptom_reports.id)))
  AND NOT EXISTS (
    SELECT 1 FROM order_reviews JOIN orders ON orders.id = order_reviews.order_id
    WHERE orders.patient_id = symptom_reports.patient_id
      AND order_reviews.reviewed_on >= symptom_reports.report_date))
WHERE worse OR awaiting_review
"""


@atomic
def record_symptom_report(
    patient: Patient,
    report_date: date,
    symptoms: Mapping[str, str],
    note: str = "",
    *,
    actor: User,
    today: date,
    source: str = "web",
) -> SymptomReport:
    """Store a symptom report; return it (committed).

    :raise DomainError: no symptom, an unknown symptom or change (``symptoms.<name>``), a
        date in the future or before the patient's birth, a note too long.
    """
    checked = fu.check_symptoms(symptoms)
    fu.check_result_date(report_date, today=today, dob=patient.dob, field="date")
    report = SymptomReport(
        patient_id=patient.id,
        report_date=report_date,
        symptoms=checked,
        worse=fu.is_worse(checked),
        note=_check_text(note, "note", MAX_NOTE),
        source=source,
        recorded_by_id=actor.id,
    )
    db.session.add(report)
    db.session.flush()
    _mark_awaiting_review(report)
    audit.record(
        "symptoms.reported",
        "patient",
        patient.id,
        actor=actor,
        after=symptom_report_to_dict(report),
    )
    db.session.commit()
    return report


def symptom_report_to_dict(report: SymptomReport) -> dict[str, Any]:
    """Return the API form of a symptom report."""
    return {
        "id": report.id,
        "patient_id": report.patient_id,
        "date": report.report_date.isoformat(),
        "symptoms": dict(report.symptoms),
        "worse": report.worse,
        "note": report.note or None,
        "source": report.source,
        "recorded_at": report.recorded_dt.isoformat() if report.recorded_dt else None,
    }


def report_key(report: SymptomReport) -> DateKey:
    """Return a symptom report's place in its patient's list: its date, then its id."""
    return DateKey(report.report_date, report.id)


def symptom_reports_page(patient_id: int, cursor: DatedCursor) -> DatedPage[SymptomReport]:
    """Return one page of the patient's symptom reports, newest first by date (keyset)."""
    stmt = select(SymptomReport).where(SymptomReport.patient_id == patient_id)
    return read_dated_page(
        stmt, SymptomReport.report_date, SymptomReport.id, cursor, key=report_key
    )


# --- checkpoints (SPEC 7.4, 2.9) ----------------------------------------------------------


def order_frame(order: Order) -> fu.ClinicalFrame:
    """Return the order's clinical frame (SPEC 7.1), version-1 spellings normalised."""
    tests = fu.normalise_tests(order.monitoring_tests or ()) or fu.DEFAULT_MONITOR_TESTS
    return fu.ClinicalFrame(
        cause=order.cause or "unknown",
        neurologic_symptoms=bool(order.neurologic_symptoms),
        tests=tests,
        interval_months=order.monitoring_interval_months or fu.DEFAULT_INTERVAL_MONTHS,
    )


def order_checkpoints(order: Order) -> tuple[Checkpoint, ...]:
    """Return the order's lab checkpoints over its planned doses (SPEC 2.9 with 7.1)."""

    try:
        plan = order_service.order_plan(order)
        regimen = order_terms(order).regimen
    except DomainError:
        return ()
    frame = order_frame(order)
    return monitoring_checkpoints(plan.doses, regimen, frame.interval_months, tests=frame.tests)


def lab_results(patient_id: int, since: date | None = None) -> list[fu.Result]:
    """Return the patient's lab results as checkpoints read them (from ``since`` on)."""
    stmt = select(Observation.id, Observation.test, Observation.effective_date).where(
        Observation.patient_id == patient_id
    )
    if since is not None:
        stmt = stmt.where(Observation.effective_date >= since)
    return [fu.Result(r.id, r.test, r.effective_date) for r in db.session.execute(stmt)]


def checkpoint_rows(
    order: Order, today: date, results: Sequence[fu.Result] | None = None
) -> list[dict[str, Any]]:
    """Return the SPEC 7.4 checkpoints of ``order`` with their status on ``today``."""
    results = lab_results(order.patient_id) if results is None else results
    rows = []
    for c in order_checkpoints(order):
        state = fu.checkpoint_status(c.date, c.tests, results, today)
        rows.append(
            {
                "date": c.date.isoformat(),
                "reason": c.reason,
                "tests": list(c.tests),
                "status": state.status,
                "results": [r.id for r in state.results],
            }
        )
    return rows


def labs_due_on(order: Order, results: Sequence[fu.Result]) -> date | None:
    """Return the earliest checkpoint with no result after the last one done, or None.

    A missed checkpoint stops counting once a later one is done: the patient is back in
    follow-up (the missed one still shows ``overdue`` on the order's follow-up).
    """
    checkpoints = order_checkpoints(order)
    pending: date | None = None
    # Status "done" does not depend on today; pass any date.
    for c in checkpoints:
        if fu.checkpoint_status(c.date, c.tests, results, c.date).status == "done":
            pending = None
        elif pending is None:
            pending = c.date
    return pending


def refresh_labs_due(order: Order, results: Sequence[fu.Result] | None = None) -> None:
    """Store ``order.labs_due_on`` in the caller's transaction."""
    results = lab_results(order.patient_id) if results is None else results
    order.labs_due_on = labs_due_on(order, results)


def _refresh_patient_orders(patient_id: int, today: date) -> None:
    # Only orders still in force: a patient's replaced and stopped orders pile up over the
    # years and are on no list (a new result moved 84 orders' dates for one patient).
    results = lab_results(patient_id)
    orders = db.session.execute(
        select(Order).where(
            Order.patient_id == patient_id,
            or_(Order.status == "submitted", open_order()),
        )
    ).scalars()
    for order in orders:
        refresh_labs_due(order, results)


# --- reviews (SPEC 7.4) -------------------------------------------------------------------


@atomic
def record_review(
    order: Order, decision: str, note: str = "", *, actor: User, today: date
) -> OrderReview:
    """Store the prescriber's review of ``order``; ``stop`` ends its future fills.

    :raise DomainError: an unknown decision, a note too long, or a reviewer who is not the
        order's prescriber (the API answers 403 for that before calling).
    :raise ConflictError: the order is not active, or already stopped.
    """
    if actor.role != "prescriber" or order.prescriber_id != actor.id:
        raise DomainError("", "Only the prescriber who wrote this order may review it.")
    if decision not in fu.DECISIONS:
        raise DomainError(
            "decision",
            "The decision must be " + ", ".join(fu.DECISIONS[:-1]) + " or reassess_cause.",
        )
    text = _check_text(note, "note", MAX_NOTE)
    if decision == "stop" and not text:
        raise DomainError("note", "Say why therapy stops.")
    if order.status not in ("submitted", "verified"):
        raise ConflictError(
            "status", f"Rx {order.rx_number} is {order.status}: it cannot be reviewed."
        )
    if order.therapy_stopped_on is not None:
        raise ConflictError(
            "status", f"Therapy on Rx {order.rx_number} was stopped on {order.therapy_stopped_on}."
        )
    review = OrderReview(
        order_id=order.id,
        decision=decision,
        note=text,
        reviewed_on=today,
        reviewed_by_id=actor.id,
    )
    db.session.add(review)
    if decision == "stop":
        order.therapy_stopped_on = today
    db.session.flush()
    # The prescriber has seen the patient's reports up to today.
    db.session.execute(
        update(SymptomReport)
        .where(
            SymptomReport.patient_id == order.patient_id,
            SymptomReport.awaiting_review.is_(True),
            SymptomReport.report_date <= today,
        )
        .values(awaiting_review=False)
    )
    audit.record(
        "order.reviewed",
        "order",
        order.rx_number,
        actor=actor,
        after={"decision": decision, "note": text, "reviewed_on": today},
    )
    refresh_next_fill_if_available(order, today, actor)
    db.session.commit()
    return review


def refresh_next_fill_if_available(order: Order, today: date, actor: User | None = None) -> None:
    """Store the order's next fill again (continuity service), in the caller's transaction."""

    continuity.refresh_next_fill(order, today=today, actor=actor)


def review_to_dict(review: OrderReview) -> dict[str, Any]:
    """Return the API form of a review."""
    return {
        "id": review.id,
        "decision": review.decision,
        "note": review.note or None,
        "reviewed_on": review.reviewed_on.isoformat(),
        "reviewed_at": review.reviewed_dt.isoformat() if review.reviewed_dt else None,
        "reviewed_by": review.reviewed_by.full_name if review.reviewed_by else None,
    }


def order_reviews(order: Order) -> list[OrderReview]:
    """Return the order's reviews, oldest first."""
    return list(
        db.session.execute(
            select(OrderReview).where(OrderReview.order_id == order.id).order_by(OrderReview.id)
        ).scalars()
    )


# --- adherence (SPEC 7.4) -----------------------------------------------------------------


def dispensed_dose_dates(order: Order) -> list[date]:
    """Return the dates of the doses the order's dispensed fills serve (from each fill's plan)."""
    dates = []
    for fill in order.fills:
        if fill.status != "dispensed":
            continue
        for dose in (fill.plan or {}).get("doses", []):
            if dose.get("fill_number") == fill.fill_number:
                dates.append(date.fromisoformat(dose["date"]))
    return dates


def order_pdc(order: Order, today: date) -> fu.Pdc | None:
    """Return the order's proportion of days covered on ``today`` (None before any dose)."""

    dispensed = dispensed_dose_dates(order)
    if not dispensed:
        return None
    regimen = order_terms(order).regimen
    horizon = max(today, max(dispensed)) + timedelta(days=400)
    schedule = [d.date for d in expand_regimen(regimen, order.start_date, horizon)]
    spans = fu.dose_spans(schedule, dispensed)
    regimen_end = None
    if regimen.phases[-1].count is not None and schedule:
        last_span = fu.dose_spans(schedule, [schedule[-1]])[0]
        regimen_end = last_span[1] - timedelta(days=1)
    return fu.pdc(spans, today, regimen_end)


# --- the follow-up view (SPEC 7.4) --------------------------------------------------------


def _coverage(order: Order, today: date) -> dict[str, Any]:
    """Return ``next_fill``, ``covered_through`` and ``uncovered_doses`` (SPEC 5.4) from the
    continuity service; an order whose regimen cannot be planned has none of them."""

    try:
        data = continuity.coverage(order).to_dict()
    except DomainError:
        return {"next_fill": None, "covered_through": None, "uncovered_doses": []}
    return {
        "next_fill": continuity.next_fill_dict(order, today=today),
        "covered_through": data["covered_through"],
        "uncovered_doses": data["uncovered_doses"],
    }


def follow_up(
    order: Order,
    *,
    today: date,
    results: Sequence[fu.Result] | None = None,
    reviews: Sequence[OrderReview] | None = None,
) -> dict[str, Any]:
    """Return the SPEC 7.4 follow-up of ``order`` on ``today``.

    :param results: the patient's lab results, when the caller read them for several orders.
    :param reviews: the reviews to show, when the caller read them (else all of the order's).
    """
    coverage = _coverage(order, today)
    pdc = order_pdc(order, today)
    return {
        "rx_number": order.rx_number,
        **order_frame(order).to_dict(),
        "therapy_stopped_on": order.therapy_stopped_on.isoformat()
        if order.therapy_stopped_on
        else None,
        "checkpoints": checkpoint_rows(order, today, results),
        "next_fill": coverage["next_fill"],
        "covered_through": coverage["covered_through"],
        "uncovered_doses": coverage["uncovered_doses"],
        "reviews": [
            review_to_dict(r) for r in (order_reviews(order) if reviews is None else reviews)
        ],
        "pdc": pdc.to_dict() if pdc is not None else None,
    }


# --- continuity-list queries (SPEC 7.5; i12a merges them into the list) -------------------


def _patient_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.patient_id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "dob": row.dob.isoformat(),
    }


def labs_overdue_query(*, today: date, prescriber_id: int | None = None) -> Any:
    """Return the ``labs_overdue`` rows as a query ordered by checkpoint, then order id.

    Reads the partial index of followed orders by ``labs_due_on``: the orders past their
    checkpoint by more than 14 days, whatever the number of orders.
    """
    cutoff = today - fu.DUE_AFTER
    stmt = (
        select(
            Order.id,
            Order.rx_number,
            Order.labs_due_on,
            Order.patient_id,
            Patient.first_name,
            Patient.last_name,
            Patient.dob,
        )
        .join(Patient, Patient.id == Order.patient_id)
        .where(
            open_order(),  # a replaced order's checkpoints continue on its renewal
            Order.labs_due_on < cutoff,
        )
        .order_by(Order.labs_due_on, Order.id)
    )
    if prescriber_id is not None:
        stmt = stmt.where(Order.prescriber_id == prescriber_id)
    return stmt


def labs_overdue_item(row: Any) -> dict[str, Any]:
    """Return one ``labs_overdue`` item from a row of :func:`labs_overdue_query`."""
    return {
        "kind": "labs_overdue",
        "rx_number": row.rx_number,
        "patient": _patient_dict(row),
        "since": (row.labs_due_on + fu.DUE_AFTER + timedelta(days=1)).isoformat(),
        "checkpoint": row.labs_due_on.isoformat(),
    }


def labs_overdue_items(
    *, today: date, prescriber_id: int | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Return ``labs_overdue`` items: active orders whose pending checkpoint is overdue.

    ``since`` is the first overdue day (the checkpoint date + 15 days); the oldest first.
    """
    stmt = labs_overdue_query(today=today, prescriber_id=prescriber_id).limit(limit)
    return [labs_overdue_item(row) for row in db.session.execute(stmt)]


def symptoms_worse_query(*, today: date, prescriber_id: int | None = None) -> Any:
    """Return the ``symptoms_worse`` rows as a query ordered by report date, then report id.

    Reads only the reports flagged as awaiting review (stored by
    :func:`_mark_awaiting_review`: a few, through a partial index) and checks the rule again
    on them: still the patient's latest, no review of the patient's orders on or after it.
    Two reports or a report and a review recorded at the same moment each set the flag
    without seeing the other; the check keeps such a race from listing a report twice or
    after its review. The patient must have a followed order (the newest one is named).
    """
    later = aliased(SymptomReport)
    reviewed = (
        select(OrderReview.id)
        .join(Order, Order.id == OrderReview.order_id)
        .where(
            Order.patient_id == SymptomReport.patient_id,
            OrderReview.reviewed_on >= SymptomReport.report_date,
        )
    )
    newer = select(later.id).where(
        later.patient_id == SymptomReport.patient_id,
        or_(
            later.report_date > SymptomReport.report_date,
            and_(later.report_date == SymptomReport.report_date, later.id > SymptomReport.id),
        ),
    )
    newest_order = aliased(Order)
    rx = (
        select(newest_order.rx_number)
        .where(
            newest_order.patient_id == SymptomReport.patient_id,
            newest_order.status == literal_column("'verified'"),
            newest_order.therapy_stopped_on.is_(None),
            *([newest_order.prescriber_id == prescriber_id] if prescriber_id is not None else []),
        )
        .order_by(newest_order.id.desc())
        .limit(1)
        .correlate(SymptomReport)
        .scalar_subquery()
    )
    return (
        select(
            SymptomReport.id,
            SymptomReport.report_date,
            SymptomReport.symptoms,
            SymptomReport.patient_id,
            Patient.first_name,
            Patient.last_name,
            Patient.dob,
            rx.label("rx_number"),
        )
        .join(Patient, Patient.id == SymptomReport.patient_id)
        .where(
            SymptomReport.awaiting_review,
            SymptomReport.report_date <= today,
            ~exists(newer),
            ~exists(reviewed),
            rx.is_not(None),
        )
        .order_by(SymptomReport.report_date, SymptomReport.id)
    )


def symptoms_worse_item(row: Any) -> dict[str, Any]:
    """Return one ``symptoms_worse`` item from a row of :func:`symptoms_worse_query`."""
    return {
        "kind": "symptoms_worse",
        "rx_number": row.rx_number,
        "patient": _patient_dict(row),
        "since": row.report_date.isoformat(),
        "symptoms": sorted(k for k, v in (row.symptoms or {}).items() if v in fu.WORSE),
    }


def symptoms_worse_items(
    *, today: date, prescriber_id: int | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Return ``symptoms_worse`` items: the patient's latest report has ``worse`` or ``new``
    and no review of the patient's orders has been recorded on or after it."""
    stmt = symptoms_worse_query(today=today, prescriber_id=prescriber_id).limit(limit)
    return [symptoms_worse_item(row) for row in db.session.execute(stmt)]


__all__ = [
    "ObservationInput",
    "can_see_patient",
    "checkpoint_rows",
    "default_ranges",
    "follow_up",
    "get_patient",
    "labs_overdue_items",
    "observation_to_dict",
    "observations_page",
    "order_checkpoints",
    "order_frame",
    "order_pdc",
    "order_reviews",
    "record_observation",
    "record_review",
    "record_symptom_report",
    "refresh_labs_due",
    "review_to_dict",
    "symptom_report_to_dict",
    "symptom_reports_page",
    "symptoms_worse_items",
]
