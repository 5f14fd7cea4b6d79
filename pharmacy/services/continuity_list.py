"""The continuity list (SPEC 7.5): what needs someone to act so a therapy never lapses.

Kinds, most urgent first: ``lapsed`` (no dispensed dose since more than
``lapse_grace_days`` after the first uncovered dose), ``fill_overdue`` (that dose has
passed), ``symptoms_worse``, ``labs_overdue``, ``renewal_requested`` (a pharmacist asked the
prescriber), ``renewal_needed`` (the regimen goes on past what the remaining fills can
cover or past the expiry), ``fill_due`` (the refill window is open, nothing allocated).
An order is listed once for its fills (the worst of lapsed, overdue and due) and once for
its renewal.

Every kind is one query over state stored on the order by
:func:`continuity.refresh_next_fill` (or by the follow-up service for labs and symptoms),
read through a partial index that holds only the orders the pharmacy still follows. The
list is read a page at a time, ordered by (kind, the kind's date, row id): a :class:`Key`
names a place in that order, so a page costs the same few statements after ten years as
on the first day (SPEC 9). Counts stop at :data:`COUNT_CAP`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, literal_column, or_, select, tuple_
from sqlalchemy.orm import contains_eager, load_only

from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import Order, Patient, User
from pharmacy.models.orders import open_order
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
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Counts read at most this many index entries per kind; more shows as "500+".
COUNT_CAP = 500


@dataclass(frozen=True)
class Item:
    """One line of the continuity list."""

    kind: str
    rx_number: str
    patient: dict[str, Any]
    since: date
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    key: Key | None = field(default=None, compare=False, repr=False)

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


# --- where an item sits in the list -------------------------------------------------------

_KEY = re.compile(r"(\d)~(\d{4}-\d{2}-\d{2}(?:T[0-9:.+]{8,32})?)~(\d{1,10})")


@dataclass(frozen=True, order=True)
class Key:
    """An item's place: its kind's rank, the date it is ordered by, and its row's id."""

    rank: int
    sort: str  # ISO date (or UTC date-time for renewal requests): sorts as it compares
    row: int

    def encode(self) -> str:
        """Return the key as it travels in ``?after=`` and ``?before=``."""
        return f"{self.rank}~{self.sort}~{self.row}"

    @classmethod
    def parse(cls, raw: str, name: str) -> Key:
        """Read a key from a query string.

        :raise ValidationFailed: ``name`` is not a key this list wrote.
        """
        match = _KEY.fullmatch(raw.strip()) if len(raw) <= 64 else None
        if match is None or int(match[1]) >= len(KINDS) or int(match[3]) > 2**31 - 1:
            raise ValidationFailed({name: "Must be a list position from a next or prev link."})
        try:
            if "T" in match[2]:
                datetime.fromisoformat(match[2])
            else:
                date.fromisoformat(match[2])
        except ValueError:
            raise ValidationFailed(
                {name: "Must be a list position from a next or prev link."}
            ) from None
        return cls(int(match[1]), match[2], int(match[3]))


@dataclass(frozen=True)
class ListPage:
    """One page of the list, the positions that open its neighbours, and the counts."""

    items: list[Item]
    next: Key | None  # ``after=`` of the following page
    prev: Key | None  # ``before=`` of the preceding page
    counts: dict[str, int]
    limit: int

    @property
    def total(self) -> int:
        """Return the number of items of every kind (each count stops at the cap)."""
        return sum(self.counts.values())

    @property
    def capped(self) -> bool:
        """Return whether some kind has more items than it counted."""
        return any(n >= COUNT_CAP for n in self.counts.values())


# --- what each kind reads -------------------------------------------------------------------


def _not_expired(today: date) -> Any:
    return or_(Order.expires_on.is_(None), Order.expires_on >= today)


@dataclass(frozen=True)
class _Source:
    """How one kind is read: its query, the column it is ordered by, and its items."""

    query: Callable[..., Any]  # (today, prescriber_id, *, for_count=False) -> Select
    sort: Callable[[], Any]
    row_id: Callable[[], Any]
    item: Callable[[Any, date, bool], Item]


