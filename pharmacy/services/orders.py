"""Orders: submission (web, JSON, FHIR), Rx numbers, alerts, verification and cancellation.

Every function that changes an order owns its transaction: it writes the change and
its audit event, then commits, or rolls back and raises so nothing is half-written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from pharmacy.domain import fhir
from pharmacy.domain.alerts import (
    LEVELS,
    AlertFacts,
    Thresholds,
    check_acknowledgements,
    has_stop,
    order_alerts,
)
from pharmacy.domain.allergies import parse_allergies
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.domain.followup import clinical_alerts
from pharmacy.domain.npi import validate_npi
from pharmacy.domain.order_input import OrderInput, PatientInput, parse_order
from pharmacy.domain.plan_json import plan_to_dict
from pharmacy.domain.units import json_decimal
from pharmacy.domain.vials import VialPlan, plan_vials
from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Counter,
    Formulation,
    Order,
    Patient,
    PatientEntry,
    User,
    now_utc,
)
from pharmacy.models.orders import ORDER_STATUSES

# labels, patients and followup read this module too: use them as modules, at call time.
from pharmacy.services import audit, continuity, followup
from pharmacy.services import labels as label_service
from pharmacy.services import patients as patient_service
from pharmacy.services.errors import NotFound
from pharmacy.services.locks import lock_order
from pharmacy.services.paging import Cursor, MomentKey, Page, read_page, read_stretch
from pharmacy.services.settings import get_settings, local_today, pharmacy_zone
from pharmacy.services.tx import atomic

ACTIVE_STATUSES = ("submitted", "verified")
DECISIONS = ("approve", "reject")
MAX_REASON = 2000


def thresholds() -> Thresholds:
    """Return the alert thresholds from the pharmacy settings."""
    s = get_settings()
    return Thresholds(
        max_dose_mcg=s.max_dose_mcg,
        im_max_ml=Decimal(s.im_max_ml),
        sc_max_ml=Decimal(s.sc_max_ml),
        min_dose_volume_ml=Decimal(s.min_dose_volume_ml),
    )


# --- reading -----------------------------------------------------------------------------


def get_order(rx_number: str, viewer: User) -> Order:
    """Return the order ``viewer`` may see.

    :raise NotFound: unknown, or another prescriber's (the same answer, so numbers leak nothing).
    """
    order = db.session.execute(
        select(Order).where(Order.rx_number == str(rx_number))
    ).scalar_one_or_none()
    if order is None or not can_see(order, viewer):
        raise NotFound(f"No order Rx {rx_number} (or it is not yours).")
    return order


def can_see(order: Order, viewer: User) -> bool:
    """Return whether ``viewer`` may see ``order``: prescribers only their own."""
    if viewer.role == "prescriber":
        return order.prescriber_id == viewer.id
    return viewer.role in ("technician", "pharmacist")


def list_orders(
    viewer: User,
    *,
    status: str | None = None,
    patient_id: int | None = None,
    query: str = "",
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    cursor: Cursor | None = None,
) -> Page[Order]:
    """Return one page of the orders ``viewer`` may see, newest first, filtered (the
    submission dates are local to the pharmacy, both ends included).

    :raise DomainError: an unknown ``status``.
    """
    stmt = select(Order)
    zone = pharmacy_zone()
    if submitted_from is not None:
        stmt = stmt.where(Order.submitted_dt >= datetime.combine(submitted_from, time.min, zone))
    if submitted_to is not None:
        end = datetime.combine(submitted_to + timedelta(days=1), time.min, zone)
        stmt = stmt.where(Order.submitted_dt < end)
    if viewer.role == "prescriber":
        stmt = stmt.where(Order.prescriber_id == viewer.id)
    if status:
        if status not in ORDER_STATUSES:
            raise DomainError(
                "status", f"Unknown status {status!r}: use " + ", ".join(ORDER_STATUSES) + "."
            )
        stmt = stmt.where(Order.status == status)
    if patient_id is not None:
        stmt = stmt.where(Order.patient_id == patient_id)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        # A prescriber searches the MRNs they entered, never another prescriber's (SPEC 5.7).
        mrn_match = (
            Order.patient_id.in_(
                select(PatientEntry.patient_id).where(
                    PatientEntry.prescriber_id == viewer.id,
                    func.lower(PatientEntry.mrn).like(like),
                )
            )
            if viewer.role == "prescriber"
            else func.lower(Patient.mrn).like(like)
        )
        stmt = stmt.join(Patient).where(
            (Order.rx_number.like(like))
            | func.lower(Patient.last_name).like(like)
            | func.lower(Patient.first_name).like(like)
            | mrn_match
        )
    # Many-to-one rows ride on the page's own query; fills come in one more statement.
    patient_load = joinedload(Order.patient)
    if viewer.role == "prescriber":
        # Prescribers read their own entry of each patient (SPEC 5.7): one more statement.
        patient_load = patient_load.selectinload(Patient.entries)
    stmt = stmt.options(
        patient_load,
        joinedload(Order.prescriber),
        joinedload(Order.verified_by),
        joinedload(Order.closed_by),
        selectinload(Order.fills),
        selectinload(Order.renews),  # a renewal names the order it continues
    )
    return read_page(stmt, Order.id, cursor or Cursor())


QUEUE_PAGE = 10


@dataclass(frozen=True)
class QueuePage:
    """A page of the verification queue, oldest first, and how many orders wait in all.

    ``next`` is the ``after=`` position of the following (newer) page, ``prev`` the
    ``before=`` position of the preceding (older) one; ``None`` when there is none.
    """

    items: list[Order]
    next: MomentKey | None
    prev: MomentKey | None
    waiting: int


def verification_queue(
    *, after: MomentKey | None = None, before: MomentKey | None = None, limit: int = QUEUE_PAGE
) -> QueuePage:
    """Return a page of the orders waiting for a pharmacist, oldest first (by submission,
    then id), with the patient and prescriber each row shows.

    Each order on the page is planned and drawn, so a page is short; the count of waiting
    orders reads the status index (only the day's submissions are ``submitted``).
    """
    stmt = (
        select(Order)
        .where(Order.status == "submitted")
        .options(selectinload(Order.patient), selectinload(Order.prescriber))
    )
    page = read_stretch(
        stmt,
        Order.submitted_dt,
        Order.id,
        after=after,
        before=before,
        limit=limit,
        key=lambda order: MomentKey(order.submitted_dt, order.id),
    )
    waiting = db.session.execute(
        select(func.count()).select_from(Order).where(Order.status == "submitted")
    ).scalar_one()
    return QueuePage(page.items, page.next, page.prev, waiting)


def status_history(order: Order) -> list[AuditEvent]:
    """Return the order's audit events, oldest first (submitted, verified, cancelled ...)."""
    return list(
        db.session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity == "order", AuditEvent.entity_id == order.rx_number)
            .order_by(AuditEvent.seq)
        ).scalars()
    )


