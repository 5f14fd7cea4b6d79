"""Fills: allocate vials first-expiry-first-out, without overselling; void (SPEC 2.7).

Decisions a pharmacist would expect, documented here once:

* **Which batches.** Released batches whose formulation matches the order's drug,
  concentration, vial volume and container. Any *version* of a formulation counts, retired
  or active: a batch that was compounded and released from an older version is still good
  stock (editing a formulation creates a new version; old batches keep theirs). A batch is
  used only when its BUD has not passed yet *and* covers the fill's first dose
  (``bud_covers``); recalled, rejected and quarantined batches are never used.
* **Order of use.** Earliest BUD first (FEFO), then the oldest batch.
* **How many vials.** The dosing core plans the order with ``bud_days`` taken from the real
  BUD of the batch the fill starts with (``bud_days_from(batch BUD, fill dispense date)``).
  When one batch is short, the fill continues with the next batch in FEFO order; because
  that batch's BUD is never earlier, the first (earliest) BUD stays the one the count is
  based on: conservative, the patient never gets a vial count that assumes a longer BUD
  than one of the vials has. Multiple-dose in-use days come from the first batch's
  formulation (never more than 28). The core plans every fill with that one BUD, so when
  the plan has the patient still using a vial from an earlier fill, the earlier fill's
  real batch BUD is checked; if it does not cover that vial's last dose here, one more
  vial is dispensed (see ``_vials_needed``).
* **Dispense date.** ``Fill.dispense_date`` is the first day of the fill's window in the
  plan (``start_date + k * days_supply``), even when the vials are handed over a few days
  earlier (a refill at 75 %) or later. The BUD is an absolute date, so counting its days
  from the window start covers exactly the right dose dates; the actual hand-over time is
  ``Fill.dispensed_dt``, set at dispensing.
* **Refills.** Fill k >= 1 is allowed once ``refill_elapsed_percent`` (75 %) of the days
  supply has passed since fill k-1's dispense date, and only while fills remain
  (1 + refills). A voided fill's number is filled again.
* **Atomicity.** The order row is locked first (one fill of an order at a time, so a fill
  number is never used twice); vials are taken with conditional UPDATEs
  (``... WHERE vials_available >= :n AND status = 'released'``) whose row count is checked;
  on a miss the batch is re-read and the next one tried. On SQLite, POST requests and
  ``write_intent()`` blocks begin with ``BEGIN IMMEDIATE``; on PostgreSQL the UPDATE waits
  for a concurrent writer and re-checks its condition. When stock is short the transaction
  is rolled back: nothing is written.
* **Serials** (SPEC 6.1). Each vial of a batch has a serial 1..N. A fill takes the lowest
  serials no live fill holds, right after its conditional UPDATE of the batch row: that
  UPDATE holds the row lock until commit (PostgreSQL) or the write lock is already held
  (SQLite), so two fills of one batch pick their serials one after the other and never see
  the same serials free. A partial unique index (``batch_id, serial`` where not returned)
  makes a double allocation impossible in the database too. A void marks exactly the
  fill's serials returned.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace
from datetime import date, timedelta, tzinfo
from itertools import accumulate
from typing import Any

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value

from pharmacy.database import rows_updated
from pharmacy.domain.bud import bud_covers, bud_days_from
from pharmacy.domain.coverage import Coverage, NewStock, Walk, walk
from pharmacy.domain.errors import ConflictError, DomainError
from pharmacy.domain.plan_json import plan_to_dict
from pharmacy.domain.regimen import continue_regimen, iter_regimen
from pharmacy.domain.units import format_qty
from pharmacy.domain.vials import MAX_IN_USE_DAYS, plan_vials
from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    Fill,
    FillAllocation,
    FillVial,
    Formulation,
    Order,
    Patient,
    User,
    now_utc,
)
from pharmacy.models.orders import open_order
from pharmacy.services import audit, continuity
from pharmacy.services.errors import NotFound
from pharmacy.services.locks import lock_order
from pharmacy.services.paging import DateKey
from pharmacy.services.settings import get_settings, local_today, pharmacy_zone
from pharmacy.services.tx import atomic

OPEN_FILL_STATUSES = ("allocated", "checked", "dispensed")
VOIDABLE_STATUSES = ("allocated", "checked")


def get_order(rx_number: str) -> Order:
    """Return the order with ``rx_number``.

    :raise NotFound: no such order.
    """
    order = db.session.execute(
        select(Order).where(Order.rx_number == str(rx_number))
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(f"There is no order Rx {rx_number}.")
    return order


def get_fill(fill_id: int) -> Fill:
    """Return the fill with ``fill_id``.

    :raise NotFound: no such fill.
    """
    fill = db.session.get(Fill, fill_id)
    if fill is None:
        raise NotFound(f"There is no fill {fill_id}.")
    return fill


# --- planning -------------------------------------------------------------------------


def _fill_name(k: int) -> str:
    return "the original fill" if k == 0 else f"refill {k}"


def _coverage(order: Order) -> Coverage:
    """Return what the order's fills cover (the domain core), as a 409 when it cannot plan."""
    try:
        return continuity.coverage(order)
    except DomainError as exc:
        raise ConflictError(
            exc.field, f"The order cannot be planned for filling: {exc.message}"
        ) from None


