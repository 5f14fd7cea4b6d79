"""Continuity: what an order's fills really cover, and its stored next-fill state (SPEC 5.4, 7.7).

:func:`order_terms` is the one conversion of a stored order into planning terms: orders
(the plan preview), fills (allocation), labels and the calendar all call it.
:func:`coverage` replays the order's live fills (their real vials and batch BUDs) with the
domain core; :func:`refresh_next_fill` stores the result on the order (next fill number,
``allowed_from``, ``due_by``, the first dose no dispensed fill covers, the first dose no fill
can cover) so the work lists and the continuity list are indexed queries, never re-plans.
Every fill, void, dispense, renewal and review calls it in its own transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, overload

from pharmacy.domain import coverage as core
from pharmacy.domain.coverage import Coverage, MadeFill, NewStock, OrderTerms
from pharmacy.domain.errors import DomainError
from pharmacy.domain.plan_input import parse_phases
from pharmacy.domain.vials import MAX_IN_USE_DAYS, VialSpec
from pharmacy.extensions import db
from pharmacy.models import Fill, Order, User
from pharmacy.services import audit
from pharmacy.services.settings import get_settings, pharmacy_zone

LIVE_FILL_STATUSES = ("allocated", "checked", "dispensed")


def order_terms(order: Order) -> OrderTerms:
    """Return ``order``'s product, regimen and supply as domain objects.

    :raise DomainError: the stored regimen or product cannot be planned (names the field).
    """
    return OrderTerms(
        regimen=parse_phases(order.phases),
        start_date=order.start_date,
        concentration_mcg_per_ml=Decimal(order.concentration_mcg_per_ml),
        vial=VialSpec(Decimal(order.vial_volume_ml).quantize(Decimal("0.01")), order.container),
        days_supply=order.days_supply,
        fills=order.fills_allowed,
        route=order.route,
    )


@overload
def local_date(moment: datetime) -> date: ...
@overload
def local_date(moment: None) -> None: ...
def local_date(moment: datetime | None) -> date | None:
    """Return the pharmacy-local calendar date of ``moment``."""
    if moment is None:
        return None
    return moment.astimezone(pharmacy_zone()).date()


def bud_last_day(bud_at: datetime) -> date:
    """Return the last day a vial with this BUD may be used: the day before its local date.

    SPEC 2.4: a dose date is covered when it falls before the BUD's calendar date.
    """
    return local_date(bud_at) - timedelta(days=1)


def made_fill(fill: Fill) -> MadeFill:
    """Return a live fill as the domain sees it: first dose, vials, earliest BUD, dispensed on."""
    batches = [a.batch for a in fill.allocations]
    return MadeFill(
        fill_number=fill.fill_number,
        first_dose=fill.dispense_date,
        vials=fill.vials,
        bud_last_day=min((bud_last_day(b.bud_dt) for b in batches), default=date.max),
        in_use_days=min(
            (b.formulation.in_use_days or MAX_IN_USE_DAYS for b in batches),
            default=MAX_IN_USE_DAYS,
        ),
        dispensed_on=local_date(fill.dispensed_dt) if fill.status == "dispensed" else None,
    )


def live_fills(order: Order) -> list[Fill]:
    """Return the order's fills that count (allocated, checked or dispensed)."""
    return [f for f in order.fills if f.status in LIVE_FILL_STATUSES]


def coverage(order: Order) -> Coverage:
    """Return what ``order``'s live fills cover and its next fill (the domain result).

    :raise DomainError: the order's regimen cannot be planned.
    """
    terms = order_terms(order)
    return core.coverage(
        terms,
        [made_fill(f) for f in live_fills(order)],
        verified_on=local_date(order.verified_dt),
        refill_percent=get_settings().refill_elapsed_percent,
        expires_on=order.expires_on,
    )


def expires_on(written: date) -> date:
    """Return the last day an order written on ``written`` may be filled (``rx_valid_days``)."""
    return written + timedelta(days=get_settings().rx_valid_days)


def _clear(order: Order) -> None:
    order.next_fill_number = None
    order.next_fill_allowed_from = None
    order.next_fill_due_by = None
    order.next_fill_vials = None