def patient_age(dob: date, today: date | None = None) -> str:
    """Return an age people read at the counter: ``42 y``, ``7 mo`` or ``12 d``."""
    today = today or local_today()
    years = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    if years >= 2:
        return f"{years} y"
    months = (today.year - dob.year) * 12 + today.month - dob.month - (today.day < dob.day)
    if months >= 1:
        return f"{months} mo"
    return f"{(today - dob).days} d"


# --- plans and alerts ---------------------------------------------------------------------


def order_plan(order: Order) -> VialPlan:
    """Return the order's projected vial plan: fills = refills + 1 (SPEC 2.3).

    The preview's windows are the planned ones (start + k x days supply); the fills really
    made follow what earlier fills covered (:mod:`pharmacy.services.continuity`).
    """
    terms = continuity.order_terms(order)
    return plan_vials(terms.plan_request(in_use_days=get_settings().default_in_use_days))


def plan_inputs(order: Order) -> tuple:
    """Return everything the order's plan and its picture are made from, as a hashable key.

    The same inputs always give the same plan (the domain is pure), so views may keep the
    drawn picture of a key: the verification queue shows the same waiting orders to every
    pharmacist, and planning each on every request was most of the page's CPU.

    :raise DomainError: a stored regimen the core cannot plan.
    """
    terms = continuity.order_terms(order)
    request = terms.plan_request(in_use_days=get_settings().default_in_use_days)
    sig = order.sig if order.route not in ("IM", "SC") else None
    return (request, sig, json.dumps(order.phases, sort_keys=True, default=str))