def _new_stock(order: Order, k: int, first_dose: date, batch: Batch | None) -> NewStock:
    """Return fill ``k``'s vials from ``batch`` (its real BUD and in-use days) for the core."""
    if batch is None:
        return NewStock(k, first_dose, order.days_supply)
    return NewStock(
        k,
        first_dose,
        order.days_supply,
        bud_last_day=continuity.bud_last_day(batch.bud_dt),
        in_use_days=batch.formulation.in_use_days or MAX_IN_USE_DAYS,
    )


def _walk_with(order: Order, k: int, first_dose: date, batch: Batch | None) -> Walk:
    """Replay the order's fills plus fill ``k`` from ``batch``: how many vials it needs."""
    return walk(
        continuity.order_terms(order),
        [continuity.made_fill(f) for f in continuity.live_fills(order)],
        _new_stock(order, k, first_dose, batch),
    )


def _matching_batches(order: Order, first_dose: date) -> list[Batch]:
    """Return released, in-date batches of a matching formulation covering ``first_dose``, FEFO."""
    now = now_utc()
    zone = pharmacy_zone()
    rows = db.session.execute(
        select(Batch)
        .join(Formulation, Batch.formulation_id == Formulation.id)
        .where(
            Formulation.drug == order.drug,
            Formulation.concentration_mcg_per_ml == order.concentration_mcg_per_ml,
            Formulation.vial_volume_ml == order.vial_volume_ml,
            Formulation.container == order.container,
            Batch.status == "released",
            Batch.vials_available > 0,
            Batch.bud_dt > now,
        )
        .order_by(Batch.bud_dt, Batch.id)
    ).scalars()
    return [b for b in rows if bud_covers(b.bud_dt, first_dose, zone)]


def _fill_plan(order: Order, k: int, first_dose: date, batch: Batch) -> dict[str, Any]:
    """Return the plan JSON stored with fill ``k``: its window planned with the batch's BUD.

    The window starts on ``first_dose`` (the first dose earlier fills leave uncovered) and
    runs ``days_supply`` days; its doses continue the regimen from that dose (SPEC 5.4).
    """
    terms = continuity.order_terms(order)
    start = next(d for d in iter_regimen(terms.regimen, terms.start_date) if d.date >= first_dose)
    request = replace(
        terms.plan_request(
            in_use_days=batch.formulation.in_use_days or MAX_IN_USE_DAYS,
            bud_days=max(1, bud_days_from(batch.bud_dt, first_dose, pharmacy_zone())),
        ),
        regimen=continue_regimen(terms.regimen, start),
        start_date=first_dose,
        fills=1,
    )
    data = plan_to_dict(plan_vials(request))
    for dose in (*data["doses"], *data["uncovered_doses"]):
        dose["fill_number"] = k
    for item in (*data["vials"], *data["fills"]):
        item["fill_number"] = k
    return data