# What an item shows: the list loads only these columns (an order row carries its regimen
# and plan JSON, which the list never reads).
_ORDER_COLUMNS = (
    Order.id,
    Order.rx_number,
    Order.patient_id,
    Order.expires_on,
    Order.undispensed_from,
    Order.next_fill_number,
    Order.next_fill_allowed_from,
    Order.next_fill_due_by,
    Order.renewal_from,
    Order.renewal_state,
    Order.renewal_requested_dt,
)
_PATIENT_COLUMNS = (Patient.id, Patient.first_name, Patient.last_name, Patient.dob, Patient.phone)


def _orders(prescriber_id: int | None, *conditions: Any, for_count: bool = False) -> Any:
    stmt: Any
    if for_count:  # counting needs neither the patient nor any column
        stmt = select(Order.id).where(open_order(), *conditions)
    else:
        stmt = (
            select(Order)
            .join(Patient, Patient.id == Order.patient_id)
            .options(
                load_only(*_ORDER_COLUMNS),
                contains_eager(Order.patient).load_only(*_PATIENT_COLUMNS),
            )
            .where(open_order(), *conditions)
        )
    if prescriber_id is not None:
        stmt = stmt.where(Order.prescriber_id == prescriber_id)
    return stmt


def _patient(patient: Any, *, with_contact: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": patient.id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "dob": patient.dob.isoformat(),
    }
    if with_contact:
        data["phone"] = patient.phone or None
    return data


def _grace_cutoff(today: date) -> date:
    return today - timedelta(days=get_settings().lapse_grace_days)