def order_plan_dict(order: Order) -> dict:
    """Return the order's plan in the SPEC 3 plan-response shape."""
    plan = plan_to_dict(order_plan(order))
    if order.route not in ("IM", "SC"):
        plan["sig"] = order.sig
    return plan


def _matching_formulations(order: Order) -> list[Formulation]:
    """Return the latest active version of each formulation matching the order's product."""
    rows = db.session.execute(
        select(Formulation)
        .where(
            Formulation.status == "active",
            Formulation.drug == order.drug,
            Formulation.concentration_mcg_per_ml == Decimal(order.concentration_mcg_per_ml),
            Formulation.vial_volume_ml == Decimal(order.vial_volume_ml),
            Formulation.container == order.container,
        )
        .order_by(Formulation.code, Formulation.version.desc())
    ).scalars()
    latest: dict[str, Formulation] = {}
    for row in rows:
        latest.setdefault(row.code, row)
    return list(latest.values())


def _has_benzyl_alcohol(formulation: Formulation) -> bool:
    return any("benzyl alcohol" in (i.component or "").lower() for i in formulation.ingredients)


def _ingredients(formulations: list[Formulation]) -> tuple[list[str], str]:
    """Return the component names of every matching formulation, and their names.

    A fill may take a batch of any of them, so an allergy to an ingredient of any one is
    screened (SPEC 5.1: "the formulation the order would use").
    """
    names: list[str] = []
    for formulation in formulations:
        for ingredient in formulation.ingredients:
            if ingredient.component and ingredient.component not in names:
                names.append(ingredient.component)
    return names, " or ".join(f.name for f in formulations)


def compute_alerts(order: Order, today: date | None = None) -> list[dict]:
    """Return the SPEC 2.7 alerts for ``order`` as JSON dicts (gathering the facts here)."""
    others_rows = db.session.execute(
        select(Order.rx_number, Order.prescriber_id)
        .where(
            Order.patient_id == order.patient_id,
            Order.drug == order.drug,
            Order.status.in_(ACTIVE_STATUSES),
            Order.id != order.id,
            # The order a renewal continues is not a second active order.
            *([Order.id != order.renews_id] if order.renews_id is not None else []),
        )
        .order_by(Order.id)
    ).all()
    others = [rx for rx, _ in others_rows]
    # SPEC 5.7: the prescriber is told of other prescribers' orders and allergy entries
    # without their Rx numbers or wording.
    hidden_orders = [rx for rx, by in others_rows if by != order.prescriber_id]
    matches = _matching_formulations(order)
    ingredients, formulation_name = _ingredients(matches)
    facts = AlertFacts(
        phases=continuity.order_terms(order).regimen.phases,
        concentration_mcg_per_ml=Decimal(order.concentration_mcg_per_ml),
        vial_volume_ml=Decimal(order.vial_volume_ml),
        container=order.container,
        route=order.route,
        patient_dob=order.patient.dob,
        today=today or local_today(),
        thresholds=thresholds(),
        other_active_orders=tuple(others),
        formulation_matches=bool(matches),
        # Benzyl alcohol matters only when every matching product contains it.
        benzyl_alcohol=bool(matches) and all(_has_benzyl_alcohol(f) for f in matches),
        hidden_orders=tuple(hidden_orders),
        allergies=parse_allergies(order.patient.allergies),
        hidden_allergies=patient_service.hidden_from(order.patient, order.prescriber),
        ingredients=ingredients,
        formulation_name=formulation_name,
    )
    alerts = order_alerts(facts) + clinical_alerts(followup.order_frame(order), facts.phases)
    return [a.to_dict() for a in sorted(alerts, key=lambda a: -LEVELS.index(a.level))]


# --- JSON forms ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def prescriber_to_dict(user: User) -> dict:
    """Return the prescriber block of an order."""
    return {"name": user.full_name, "npi": user.npi, "clinic": user.clinic, "phone": user.phone}