@dataclass(frozen=True)
class NextFill:
    """What the next fill of an order would be, without taking anything.

    ``fill_number`` is None when no fills remain. ``allowed_from`` is the first day the
    fill may be made (the refill rule). ``needed`` is the vial count with the first FEFO
    batch's BUD (or without a BUD when there is no batch); ``available`` what the usable
    batches hold; ``shortfall`` what is missing.
    """

    fill_number: int | None
    allowed_from: date | None
    window_start: date | None
    first_dose: date | None
    needed: int
    available: int
    reason: str = ""

    @property
    def shortfall(self) -> int:
        """Return how many vials are missing for this fill."""
        return max(0, self.needed - self.available)

    def due(self, today: date) -> bool:
        """Return whether the fill may be made ``today``."""
        return (
            self.fill_number is not None
            and self.allowed_from is not None
            and (today >= self.allowed_from)
        )


def next_fill(order: Order) -> NextFill:
    """Return what the order's next fill would take (SPEC 5.4 window, first FEFO batch)."""
    upcoming = _coverage(order).next_fill
    if upcoming is None:
        return NextFill(None, None, None, None, 0, 0, "Every dose of the regimen is covered.")
    if upcoming.fill_number is None:
        return NextFill(None, None, upcoming.due_by, upcoming.due_by, 0, 0, "No refills left.")
    k, first = upcoming.fill_number, upcoming.due_by
    batches = _matching_batches(order, first)
    needed = _walk_with(order, k, first, batches[0] if batches else None).new_vials
    available = sum(b.vials_available for b in batches)
    return NextFill(k, upcoming.allowed_from, first, first, needed, available)


# --- allocation -----------------------------------------------------------------------


def _check_order(order: Order, today: date) -> None:
    if order.status != "verified":
        detail = {
            "submitted": "it has not been verified by a pharmacist yet",
            "rejected": "it was rejected",
            "cancelled": "it was cancelled",
            "completed": "it is completed: its fills cover every dose of the regimen",
        }.get(order.status, f"its status is {order.status}")
        raise ConflictError("status", f"Rx {order.rx_number} cannot be filled: {detail}.")
    if order.therapy_stopped_on is not None:
        raise ConflictError(
            "status",
            f"Rx {order.rx_number} cannot be filled: the prescriber stopped therapy on"
            f" {order.therapy_stopped_on:%b %-d, %Y}.",
        )
    if order.renewal_state == "replaced":
        raise ConflictError(
            "status", f"Rx {order.rx_number} was renewed: fill the renewal order instead."
        )
    if continuity.is_expired(order, today):
        raise ConflictError(
            "status",
            f"Rx {order.rx_number} expired on {order.expires_on}: it cannot be"
            " filled any more. Ask the prescriber to renew it.",
        )


def _take(batch: Batch, wanted: int) -> int:
    """Take up to ``wanted`` vials from ``batch`` atomically; return how many were taken."""
    while wanted > 0:
        available = db.session.execute(
            select(Batch.vials_available, Batch.status).where(Batch.id == batch.id)
        ).one()
        if available.status != "released" or available.vials_available <= 0:
            return 0
        n = min(wanted, available.vials_available)
        result = db.session.execute(
            update(Batch)
            .where(Batch.id == batch.id, Batch.vials_available >= n, Batch.status == "released")
            .values(vials_available=Batch.vials_available - n)
            .execution_options(synchronize_session=False)
        )
        if rows_updated(result) == 1:
            return n
        # Someone took vials between our read and the UPDATE: read again and retry.
    return 0


def _free_serials(batch: Batch, wanted: int) -> list[int]:
    """Return the ``wanted`` lowest serials of ``batch`` that no live fill holds.

    Called after this transaction's conditional UPDATE of the batch row, which serialises
    every allocation and void of the batch: the serials read here stay free until commit.

    :raise ConflictError: fewer free serials than vials counted available (inconsistent stock).
    """
    held = set(
        db.session.execute(
            select(FillVial.serial).where(
                FillVial.batch_id == batch.id, FillVial.returned.is_(False)
            )
        ).scalars()
    )
    free: list[int] = []
    for serial in range(1, batch.vials + 1):
        if serial not in held:
            free.append(serial)
            if len(free) == wanted:
                return free
    raise ConflictError(
        "stock",
        f"Batch {batch.lot_number} counts more vials available than it has free serials;"
        " its stock needs a pharmacist's review before it is used.",
    )