def _lapsed(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    return _orders(
        prescriber_id,
        _not_expired(today),
        Order.undispensed_from < _grace_cutoff(today),
        for_count=for_count,
    )


def _overdue(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    return _orders(
        prescriber_id,
        _not_expired(today),
        Order.undispensed_from >= _grace_cutoff(today),
        Order.undispensed_from < today,
        for_count=for_count,
    )


def _due(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    return _orders(
        prescriber_id,
        _not_expired(today),
        Order.next_fill_number.is_not(None),
        Order.next_fill_allowed_from <= today,
        or_(Order.undispensed_from.is_(None), Order.undispensed_from >= today),
        for_count=for_count,
    )


def _requested(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    return _orders(
        prescriber_id,
        Order.renewal_state == literal_column("'requested'"),
        Order.renewal_requested_dt.is_not(None),
        Order.renewal_from.is_not(None),
        for_count=for_count,
    )


def _renewal_needed(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    lead = today + timedelta(days=RENEWAL_LEAD_DAYS)
    return _orders(
        prescriber_id,
        Order.renewal_state.is_(None),
        Order.renewal_from.is_not(None),
        or_(
            Order.renewal_from <= lead,
            Order.next_fill_number.is_(None),
            Order.expires_on < today,
        ),
        for_count=for_count,
    )


def _gap_item(kind: str) -> Callable[[Order, date, bool], Item]:
    def build(order: Order, today: date, with_contact: bool) -> Item:
        gap = order.undispensed_from
        assert gap is not None
        detail = (
            f"No dose in hand for {(today - gap).days} days (since {gap.isoformat()})."
            if kind == "lapsed"
            else f"The dose of {gap.isoformat()} has no dispensed fill."
        )
        patient = _patient(order.patient, with_contact=with_contact)
        extra = {"fill_number": order.next_fill_number}
        return Item(kind, order.rx_number, patient, gap, detail, extra)

    return build


def _due_item(order: Order, today: date, with_contact: bool) -> Item:
    name = "Original fill" if order.next_fill_number == 0 else f"Refill {order.next_fill_number}"
    due_by = order.next_fill_due_by.isoformat() if order.next_fill_due_by else "?"
    assert order.next_fill_allowed_from is not None
    return Item(
        "fill_due",
        order.rx_number,
        _patient(order.patient, with_contact=with_contact),
        order.next_fill_allowed_from,
        f"{name} due by {due_by}.",
        {"fill_number": order.next_fill_number},
    )


def _renewal_detail(order: Order, today: date) -> tuple[str, bool]:
    expired = order.expires_on is not None and order.expires_on < today
    why = (
        f"The prescription expired on {order.expires_on.isoformat()}"
        if expired and order.expires_on is not None
        else "The remaining fills run out"
    )
    assert order.renewal_from is not None
    return f"{why}; the regimen goes on from {order.renewal_from.isoformat()}.", expired


def _requested_item(order: Order, today: date, with_contact: bool) -> Item:
    detail, _ = _renewal_detail(order, today)
    assert order.renewal_requested_dt is not None
    since = order.renewal_requested_dt.date()
    patient = _patient(order.patient, with_contact=with_contact)
    return Item("renewal_requested", order.rx_number, patient, since, detail, {})


def _needed_item(order: Order, today: date, with_contact: bool) -> Item:
    detail, expired = _renewal_detail(order, today)
    assert order.renewal_from is not None
    since = order.renewal_from
    if expired and order.expires_on is not None:
        since = min(since, order.expires_on)
    patient = _patient(order.patient, with_contact=with_contact)
    return Item("renewal_needed", order.rx_number, patient, since, detail, {})


def _labs_item(row: Any, today: date, with_contact: bool) -> Item:
    data = followup.labs_overdue_item(row)
    return Item(
        "labs_overdue",
        data["rx_number"],
        dict(data["patient"]),
        date.fromisoformat(data["since"]),
        f"Lab checkpoint of {data['checkpoint']} has no results.",
        {"checkpoint": data["checkpoint"]},
    )


def _symptoms_item(row: Any, today: date, with_contact: bool) -> Item:
    data = followup.symptoms_worse_item(row)
    names = ", ".join(s.replace("_", " ") for s in data["symptoms"])
    return Item(
        "symptoms_worse",
        data["rx_number"],
        dict(data["patient"]),
        row.report_date,
        f"Latest symptom report: worse or new {names}.",
        {"symptoms": data["symptoms"]},
    )


def _order_id() -> Any:
    return Order.id


def _labs(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    return followup.labs_overdue_query(today=today, prescriber_id=prescriber_id)


def _symptoms(today: date, prescriber_id: int | None, *, for_count: bool = False) -> Any:
    return followup.symptoms_worse_query(today=today, prescriber_id=prescriber_id)


def _report_date() -> Any:
    return followup.SymptomReport.report_date


def _report_id() -> Any:
    return followup.SymptomReport.id


SOURCES: dict[str, _Source] = {
    "lapsed": _Source(_lapsed, lambda: Order.undispensed_from, _order_id, _gap_item("lapsed")),
    "fill_overdue": _Source(
        _overdue, lambda: Order.undispensed_from, _order_id, _gap_item("fill_overdue")
    ),
    "symptoms_worse": _Source(_symptoms, _report_date, _report_id, _symptoms_item),
    "labs_overdue": _Source(_labs, lambda: Order.labs_due_on, _order_id, _labs_item),
    "renewal_requested": _Source(
        _requested, lambda: Order.renewal_requested_dt, _order_id, _requested_item
    ),
    "renewal_needed": _Source(_renewal_needed, lambda: Order.renewal_from, _order_id, _needed_item),
    "fill_due": _Source(_due, lambda: Order.next_fill_allowed_from, _order_id, _due_item),
}


def _sort_value(kind: str, text: str) -> date | datetime:
    return datetime.fromisoformat(text) if kind == "renewal_requested" else date.fromisoformat(text)


def _kind_items(
    kind: str,
    today: date,
    prescriber_id: int | None,
    *,
    after: Key | None,
    before: Key | None,
    limit: int | None,
    with_contact: bool,
) -> Iterator[Item]:
    """Yield ``kind``'s items from a position (backwards with ``before``); every one when
    ``limit`` is None, streamed from one query."""
    source = SOURCES[kind]
    rank = KINDS.index(kind)
    sort, row_id = source.sort(), source.row_id()
    stmt = source.query(today, prescriber_id).add_columns(sort.label("_sort"), row_id.label("_row"))
    for position, newer in ((after, True), (before, False)):
        if position is not None and position.rank == rank:
            value = literal(_sort_value(kind, position.sort), type_=sort.type)
            here = tuple_(sort, row_id)
            there = tuple_(value, literal(position.row, type_=row_id.type))
            stmt = stmt.where(here > there if newer else here < there)
    if before is not None:
        stmt = stmt.order_by(None).order_by(sort.desc(), row_id.desc())
    else:
        stmt = stmt.order_by(None).order_by(sort, row_id)
    orm = kind not in ("labs_overdue", "symptoms_worse")
    if limit is not None:
        stmt = stmt.limit(limit)
    else:
        stmt = stmt.execution_options(yield_per=500)
    for row in db.session.execute(stmt):
        built = source.item(row[0] if orm else row, today, with_contact)
        yield _with_key(built, Key(rank, row._sort.isoformat(), int(row._row)))


def _with_key(item: Item, key: Key) -> Item:
    return Item(item.kind, item.rx_number, item.patient, item.since, item.detail, item.extra, key)


def counts(today: date, prescriber_id: int | None) -> dict[str, int]:
    """Return how many items of each kind, each stopping at :data:`COUNT_CAP` (one query)."""
    capped = [
        select(func.count())
        .select_from(
            SOURCES[kind]
            .query(today, prescriber_id, for_count=True)
            .order_by(None)
            .limit(COUNT_CAP)
            .subquery()
        )
        .scalar_subquery()
        .label(kind)
        for kind in KINDS
    ]
    row = db.session.execute(select(*capped)).one()
    return {kind: int(row._mapping[kind]) for kind in KINDS}


def follow_up_page(
    viewer: User,
    *,
    today: date,
    kind: str | None = None,
    after: Key | None = None,
    before: Key | None = None,
    limit: int = PAGE_SIZE,
    with_counts: bool = True,
) -> ListPage:
    """Return one page of what needs acting on for ``viewer``, most urgent first.

    Pharmacy roles see every patient (and their phones); a prescriber sees their own
    orders' patients. ``after`` / ``before`` are positions from a previous page's links;
    ``kind`` keeps one kind only. One query per kind on the page's side of the position,
    plus one for the counts, whatever the history.
    """
    prescriber_id = viewer.id if viewer.role == "prescriber" else None
    with_contact = viewer.role != "prescriber"
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    kinds = [k for k in KINDS if kind is None or k == kind]
    if after is not None:
        kinds = [k for k in kinds if KINDS.index(k) >= after.rank]
    if before is not None:
        kinds = [k for k in kinds if KINDS.index(k) <= before.rank]
    found: list[Item] = []
    for name in kinds:
        items = list(
            _kind_items(
                name,
                today,
                prescriber_id,
                after=after,
                before=before,
                limit=limit + 1,
                with_contact=with_contact,
            )
        )
        if before is not None:
            items.reverse()  # read backwards from the position
        found.extend(items)
    more = len(found) > limit
    if before is not None:
        items = found[-limit:]
        prev_key = items[0].key if more and items else None
        next_key = items[-1].key if items else before
        if not items:
            next_key = None
    else:
        items = found[:limit]
        next_key = items[-1].key if more and items else None
        prev_key = items[0].key if after is not None and items else None
    return ListPage(
        items=items,
        next=next_key,
        prev=prev_key,
        counts=counts(today, prescriber_id) if with_counts else {},
        limit=limit,
    )


def iter_items(viewer: User, *, today: date, kind: str | None = None) -> Iterator[Item]:
    """Yield every item for ``viewer`` (the CSV export), most urgent first: one query per
    kind, read in chunks."""
    prescriber_id = viewer.id if viewer.role == "prescriber" else None
    for name in KINDS:
        if kind is None or name == kind:
            yield from _kind_items(
                name,
                today,
                prescriber_id,
                after=None,
                before=None,
                limit=None,
                with_contact=viewer.role != "prescriber",
            )


def follow_up_list(viewer: User, *, today: date, kind: str | None = None) -> list[Item]:
    """Return the first :data:`MAX_PAGE_SIZE` items for ``viewer``, most urgent first."""
    return follow_up_page(
        viewer, today=today, kind=kind, limit=MAX_PAGE_SIZE, with_counts=False
    ).items
