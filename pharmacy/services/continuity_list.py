"""The continuity list (SPEC 7.5): what needs someone to act so a therapy never lapses.

Every item comes from state stored on the order by :func:`continuity.refresh_next_fill`
(or by the follow-up service for labs and symptoms), read with a few indexed queries: the
number of SQL statements does not grow with the number of orders.

Kinds, most urgent first: ``lapsed`` (no dispensed dose since more than
``lapse_grace_days`` after the first uncovered dose), ``fill_overdue`` (that dose has
passed), ``symptoms_worse``, ``labs_overdue``, ``renewal_requested`` (a pharmacist asked the
prescriber), ``renewal_needed`` (the regimen goes on past what the remaining fills can
cover or past the expiry), ``fill_due`` (the refill window is open, nothing allocated).
An order is listed once for its fills (the worst of lapsed, overdue and due) and once for
its renewal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager

from pharmacy.extensions import db
from pharmacy.models import Order, Patient, User
from pharmacy.services import followup
from pharmacy.services.settings import get_settings

KINDS = (
    "lapsed",
    "fill_overdue",
    "symptoms_worse",
    "labs_overdue",
    "renewal_requested",
    "renewal_needed",
    "fill_due",
)
KIND_LABELS = {
    "lapsed": "Lapsed",
    "fill_overdue": "Fill overdue",
    "symptoms_worse": "Symptoms worse",
    "labs_overdue": "Labs overdue",
    "renewal_requested": "Renewal requested",
    "renewal_needed": "Renewal needed",
    "fill_due": "Fill due",
}
# A renewal is asked for this many days before the first dose no fill can cover, or as
# soon as the last fill has been made (the prescriber has a month to answer).
RENEWAL_LEAD_DAYS = 30
LIMIT = 500  # rows per query: the list is a work queue, not a report


@dataclass(frozen=True)
class Item:
    """One line of the continuity list."""

    kind: str
    rx_number: str
    patient: dict[str, Any]
    since: date
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Return the kind as people read it."""
        return KIND_LABELS.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        """Return the SPEC 7.5 item: ``kind``, ``rx_number``, ``patient``, ``since``, ..."""
        return {
            "kind": self.kind,
            "rx_number": self.rx_number,
            "patient": self.patient,
            "since": self.since.isoformat(),
            "detail": self.detail,
            **self.extra,
        }


def _patient(patient: Patient, *, with_contact: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": patient.id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "dob": patient.dob.isoformat(),
    }
    if with_contact:
        data["phone"] = getattr(patient, "phone", None) or None
    return data


def _open_orders(prescriber_id: int | None):
    stmt = (
        select(Order)
        .join(Patient, Patient.id == Order.patient_id)
        .options(contains_eager(Order.patient))
        .where(
            Order.status == "verified",
            Order.therapy_stopped_on.is_(None),
            or_(Order.renewal_state.is_(None), Order.renewal_state != "replaced"),
        )
    )
    if prescriber_id is not None:
        stmt = stmt.where(Order.prescriber_id == prescriber_id)
    return stmt


def fill_items(today: date, *, prescriber_id: int | None, with_contact: bool) -> list[Item]:
    """Return ``lapsed``, ``fill_overdue`` and ``fill_due`` items (one indexed query)."""
    grace = get_settings().lapse_grace_days
    stmt = (
        _open_orders(prescriber_id)
        .where(
            or_(Order.expires_on.is_(None), Order.expires_on >= today),
            or_(
                Order.undispensed_from < today,
                and_(
                    Order.next_fill_number.is_not(None),
                    Order.next_fill_allowed_from <= today,
                ),
            ),
        )
        .order_by(Order.undispensed_from, Order.id)
        .limit(LIMIT)
    )
    items = []
    for order in db.session.execute(stmt).scalars():
        patient = _patient(order.patient, with_contact=with_contact)
        gap = order.undispensed_from
        extra = {"fill_number": order.next_fill_number}
        if gap is not None and gap < today - timedelta(days=grace):
            days = (today - gap).days
            items.append(
                Item(
                    "lapsed",
                    order.rx_number,
                    patient,
                    gap,
                    f"No dose in hand for {days} days (since {gap.isoformat()}).",
                    extra,
                )
            )
        elif gap is not None and gap < today:
            items.append(
                Item(
                    "fill_overdue",
                    order.rx_number,
                    patient,
                    gap,
                    f"The dose of {gap.isoformat()} has no dispensed fill.",
                    extra,
                )
            )
        elif order.next_fill_number is not None and order.next_fill_allowed_from is not None:
            name = (
                "Original fill"
                if order.next_fill_number == 0
                else f"Refill {order.next_fill_number}"
            )
            items.append(
                Item(
                    "fill_due",
                    order.rx_number,
                    patient,
                    order.next_fill_allowed_from,
                    f"{name} due by {order.next_fill_due_by.isoformat()}.",
                    extra,
                )
            )
    return items