@atomic
def allocate_fill(order: Order, actor: User | None, today: date) -> Fill:
    """Make the order's next fill: plan its vials with the real batch BUD and take them FEFO.

    :param today: the pharmacy's local date (refill timing).
    :raise ConflictError: the order is not verified, no refills remain, the refill is too
        early, the fill needs no vials, or stock is short (the message says how many vials
        are missing). Nothing is written then.
    """
    fill = _allocate(order, actor, today)
    db.session.commit()
    return fill


def _allocate(order: Order, actor: User | None, today: date) -> Fill:
    order = lock_order(order)
    _check_order(order, today)
    upcoming = _coverage(order).next_fill
    if upcoming is None:
        raise ConflictError(
            "fill_number",
            f"Every dose of Rx {order.rx_number} is covered by its fills; there is nothing to"
            " fill.",
        )
    k = upcoming.fill_number
    if k is None:
        used = order.fills_allowed
        raise ConflictError(
            "refills",
            f"Rx {order.rx_number} has no refills left: all {used} fill"
            f"{'' if used == 1 else 's'} it allows have been made. The dose of"
            f" {upcoming.due_by.isoformat()} needs a renewal.",
        )
    allowed = upcoming.allowed_from
    if allowed is not None and today < allowed:
        percent = get_settings().refill_elapsed_percent
        raise ConflictError(
            "fill_number",
            f"Refill {k} of Rx {order.rx_number} is too early: it is allowed from"
            f" {allowed.isoformat()}, when {percent}% of the days from the previous fill to"
            f" the next uncovered dose ({upcoming.due_by.isoformat()}) have passed.",
        )
    first_dose = upcoming.due_by
    candidates = _matching_batches(order, first_dose)

    first_batch: Batch | None = None
    needed = 0
    taken: list[tuple[Batch, int]] = []
    for batch in candidates:
        if first_batch is None:
            # The first batch we actually take from has the earliest BUD of the fill.
            want = _walk_with(order, k, first_dose, batch).new_vials
            if want == 0:
                first_batch, needed = batch, 0
                break
            got = _take(batch, want)
            if got:
                first_batch, needed = batch, want
                taken.append((batch, got))
            continue
        remaining = needed - sum(n for _, n in taken)
        if remaining <= 0:
            break
        got = _take(batch, remaining)
        if got:
            taken.append((batch, got))

    if first_batch is None:
        # No stock, or every candidate was emptied by someone else meanwhile.
        needed = _walk_with(order, k, first_dose, candidates[0] if candidates else None).new_vials
    if needed == 0:
        # Never made, never uses up a fill number (SPEC 5.4).
        raise ConflictError(
            "fill_number",
            f"{_fill_name(k).capitalize()} of Rx {order.rx_number} would serve no dose: the"
            " vials already dispensed cover its window.",
        )
    got_total = sum(n for _, n in taken)
    if got_total < needed:
        missing = needed - got_total
        raise ConflictError(
            "stock",
            f"Not enough stock for {_fill_name(k)} of Rx {order.rx_number}: it needs"
            f" {needed} vial{'' if needed == 1 else 's'} of {_product(order)} whose BUD"
            f" covers {first_dose.isoformat()}, and {missing}"
            f" {'is' if missing == 1 else 'are'} missing. Compound or release a batch,"
            " then fill again.",
        )
    assert first_batch is not None
    fill = Fill(
        order_id=order.id,
        fill_number=k,
        status="allocated",
        vials=needed,
        dispense_date=first_dose,
        plan=_fill_plan(order, k, first_dose, first_batch),
        created_by_id=actor.id if actor is not None else None,
    )
    serials: list[list[int]] = []
    for batch, n in taken:
        chosen = _free_serials(batch, n)
        serials.append(chosen)
        allocation = FillAllocation(batch_id=batch.id, vials=n)
        allocation.vial_rows = [FillVial(batch_id=batch.id, serial=s) for s in chosen]
        fill.allocations.append(allocation)
    db.session.add(fill)
    db.session.flush()
    for batch, _ in taken:
        db.session.refresh(batch, attribute_names=["vials_available"])
    db.session.refresh(order, attribute_names=["fills"])
    continuity.refresh_next_fill(order, today=today, actor=actor)
    audit.record(
        "fill.allocated",
        "fill",
        fill.id,
        actor=actor,
        after={
            "rx_number": order.rx_number,
            "fill_number": k,
            "vials": needed,
            "dispense_date": fill.dispense_date,
            "allocations": [
                {
                    "batch_lot": b.lot_number,
                    "vials": n,
                    "serials": chosen,
                    "vials_available_after": b.vials_available,
                }
                for (b, n), chosen in zip(taken, serials, strict=True)
            ],
            "next_fill": continuity.next_fill_to_dict(order, today),
        },
    )
    return fill