def refresh_next_fill(order: Order, *, today: date, actor: User | None = None) -> Coverage | None:
    """Store ``order``'s next-fill state from its fills, in the caller's transaction.

    A verified order whose dispensed fills cover every dose of a regimen that ends becomes
    ``completed`` (audited). Orders that are not verified, were replaced by a verified
    renewal, or whose therapy the prescriber stopped, have no next fill. Returns the coverage (None when it does not apply).

    :param today: the pharmacy's local date (kept for callers' symmetry and the audit).
    """
    if (
        order.status != "verified"
        or order.renewal_state == "replaced"
        or order.therapy_stopped_on is not None
    ):
        _clear(order)
        if order.status not in ("verified", "completed"):
            order.undispensed_from = None
            order.renewal_from = None
        return None
    try:
        result = coverage(order)
    except DomainError:
        # A stored regimen the core cannot plan (v1 data): nothing to schedule.
        _clear(order)
        return None
    upcoming = result.next_fill
    if upcoming is None:
        _clear(order)
    else:
        order.next_fill_number = upcoming.fill_number
        order.next_fill_allowed_from = upcoming.allowed_from
        order.next_fill_due_by = upcoming.due_by
        order.next_fill_vials = (
            _projected_vials(order, upcoming.fill_number, upcoming.due_by)
            if upcoming.fill_number is not None
            else None
        )
    order.undispensed_from = result.undispensed_from
    order.renewal_from = result.renewal_from
    if result.complete:
        order.status = "completed"
        audit.record(
            "order.completed",
            "order",
            order.rx_number,
            actor=actor,
            before={"status": "verified"},
            after={"status": "completed", "on": today},
        )
    return result


def _projected_vials(order: Order, fill_number: int, due_by: date) -> int:
    """Return how many vials the next fill needs without a BUD limit (the work lists' count)."""
    terms = order_terms(order)
    walked = core.walk(
        terms,
        [made_fill(f) for f in live_fills(order)],
        NewStock(
            fill_number, due_by, terms.days_supply, in_use_days=get_settings().default_in_use_days
        ),
    )
    return walked.new_vials


def next_fill_status(order: Order, today: date) -> str | None:
    """Return the stored next fill's SPEC 5.4 status on ``today`` (None: no next fill)."""
    if order.next_fill_due_by is None:
        return None
    upcoming = core.NextFill(
        order.next_fill_number, order.next_fill_due_by, order.next_fill_allowed_from
    )
    return upcoming.status(today, order.expires_on)


def is_expired(order: Order, today: date) -> bool:
    """Return whether ``order`` was verified and is past its last fill day."""
    return order.status == "verified" and order.expires_on is not None and today > order.expires_on


def display_status(order: Order, today: date) -> str:
    """Return the status people and the API see: a verified order past expiry is ``expired``."""
    return "expired" if is_expired(order, today) else order.status


def next_fill_to_dict(order: Order, today: date) -> dict[str, Any] | None:
    """Return the SPEC 5.4 ``next_fill`` of ``order`` from its stored state."""
    status = next_fill_status(order, today)
    if status is None:
        return None
    return {
        "fill_number": order.next_fill_number,
        "due_by": order.next_fill_due_by.isoformat() if order.next_fill_due_by else None,
        "allowed_from": (
            order.next_fill_allowed_from.isoformat() if order.next_fill_allowed_from else None
        ),
        "status": status,
    }


def next_fill_dict(order: Order, *, today: date) -> dict[str, Any] | None:
    """Return the stored ``next_fill`` (the name the follow-up view calls)."""
    return next_fill_to_dict(order, today)


def order_summary(order: Order, today: date) -> dict[str, Any]:
    """Return what the order and fill pages show about continuity (SPEC 5.4, 7.6, 7.7).

    ``uncovered_doses`` are the planned doses no fill can cover; ``renewable`` tells whether
    a renewal can be asked for or written now.
    """
    from sqlalchemy import select

    result = None
    if order.status in ("verified", "completed"):
        try:
            result = coverage(order)
        except DomainError:
            result = None
    renewal_rx = None
    if order.renewal_state in ("renewed", "replaced"):
        renewal_rx = (
            db.session.execute(
                select(Order.rx_number).where(Order.renews_id == order.id).order_by(Order.id.desc())
            )
            .scalars()
            .first()
        )
    return {
        "status": display_status(order, today),
        "next_fill": (
            {
                "fill_number": order.next_fill_number,
                "due_by": order.next_fill_due_by,
                "allowed_from": order.next_fill_allowed_from,
                "status": next_fill_status(order, today),
            }
            if order.next_fill_due_by is not None
            else None
        ),
        "expires_on": order.expires_on,
        "covered_through": result.covered_through if result else None,
        "uncovered_doses": [d.date for d in result.uncovered_doses] if result else [],
        "renewal_from": order.renewal_from if order.status == "verified" else None,
        "renewal_rx": renewal_rx,
        "renewable": bool(
            result is not None
            and order.status == "verified"
            and order.therapy_stopped_on is None
            and order.renewal_state not in ("renewed", "replaced")
            and result.walk.first_uncovered is not None
        ),
    }


def fill_summary(fill: Fill) -> dict[str, Any] | None:
    """Return what a fill's vials cover, from the domain walk (None for a voided fill)."""
    if fill.status not in LIVE_FILL_STATUSES:
        return None
    try:
        result = coverage(fill.order)
    except DomainError:
        return None
    served = result.walk.served_by(fill.fill_number)
    if not served:
        return None
    return {
        "doses": len(served),
        "dispense_date": served[0].date.isoformat(),
        "last_day": served[-1].date.isoformat(),
        "uncovered": len(result.uncovered_doses),
    }