def renewal_items(today: date, *, prescriber_id: int | None, with_contact: bool) -> list[Item]:
    """Return ``renewal_needed`` and ``renewal_requested`` items (one indexed query)."""
    lead = today + timedelta(days=RENEWAL_LEAD_DAYS)
    stmt = (
        _open_orders(prescriber_id)
        .where(
            Order.renewal_from.is_not(None),
            or_(Order.renewal_state.is_(None), Order.renewal_state == "requested"),
            or_(
                Order.renewal_state == "requested",
                Order.next_fill_number.is_(None),
                Order.expires_on < today,
                Order.renewal_from <= lead,
            ),
        )
        .order_by(Order.renewal_from, Order.id)
        .limit(LIMIT)
    )
    items = []
    for order in db.session.execute(stmt).scalars():
        patient = _patient(order.patient, with_contact=with_contact)
        expired = order.expires_on is not None and order.expires_on < today
        why = (
            f"The prescription expired on {order.expires_on.isoformat()}"
            if expired
            else "The remaining fills run out"
        )
        detail = f"{why}; the regimen goes on from {order.renewal_from.isoformat()}."
        if order.renewal_state == "requested":
            since = order.renewal_requested_dt.date() if order.renewal_requested_dt else today
            items.append(Item("renewal_requested", order.rx_number, patient, since, detail, {}))
        else:
            since = min(order.renewal_from, order.expires_on) if expired else order.renewal_from
            items.append(Item("renewal_needed", order.rx_number, patient, since, detail, {}))
    return items


def _followup_items(today: date, prescriber_id: int | None) -> list[Item]:
    """Return i12b's ``labs_overdue`` and ``symptoms_worse`` items as list items."""

    rows = [
        *followup.labs_overdue_items(today=today, prescriber_id=prescriber_id, limit=LIMIT),
        *followup.symptoms_worse_items(today=today, prescriber_id=prescriber_id, limit=LIMIT),
    ]
    items = []
    for row in rows:
        extra = {k: v for k, v in row.items() if k not in ("kind", "rx_number", "patient", "since")}
        if row["kind"] == "labs_overdue":
            detail = f"Lab checkpoint of {row.get('checkpoint')} has no results."
        else:
            names = ", ".join(s.replace("_", " ") for s in row.get("symptoms", []))
            detail = f"Latest symptom report: worse or new {names}."
        items.append(
            Item(
                row["kind"],
                row["rx_number"],
                dict(row["patient"]),
                date.fromisoformat(row["since"]),
                detail,
                extra,
            )
        )
    return items


def follow_up_list(viewer: User, *, today: date, kind: str | None = None) -> list[Item]:
    """Return what needs acting on for ``viewer``, most urgent first.

    Pharmacy roles see every patient; a prescriber sees their own orders' patients.
    """
    prescriber_id = viewer.id if viewer.role == "prescriber" else None
    with_contact = viewer.role != "prescriber"
    items = [
        *fill_items(today, prescriber_id=prescriber_id, with_contact=with_contact),
        *renewal_items(today, prescriber_id=prescriber_id, with_contact=with_contact),
        *_followup_items(today, prescriber_id),
    ]
    if with_contact:
        _add_phones(items)
    rank = {k: i for i, k in enumerate(KINDS)}
    items.sort(key=lambda i: (rank.get(i.kind, len(KINDS)), i.since, i.rx_number))
    if kind:
        items = [i for i in items if i.kind == kind]
    return items


def _add_phones(items: list[Item]) -> None:
    """Fill in the patients' phones for outreach calls (one query for all of them)."""
    if not hasattr(Patient, "phone"):
        return
    missing = {
        i.patient["id"] for i in items if "phone" not in i.patient or i.patient["phone"] is None
    }
    if not missing:
        return
    phones: dict[int, str | None] = dict(
        db.session.execute(select(Patient.id, Patient.phone).where(Patient.id.in_(missing))).all()
    )
    for item in items:
        if item.patient.get("phone") is None:
            item.patient["phone"] = phones.get(item.patient["id"]) or None


def counts(items: list[Item]) -> dict[str, int]:
    """Return how many items of each kind (every kind listed, zeros included)."""
    result = dict.fromkeys(KINDS, 0)
    for item in items:
        result[item.kind] = result.get(item.kind, 0) + 1
    return result