def _product(order: Order) -> str:
    return (
        f"{format_qty(order.concentration_mcg_per_ml)} mcg/mL"
        f" {format_qty(order.vial_volume_ml)} mL {order.container}"
    )


# --- voiding --------------------------------------------------------------------------


@atomic
def void_fill(fill: Fill, actor: User | None, reason: str, today: date | None = None) -> Fill:
    """Void a fill before it is dispensed and return its vials to their batches.

    The order's next fill is refreshed in the same transaction: the voided fill's number
    and window are free again (SPEC 5.4).

    :raise DomainError: no reason given (field ``reason``).
    :raise ConflictError: the fill was dispensed or voided already.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason", "Give the reason for voiding the fill.")
    # Flip the status first and conditionally: of two concurrent voids only one wins,
    # so the vials go back exactly once.
    result = db.session.execute(
        update(Fill)
        .where(Fill.id == fill.id, Fill.status.in_(VOIDABLE_STATUSES))
        .values(status="voided", voided_dt=now_utc(), void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if rows_updated(result) != 1:
        db.session.refresh(fill)
        raise ConflictError(
            "status",
            f"Fill {fill.id} is {fill.status} and cannot be voided"
            + (" (it has been handed to the patient)." if fill.status == "dispensed" else "."),
        )
    db.session.refresh(fill)
    returned = []
    for allocation in fill.allocations:
        db.session.execute(
            update(FillVial)
            .where(FillVial.allocation_id == allocation.id)
            .values(returned=True)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Batch)
            .where(Batch.id == allocation.batch_id)
            .values(vials_available=Batch.vials_available + allocation.vials)
            .execution_options(synchronize_session=False)
        )
        batch = db.session.get_one(Batch, allocation.batch_id)
        db.session.refresh(batch, attribute_names=["vials_available"])
        db.session.refresh(allocation, attribute_names=["vial_rows"])
        returned.append(
            {
                "batch_lot": batch.lot_number,
                "vials": allocation.vials,
                "serials": allocation.serials,
                "vials_available_after": batch.vials_available,
            }
        )
    audit.record(
        "fill.voided",
        "fill",
        fill.id,
        actor=actor,
        before={"status": "allocated or checked"},
        after={
            "status": "voided",
            "reason": reason,
            "returned": returned,
            "rx_number": fill.order.rx_number,
            "fill_number": fill.fill_number,
        },
    )
    order = lock_order(fill.order)
    db.session.refresh(order, attribute_names=["fills"])
    continuity.refresh_next_fill(order, today=today or local_today(), actor=actor)
    db.session.commit()
    return fill


# --- JSON -----------------------------------------------------------------------------


def fill_to_dict(fill: Fill, *, include_plan: bool = True) -> dict[str, Any]:
    """Return the API form of a fill (SPEC 3: ``id``, ``fill_number``, ``vials``, ...)."""
    order = fill.order
    patient = order.patient
    data: dict[str, Any] = {
        "id": fill.id,
        "rx_number": order.rx_number,
        "fill_number": fill.fill_number,
        "status": fill.status,
        "vials": fill.vials,
        "dispense_date": fill.dispense_date.isoformat(),
        "patient": {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "dob": patient.dob.isoformat(),
        },
        "allocations": [
            {
                "batch_lot": a.batch.lot_number,
                "vials": a.vials,
                "serials": a.serials,
                "bud": a.batch.bud_dt.isoformat(),
            }
            for a in fill.allocations
        ],
        "created_at": fill.created_dt.isoformat() if fill.created_dt else None,
        "dispensed_at": fill.dispensed_dt.isoformat() if fill.dispensed_dt else None,
        "voided_at": fill.voided_dt.isoformat() if fill.voided_dt else None,
        "void_reason": fill.void_reason or None,
    }
    if include_plan:
        data["plan"] = fill.plan
    return data


# --- work lists -----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """One verified order on a work list, with its next fill."""

    order: Order
    next: NextFill


# The compound list looks this far ahead: a batch takes days (sterility tests two weeks).
COMPOUND_LOOKAHEAD_DAYS = 21
WORKLIST_PAGE = 50  # orders listed on one page of the work lists (both sections together)
# An order due later whose stock is on the shelf is on neither list, so a page reads this
# many times the orders it lists, in one query, to fill up.
WORKLIST_READ_FACTOR = 3


@dataclass(frozen=True)
class WorkCursor:
    """Which page of the work lists: the orders after ``after`` or before ``before``."""

    after: DateKey | None = None
    before: DateKey | None = None
    limit: int = WORKLIST_PAGE


@dataclass(frozen=True)
class WorkPage:
    """One page of the work lists, and the keys that open the pages next to it.

    Both sections list orders of one stretch of the list, ordered by the day their next
    fill may be made (then id): the overdue first. ``next`` is the ``after=`` key of the
    following page, ``prev`` the ``before=`` key of the preceding one; ``None`` when there is
    no such page.
    """

    to_fill: list[WorkItem]
    to_compound: list[WorkItem]
    next: DateKey | None
    prev: DateKey | None


def _usable_batches(products: set[tuple]) -> dict[tuple, list[Batch]]:
    """Return released, in-date batches with vials left for each product: one query each."""
    now = now_utc()
    found: dict[tuple, list[Batch]] = {}
    for product in sorted(products, key=str):
        drug, concentration, volume, container = product
        found[product] = list(
            db.session.execute(
                select(Batch)
                .join(Formulation, Batch.formulation_id == Formulation.id)
                .where(
                    Formulation.drug == drug,
                    Formulation.concentration_mcg_per_ml == concentration,
                    Formulation.vial_volume_ml == volume,
                    Formulation.container == container,
                    Batch.status == "released",
                    Batch.vials_available > 0,
                    Batch.bud_dt > now,
                )
                .order_by(Batch.bud_dt, Batch.id)
            ).scalars()
        )
    return found


class _Shelf:
    """One product's usable batches, earliest BUD first: the vials whose BUD covers a date."""

    def __init__(self, batches: list[Batch], zone: tzinfo) -> None:
        self.batches = batches
        self.zone = zone
        # from_index[i]: the vials in batches[i:], each later BUD covering at least as much.
        self.from_index = list(accumulate(reversed([b.vials_available for b in batches])))[::-1]
        self.from_index.append(0)

    def vials_covering(self, first_dose: date) -> int:
        """Return the vials of the batches whose BUD covers ``first_dose`` (SPEC 2.4)."""
        # BUDs come in order, so the batches that cover the date are the tail of the list.
        i = bisect_left(
            self.batches, True, key=lambda b: bud_covers(b.bud_dt, first_dose, self.zone)
        )
        return self.from_index[i]