def alerts_for(order: Order, viewer: User | None) -> list[dict]:
    """Return the order's alerts as ``viewer`` may read them.

    Pharmacy roles (and ``None``: the audit) read every message and each warning's
    acknowledgement (SPEC 5.2); a prescriber reads the message without another
    prescriber's entries or Rx numbers (SPEC 5.7) and no acknowledgements.
    """
    prescriber = viewer is not None and viewer.role == "prescriber"
    shown = []
    for alert in order.alerts or []:
        item = {"code": alert["code"], "level": alert["level"], "message": alert["message"]}
        if prescriber:
            item["message"] = alert.get("prescriber_message") or alert["message"]
        else:
            item["acknowledgement"] = alert.get("acknowledgement")
        shown.append(item)
    return shown


def order_to_dict(
    order: Order,
    *,
    with_plan: bool = True,
    today: date | None = None,
    viewer: User | None = None,
) -> dict:
    """Return the API form of ``order`` (SPEC 3 order body plus what the pharmacy adds).

    ``next_fill`` (SPEC 5.4) comes from the order's stored continuity state. ``viewer``
    decides what alerts and patient data show (SPEC 5.2, 5.7); None is the pharmacy's
    full record (audit events).
    """
    today = today or local_today()
    data = {
        "rx_number": order.rx_number,
        "status": continuity.display_status(order, today),
        "status_reason": order.status_reason or None,
        "source": order.source,
        "patient": patient_service.patient_to_dict(order.patient, viewer),
        "prescriber": prescriber_to_dict(order.prescriber),
        "drug": order.drug,
        "concentration_mcg_per_ml": json_decimal(order.concentration_mcg_per_ml),
        "vial_volume_ml": json_decimal(order.vial_volume_ml),
        "container": order.container,
        "route": order.route,
        "start_date": order.start_date.isoformat(),
        "phases": order.phases,
        "days_supply": order.days_supply,
        "refills": order.refills,
        "indication": order.indication,
        "compounding_reason": order.compounding_reason,
        "notes": order.notes,
        **followup.order_frame(order).to_dict(),
        "sig": order.sig,
        "alerts": alerts_for(order, viewer),
        "submitted_at": _iso(order.submitted_dt),
        "verified_at": _iso(order.verified_dt),
        "verified_by": order.verified_by.username if order.verified_by else None,
        "closed_at": _iso(order.closed_dt),
        "closed_by": order.closed_by.username if order.closed_by else None,
        "fills": [
            {
                "id": f.id,
                "fill_number": f.fill_number,
                "status": f.status,
                "vials": f.vials,
                "dispense_date": f.dispense_date.isoformat(),
            }
            for f in order.fills
        ],
        "next_fill": continuity.next_fill_to_dict(order, today),
        "expires_on": order.expires_on.isoformat() if order.expires_on else None,
        "renews": order.renews.rx_number if order.renews is not None else None,
        "renewal": order.renewal_state,
    }
    if with_plan:
        data["plan"] = order_plan_dict(order)
    return data


# --- submission ---------------------------------------------------------------------------


def _check_prescriber(user: User) -> None:
    """Refuse an order from an account that cannot sign a prescription.

    :raise ValidationFailed: ``prescriber.npi`` / ``prescriber.name`` missing or invalid.
    """
    errors = {}
    try:
        validate_npi(user.npi or "", "prescriber.npi")
    except DomainError as exc:
        errors[exc.field] = (
            f"Your account's NPI is not valid ({exc.message}); ask an admin to fix it."
        )
    if not (user.full_name or "").strip():
        errors["prescriber.name"] = "Your account has no full name; ask an admin to add it."
    if errors:
        raise ValidationFailed(errors)


