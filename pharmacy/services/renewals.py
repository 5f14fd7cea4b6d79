"""Renewals (SPEC 7.6): a pharmacist asks, the prescriber renews where the regimen stands.

A renewal is a new ``submitted`` order with ``renews`` naming the old one: the same patient,
product and route, whose regimen continues the old one from its first uncovered dose (the
phase in progress with its remaining doses, then the later phases), starting on that
dose's date. When the pharmacist verifies it, the old order is filled no more.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import continue_regimen, phase_to_dict
from pharmacy.domain.units import json_decimal
from pharmacy.extensions import db
from pharmacy.models import Order, User
from pharmacy.services import audit, continuity, orders
from pharmacy.services.errors import NotFound
from pharmacy.services.patients import patient_to_dict
from pharmacy.services.tx import atomic

RENEWABLE_STATUSES = ("verified",)
MAX_NOTE = 2000


def _renewable(order: Order, today: date) -> date:
    """Return the first dose the renewal starts from, or say why ``order`` is not renewable.

    :raise DomainError: (field ``rx_number``) not verified, stopped, already renewed, or
        nothing left to renew.
    """
    if order.status not in RENEWABLE_STATUSES:
        raise DomainError(
            "rx_number",
            f"Rx {order.rx_number} is {order.status}: only verified orders are renewed.",
        )
    if order.therapy_stopped_on is not None:
        raise DomainError(
            "rx_number", f"Therapy on Rx {order.rx_number} was stopped: it is not renewed."
        )
    if order.renewal_state in ("renewed", "replaced"):
        raise DomainError("rx_number", f"Rx {order.rx_number} has been renewed already.")
    first = continuity.coverage(order).walk.first_uncovered
    if first is None:
        raise DomainError(
            "rx_number",
            f"The fills of Rx {order.rx_number} cover every dose of its regimen: nothing to renew.",
        )
    return first.date


@atomic
def request_renewal(order: Order, *, actor: User, now: datetime, note: str = "") -> Order:
    """Put a ``renewal_requested`` item on the prescriber's list (pharmacist).

    :raise DomainError: the order is not renewable, or the note is too long.
    """
    today = continuity.local_date(now)
    assert today is not None
    _renewable(order, today)
    note = _note(note)
    if order.renewal_state == "requested":
        raise DomainError("rx_number", f"A renewal of Rx {order.rx_number} was asked for already.")
    order.renewal_state = "requested"
    order.renewal_requested_dt = now
    audit.record(
        "order.renewal_requested",
        "order",
        order.rx_number,
        actor=actor,
        before={"renewal": None},
        after={"renewal": "requested", "note": note},
    )

    db.session.commit()
    return order


def _note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise DomainError("note", "The note must be text.")
    text = note.strip()
    if len(text) > MAX_NOTE:
        raise DomainError("note", f"The note must be at most {MAX_NOTE:,} characters.")
    return text


def renewal_body(
    order: Order, *, refills: int, days_supply: int | None, note: str, today: date
) -> dict:
    """Return the order body of ``order``'s renewal (the regimen continued, SPEC 7.6)."""
    start = _renewable(order, today)
    terms = continuity.order_terms(order)
    cov = continuity.coverage(order)
    first = cov.walk.first_uncovered
    assert first is not None and first.date == start
    regimen = continue_regimen(terms.regimen, first)
    # What the renewing prescriber entered, never another prescriber's MRN (SPEC 5.7).
    patient = patient_to_dict(order.patient, order.prescriber)
    body: dict[str, Any] = {
        "patient": {
            "first_name": patient["first_name"],
            "last_name": patient["last_name"],
            "dob": patient["dob"],
            **({"mrn": patient["mrn"]} if patient["mrn"] else {}),
        },
        "drug": order.drug,
        "concentration_mcg_per_ml": json_decimal(order.concentration_mcg_per_ml),
        "vial_volume_ml": json_decimal(order.vial_volume_ml),
        "container": order.container,
        "route": order.route,
        "start_date": start.isoformat(),
        "phases": [phase_to_dict(p) for p in regimen.phases],
        "days_supply": days_supply if days_supply is not None else order.days_supply,
        "refills": refills,
        "indication": order.indication,
        "compounding_reason": order.compounding_reason,
        "notes": note or f"Renewal of Rx {order.rx_number}.",
    }
    for key in ("cause", "neurologic_symptoms"):
        if hasattr(order, key) and getattr(order, key) is not None:
            body[key] = getattr(order, key)
    if getattr(order, "monitoring_tests", None):
        body["monitoring"] = {
            "tests": list(order.monitoring_tests),
            "interval_months": getattr(order, "monitoring_interval_months", None) or 3,
        }
    return body


def _whole(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(field, f"{field.replace('_', ' ').capitalize()} must be a whole number.")
    if not low <= value <= high:
        raise DomainError(field, f"{field.replace('_', ' ').capitalize()} must be {low} to {high}.")
    return value


def renew(
    order: Order,
    prescriber: User,
    *,
    refills: object,
    days_supply: object = None,
    note: object = None,
    today: date,
    source: str = "api",
) -> Order:
    """Submit ``order``'s renewal as its prescriber: a new ``submitted`` order (committed).

    :raise NotFound: another prescriber's order.
    :raise DomainError: bad ``refills``/``days_supply``/``note``, or not renewable
        (``rx_number``). Nothing is saved then.
    """

    if order.prescriber_id != prescriber.id:
        raise NotFound(f"There is no order Rx {order.rx_number}.")
    count = _whole(refills, "refills", 0, 12)
    supply = None if days_supply is None else _whole(days_supply, "days_supply", 1, 365)
    body = renewal_body(order, refills=count, days_supply=supply, note=_note(note), today=today)
    return orders.submit_order(body, prescriber, source=source, renews=order, today=today)