def _work_key(order: Order) -> DateKey:
    assert order.next_fill_allowed_from is not None  # the work lists' query requires it
    return DateKey(order.next_fill_allowed_from, order.id)


def _work_orders(today: date, cursor: WorkCursor, read: int) -> list[Order]:
    """Return up to ``read + 1`` open orders from the cursor on, in reading order.

    Reading forward (no cursor, or ``after``) the orders come oldest allowed date first;
    reading back (``before``) they come newest first.
    """
    horizon = today + timedelta(days=COMPOUND_LOOKAHEAD_DAYS)
    key = tuple_(Order.next_fill_allowed_from, Order.id)
    # The open-order condition is the partial index ix_orders_open_next_fill's, so the
    # database can prove the index applies and reads it (date, then id) from the cursor on.
    query = select(Order).where(
        open_order(),
        Order.next_fill_number.is_not(None),
        Order.next_fill_allowed_from <= horizon,
        or_(Order.expires_on.is_(None), Order.expires_on >= today),
    )
    if cursor.before is not None:
        query = query.where(key < tuple_(cursor.before.on, cursor.before.id)).order_by(
            Order.next_fill_allowed_from.desc(), Order.id.desc()
        )
    else:
        if cursor.after is not None:
            query = query.where(key > tuple_(cursor.after.on, cursor.after.id))
        query = query.order_by(Order.next_fill_allowed_from, Order.id)
    return list(db.session.execute(query.limit(read + 1)).scalars())