def next_rx_number() -> str:
    """Return the next Rx number, bumping the counter in the caller's transaction.

    One atomic ``UPDATE ... RETURNING``: concurrent submissions queue on the row
    (PostgreSQL row lock, SQLite write lock) and never read the same value; a rolled
    back submission's number was never committed, so committed numbers never repeat.
    """
    value = db.session.execute(
        update(Counter)
        .where(Counter.name == "rx")
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
    return str(value)


def parse_order_body(
    data: object, today: date | None = None, *, renewal: bool = False
) -> OrderInput:
    """Return the validated order body (the pharmacy's today and settings applied).

    :param today: the pharmacy's local date (default: its clock now); ``start_date`` must
        lie within the settings' window around it (SPEC 5.3).
    :param renewal: the body is a renewal the system wrote (SPEC 7.6): it starts at the old
        order's first uncovered dose, which may lie further back than a new order may.
    :raise ValidationFailed: field errors keyed by JSON path.
    """
    settings = get_settings()
    order_input = parse_order(
        data,
        today or local_today(),
        in_use_days=settings.default_in_use_days,
        max_backdate_days=None if renewal else settings.max_backdate_days,
    )
    try:
        plan_vials(order_input.plan_request)
    except ValidationFailed:
        raise
    except DomainError as exc:
        raise ValidationFailed({exc.field or "phases": exc.message}) from None
    return order_input


@atomic
def submit_order(
    data: object,
    prescriber: User,
    *,
    source: str = "api",
    renews: Order | None = None,
    today: date | None = None,
) -> Order:
    """Validate, number and store an order from ``prescriber``; return it (committed).

    :param data: the SPEC 3 order body.
    :param source: ``web``, ``api`` or ``fhir``.
    :param today: the pharmacy's local date (default: its clock now).
    :raise ValidationFailed: nothing is saved.
    """
    order_input = parse_order_body(data, today, renewal=renews is not None)
    _check_prescriber(prescriber)
    for attempt in range(2):
        try:
            return _store(order_input, prescriber, source, renews)
        except IntegrityError:
            # Two first orders for one new patient at once: the loser retries and
            # finds the patient the winner created.
            db.session.rollback()
            if attempt:
                raise ConflictError(
                    "patient", "The patient record changed meanwhile; submit again."
                )
    raise AssertionError("unreachable")


def _store(
    order_input: OrderInput, prescriber: User, source: str, renews: Order | None = None
) -> Order:
    patient = patient_service.resolve_patient(order_input.patient, prescriber)
    plan = plan_vials(order_input.plan_request)
    route = order_input.route
    # SPEC 5.8: the labels print the stored patient's name (an MRN match keeps it) and the sig.
    label_service.check_order_labels(
        patient.first_name,
        patient.last_name,
        plan.sig,
        prescriber.full_name or prescriber.username,
    )
    submitted = now_utc()
    expires = continuity.expires_on(continuity.local_date(submitted))
    order = Order(
        rx_number=next_rx_number(),
        patient=patient,
        prescriber=prescriber,
        drug=order_input.drug,
        concentration_mcg_per_ml=order_input.concentration_mcg_per_ml,
        vial_volume_ml=order_input.vial_volume_ml,
        container=order_input.container,
        route=route,
        start_date=order_input.start_date,
        phases=order_input.phases,
        days_supply=order_input.days_supply,
        refills=order_input.refills,
        indication=order_input.indication,
        compounding_reason=order_input.compounding_reason,
        notes=order_input.notes,
        cause=order_input.frame.cause,
        neurologic_symptoms=order_input.frame.neurologic_symptoms,
        monitoring_tests=list(order_input.frame.tests),
        monitoring_interval_months=order_input.frame.interval_months,
        sig=plan.sig
        if route in ("IM", "SC")
        else "No directions: IV is not a route for this product (see alerts).",
        status="submitted",
        source=source,
        submitted_dt=submitted,
        expires_on=expires,
        renews_id=renews.id if renews is not None else None,
    )
    db.session.add(order)
    db.session.flush()
    if renews is not None:
        old = lock_order(renews)
        if old.renewal_state in ("renewed", "replaced"):
            raise ConflictError("rx_number", f"Rx {old.rx_number} has been renewed already.")
        before = old.renewal_state
        old.renewal_state = "renewed"
        audit.record(
            "order.renewed",
            "order",
            old.rx_number,
            actor=prescriber,
            before={"renewal": before},
            after={"renewal": "renewed", "renewal_rx_number": order.rx_number},
        )
    order.alerts = compute_alerts(order)
    followup.refresh_labs_due(order)
    audit.record(
        "order.submitted",
        "order",
        order.rx_number,
        actor=prescriber,
        after=order_to_dict(order, with_plan=False),
    )
    db.session.commit()
    return order


def submit_fhir(resource: object, prescriber: User, *, today: date | None = None) -> Order:
    """Create an order from a FHIR R4 MedicationRequest (see :mod:`pharmacy.domain.fhir`).

    :raise fhir.FhirError: the resource cannot be mapped or the order is not valid; each
        issue names the FHIR element (``issue[].expression``). Nothing is saved.
    """
    mapped = fhir.from_medication_request(resource)
    body = mapped.order
    patient = body["patient"]
    if set(patient) == {"mrn"}:
        # Only the prescriber's own entry (SPEC 5.7): another's MRN names nobody here.
        found = db.session.execute(
            select(PatientEntry).where(
                PatientEntry.prescriber_id == prescriber.id, PatientEntry.mrn == patient["mrn"]
            )
        ).scalar_one_or_none()
        if found is None:
            raise fhir.FhirError(
                [
                    fhir.Issue(
                        "MedicationRequest.subject.identifier",
                        f"No patient has MRN {patient['mrn']}: send the patient as a contained Patient.",
                        "not-found",
                    )
                ]
            )
        body["patient"] = {
            "first_name": found.first_name,
            "last_name": found.last_name,
            "dob": found.dob.isoformat(),
            "mrn": found.mrn,
        }
    try:
        return submit_order(body, prescriber, source="fhir", today=today)
    except ValidationFailed as exc:
        raise fhir.FhirError(
            [fhir.Issue(mapped.expression(path), message) for path, message in exc.errors.items()]
        ) from None
    except DomainError as exc:
        raise fhir.FhirError([fhir.Issue(mapped.expression(exc.field), exc.message)]) from None


def order_as_fhir(order: Order, viewer: User | None = None) -> dict:
    """Return ``order`` as a FHIR R4 MedicationRequest, as ``viewer`` may see it."""
    return fhir.to_medication_request(order_to_dict(order, with_plan=False, viewer=viewer))


# --- verification and cancellation --------------------------------------------------------


def _reason(reason: object, *, required: bool, what: str) -> str:
    """Return a trimmed reason, or raise naming the ``reason`` field."""
    if reason is not None and not isinstance(reason, str):
        raise DomainError("reason", "The reason must be text.")
    text = (reason or "").strip()
    if required and not text:
        raise DomainError("reason", f"Give a reason for {what}.")
    if len(text) > MAX_REASON:
        raise DomainError("reason", f"The reason must be at most {MAX_REASON:,} characters.")
    return text


def _renewal_dropped(order: Order) -> None:
    """Put the order a rejected or cancelled renewal was for back on the renewal list."""
    old = order.renews
    if old is not None and old.renewal_state in ("renewed", "replaced"):
        old.renewal_state = "requested" if old.renewal_requested_dt else None
        continuity.refresh_next_fill(old, today=local_today())


def _snapshot(order: Order) -> dict:
    return {"status": order.status, "status_reason": order.status_reason or ""}


@atomic
def verify_order(
    order: Order,
    pharmacist: User,
    decision: object,
    reason: object = None,
    acknowledgements: Mapping[str, object] | None = None,
    shown: Sequence[str] | None = None,
) -> Order:
    """Approve or reject a submitted order; return it (committed).

    The alerts are computed again (stock, other orders, allergies and settings may have
    changed) and stored on the order. A ``stop`` alert blocks approval; approving needs a
    reason for every ``warning`` (SPEC 5.2), stored on its alert as ``acknowledgement`` and
    in the audit event. The order row is locked first, so of two pharmacists deciding at
    once the second finds it decided (409).

    :param acknowledgements: alert code -> reason, one per warning (approval only).
    :param shown: codes of the alerts the pharmacist was shown (the page sends them; else
        those stored on the order): a reason for one that no longer applies is dropped.
    :raise DomainError: ``decision`` or ``reason`` invalid (422).
    :raise ValidationFailed: a warning without a reason, or an acknowledgement for an
        alert the order does not have (422, ``acknowledgements.<code>``).
    :raise ConflictError: the order is not waiting for verification, a stop alert, or
        a stop alert acknowledged (409).
    """
    order = lock_order(order)
    if decision not in DECISIONS:
        raise DomainError("decision", 'The decision must be "approve" or "reject".')
    text = _reason(reason, required=decision == "reject", what="rejecting the order")
    if order.status != "submitted":
        raise ConflictError(
            "status",
            f"Rx {order.rx_number} is {order.status}: only submitted orders can be verified.",
        )
    before = _snapshot(order)
    alerts = compute_alerts(order)
    if acknowledgements is not None and not isinstance(acknowledgements, Mapping):
        raise DomainError("acknowledgements", "Acknowledgements must map alerts to reasons.")
    reasons: dict[str, str] = {}
    if decision == "approve":
        if has_stop(alerts):
            stops = "; ".join(a["message"] for a in alerts if a["level"] == "stop")
            raise ConflictError(
                "decision",
                f"Approval is blocked by a stop alert: {stops}"
                " Reject the order with a reason instead.",
            )
        if shown is None:
            shown = [a["code"] for a in order.alerts or []]
        reasons = check_acknowledgements(alerts, acknowledgements, shown=shown)
        alerts = [
            {**a, "acknowledgement": reasons[a["code"]]} if a["code"] in reasons else a
            for a in alerts
        ]
    order.alerts = alerts
    order.status_reason = text
    if decision == "approve":
        order.status = "verified"
        order.verified_dt = now_utc()
        order.verified_by = pharmacist
        action = "order.verified"
        continuity.refresh_next_fill(
            order, today=continuity.local_date(order.verified_dt), actor=pharmacist
        )
        if order.renews is not None:
            # The renewal takes over: the old order is filled no more.
            order.renews.renewal_state = "replaced"
            continuity.refresh_next_fill(order.renews, today=local_today(), actor=pharmacist)
    else:
        order.status = "rejected"
        order.closed_dt = now_utc()
        order.closed_by = pharmacist
        action = "order.rejected"
        _renewal_dropped(order)
    audit.record(
        action,
        "order",
        order.rx_number,
        actor=pharmacist,
        before=before,
        after={
            **_snapshot(order),
            "alerts": [a["code"] for a in alerts],
            **({"acknowledgements": reasons} if reasons else {}),
        },
    )
    db.session.commit()
    return order


@atomic
def cancel_order(order: Order, actor: User, reason: object) -> Order:
    """Cancel ``order`` with a reason; return it (committed).

    A prescriber may cancel their own order while it is still submitted; a pharmacist
    until it is dispensed (fills still in progress must be voided first, so their vials
    go back to stock through the fill workflow).

    :raise DomainError: no reason, or a role that may not cancel (422/403 at the edge).
    :raise ConflictError: the order's state does not allow it (409).
    """
    order = lock_order(order)
    text = _reason(reason, required=True, what="cancelling the order")
    if order.status not in ACTIVE_STATUSES:
        raise ConflictError("status", f"Rx {order.rx_number} is already {order.status}.")
    if actor.role == "prescriber":
        if order.prescriber_id != actor.id:
            raise DomainError("", "Only the prescriber who wrote this order may cancel it.")
        if order.status != "submitted":
            raise ConflictError(
                "status",
                f"Rx {order.rx_number} is already verified: call the pharmacy to cancel it.",
            )
    elif actor.role != "pharmacist":
        raise DomainError("", "Only the prescriber or a pharmacist may cancel an order.")
    if any(f.status == "dispensed" for f in order.fills):
        raise ConflictError(
            "status", f"Rx {order.rx_number} has been dispensed and can no longer be cancelled."
        )
    open_fills = [f.fill_number for f in order.fills if f.status in ("allocated", "checked")]
    if open_fills:
        raise ConflictError(
            "status",
            f"Void fill {open_fills[0]} first: its vials go back to stock, then cancel the order.",
        )
    before = _snapshot(order)
    order.status = "cancelled"
    order.status_reason = text
    order.closed_dt = now_utc()
    order.closed_by = actor
    _renewal_dropped(order)
    continuity.refresh_next_fill(order, today=local_today(), actor=actor)
    audit.record(
        "order.cancelled",
        "order",
        order.rx_number,
        actor=actor,
        before=before,
        after=_snapshot(order),
    )
    db.session.commit()
    return order


__all__ = [
    "PatientInput",
    "alerts_for",
    "cancel_order",
    "compute_alerts",
    "get_order",
    "list_orders",
    "local_today",
    "order_as_fhir",
    "order_plan",
    "order_plan_dict",
    "order_to_dict",
    "parse_order_body",
    "patient_age",
    "status_history",
    "submit_fhir",
    "submit_order",
    "verification_queue",
    "verify_order",
]