def worklist(today: date, cursor: WorkCursor | None = None) -> WorkPage:
    """Return one page of the technician's work lists, from the orders' stored next-fill state.

    ``to_fill``: verified orders whose next fill is due (refill window open) and whose
    stock is on the shelf. ``to_compound``: verified orders whose next fill, due within
    three weeks, lacks matching stock, with the vials missing. Expired, completed, stopped
    and replaced orders, and orders with no fills left, are on neither list.

    A page lists up to ``cursor.limit`` orders of the two lists together, keyset-paged by
    (next fill allowed from, id). Whatever the history, a page runs one query for the
    orders, one per product for the stock and one for the listed orders' patients (SPEC 9).
    """
    cursor = cursor or WorkCursor()
    read = cursor.limit * WORKLIST_READ_FACTOR
    orders = _work_orders(today, cursor, read)
    more = len(orders) > read
    orders = orders[:read]

    def product(o: Order) -> tuple:
        return (o.drug, o.concentration_mcg_per_ml, o.vial_volume_ml, o.container)

    zone = pharmacy_zone()
    shelves = {
        p: _Shelf(batches, zone)
        for p, batches in _usable_batches({product(o) for o in orders}).items()
    }
    listed: list[tuple[int, WorkItem, bool]] = []  # (position read, item, short of stock)
    for position, order in enumerate(orders):
        first = order.next_fill_due_by
        assert first is not None  # set with next_fill_number on every verified order
        available = shelves[product(order)].vials_covering(first)
        upcoming = NextFill(
            order.next_fill_number,
            order.next_fill_allowed_from,
            first,
            first,
            order.next_fill_vials or 1,
            available,
        )
        if upcoming.shortfall > 0 or upcoming.due(today):
            listed.append((position, WorkItem(order, upcoming), upcoming.shortfall > 0))
    shown = listed[: cursor.limit]
    # Where this page stops in reading order: after its last listed order when more listed
    # orders were read, else after everything read (the rest were on neither list).
    if len(listed) > cursor.limit:
        onward: DateKey | None = _work_key(shown[-1][1].order)
    elif more:
        onward = _work_key(orders[-1])
    else:
        onward = None
    # The way back starts just past the first order read (or the cursor, when none was).
    if orders:
        back: DateKey | None = _work_key(orders[0])
    elif cursor.after is not None:
        back = cursor.after.successor_bound()
    elif cursor.before is not None:
        back = cursor.before.predecessor_bound()
    else:
        back = None
    if cursor.before is not None:
        shown.reverse()
        next_key, prev_key = back, onward
    else:
        next_key, prev_key = onward, back if cursor.after is not None else None
    _load_patients([item.order for _, item, _ in shown])
    to_fill = [item for _, item, short in shown if not short]
    to_compound = [item for _, item, short in shown if short]
    return WorkPage(to_fill, to_compound, next_key, prev_key)


def _load_patients(orders: list[Order]) -> None:
    """Load the patients of ``orders`` in one query and attach them to their orders."""
    ids = {o.patient_id for o in orders}
    if not ids:
        return
    patients = {
        p.id: p for p in db.session.execute(select(Patient).where(Patient.id.in_(ids))).scalars()
    }
    for order in orders:
        set_committed_value(order, "patient", patients[order.patient_id])
