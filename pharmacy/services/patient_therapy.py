"""What the patient page shows of the therapy (SPEC 7.8), read in a fixed number of
statements whatever the patient's history (SPEC 9).

* The **trend picture** draws one window of time: the last :data:`TREND_YEARS` years up to
  :data:`TREND_AHEAD` ahead of today, or an earlier window chosen by its last day
  (``trend_until``), with links to the windows before and after it.
* The **followed orders** are the ones a pharmacist acts on now: waiting for verification,
  or verified, not replaced by a renewal, and not expired for more than
  :data:`FOLLOWED_AFTER_EXPIRY` (a lapse is what follow-up must not miss). At most
  :data:`FOLLOWED_MAX`, newest first; each shows its checkpoints, adherence and latest review.
  Older orders are in the orders table, each with its follow-up on its own page.
* The **lab results**, **symptom reports** and **reviews** are tables of one page each,
  newest first, with links to older pages (keyset).

Each followed order's fills, their batches and formulations come in one statement per level
for all of them, the results its checkpoints need in one more, its latest review in one
more: the page used to read those per order and per fill (760 statements at ten years).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from pharmacy.domain import followup as fu
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    Fill,
    FillAllocation,
    Observation,
    Order,
    OrderReview,
    Patient,
    SymptomReport,
    User,
)
from pharmacy.services import followup
from pharmacy.services import orders as order_service
from pharmacy.services.paging import Cursor, DatedCursor, DatedPage, Page, read_page

TREND_YEARS = 2
TREND_AHEAD = timedelta(days=60)
# A fill's plan may serve doses up to a year after it is dispensed (days_supply <= 365).
FILL_REACH = timedelta(days=366)
# The picture never draws more than this many results or reports (a window holds far fewer).
TREND_MAX_ROWS = 500
FOLLOWED_MAX = 6
FOLLOWED_AFTER_EXPIRY = timedelta(days=365)
FOLLOWED_STATUSES = ("submitted", "verified")
RESULTS_PAGE = 20
REPORTS_PAGE = 10
REVIEWS_PAGE = 10
ORDERS_PAGE = 20
TREND_TESTS = ("b12", "mma", "homocysteine", "hemoglobin")


@dataclass(frozen=True)
class TrendWindow:
    """The span of time the trend picture draws.

    ``until`` is the window's reference day (today for the current one); ``start`` and
    ``end`` the first and last days drawn. ``earlier`` and ``later`` are the ``trend_until``
    values of the neighbouring windows (``later`` is None for the current window and for the
    one just before it, which links back without a ``trend_until``).
    """

    start: date
    end: date
    until: date
    current: bool
    earlier: date | None
    later: date | None


@dataclass(frozen=True)
class PageCursors:
    """Where each of the page's lists starts (from its ``<list>_before``/``_after`` args)."""

    orders: Cursor = field(default_factory=lambda: Cursor(limit=ORDERS_PAGE))
    results: DatedCursor = field(default_factory=lambda: DatedCursor(limit=RESULTS_PAGE))
    reports: DatedCursor = field(default_factory=lambda: DatedCursor(limit=REPORTS_PAGE))
    reviews: Cursor = field(default_factory=lambda: Cursor(limit=REVIEWS_PAGE))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # Feb 29
        return day.replace(year=day.year - years, day=28)


def trend_window(patient: Patient, until: date | None, today: date) -> TrendWindow:
    """Return the window ending on ``until`` (None or today or later: the current one).

    :raise ValidationFailed: ``trend_until`` before the patient's birth (422, naming it).
    """
    if until is not None and until < patient.dob:
        raise ValidationFailed({"trend_until": "Must be a date from the patient's birth on."})
    current = until is None or until >= today
    until = today if current or until is None else until
    start = _years_before(until, TREND_YEARS)
    later = None
    if not current:
        # The windows tile: the next one starts the day after this one ends.
        following = _years_before(until + timedelta(days=1), -TREND_YEARS)
        later = following if following < today else None
    return TrendWindow(
        start=start,
        end=until + TREND_AHEAD if current else until,
        until=until,
        current=current,
        earlier=start - timedelta(days=1),
        later=later,
    )


def _own(stmt: Any, viewer: User) -> Any:
    """Keep a prescriber to their own orders (SPEC 7.8)."""
    if viewer.role == "prescriber":
        return stmt.where(Order.prescriber_id == viewer.id)
    return stmt


def followed_orders(patient: Patient, viewer: User, today: date) -> tuple[list[Order], bool]:
    """Return the orders the page follows up, newest first, and whether more exist.

    Their fills, the fills' batches and formulations are loaded with them (four more
    statements for all of them), as coverage and adherence read them.
    """
    stmt = _own(
        select(Order).where(
            Order.patient_id == patient.id,
            Order.status.in_(FOLLOWED_STATUSES),
            or_(Order.renewal_state.is_(None), Order.renewal_state != "replaced"),
            or_(Order.expires_on.is_(None), Order.expires_on >= today - FOLLOWED_AFTER_EXPIRY),
        ),
        viewer,
    )
    rows = list(
        db.session.execute(
            stmt.order_by(Order.id.desc())
            .limit(FOLLOWED_MAX + 1)
            .options(
                selectinload(Order.fills)
                .selectinload(Fill.allocations)
                .selectinload(FillAllocation.batch)
                .selectinload(Batch.formulation)
            )
        ).scalars()
    )
    return rows[:FOLLOWED_MAX], len(rows) > FOLLOWED_MAX


def latest_reviews(order_ids: Sequence[int]) -> dict[int, OrderReview]:
    """Return each order's latest review, in one statement (with the reviewer)."""
    if not order_ids:
        return {}
    latest = (
        select(func.max(OrderReview.id))
        .where(OrderReview.order_id.in_(order_ids))
        .group_by(OrderReview.order_id)
    )
    rows = db.session.execute(
        select(OrderReview)
        .where(OrderReview.id.in_(latest))
        .options(selectinload(OrderReview.reviewed_by))
    ).scalars()
    return {r.order_id: r for r in rows}


def reviews_page(patient: Patient, viewer: User, cursor: Cursor) -> Page[Any]:
    """Return one page of the reviews of the patient's orders (``viewer``'s), newest first.

    Rows carry ``id``, ``rx_number``, ``decision``, ``note``, ``reviewed_on`` and
    ``reviewed_by`` (the reviewer's name).
    """
    stmt = _own(
        select(
            OrderReview.id,
            Order.rx_number,
            OrderReview.decision,
            OrderReview.note,
            OrderReview.reviewed_on,
            User.full_name.label("reviewed_by"),
        )
        .join(Order, Order.id == OrderReview.order_id)
        .outerjoin(User, User.id == OrderReview.reviewed_by_id)
        .where(Order.patient_id == patient.id),
        viewer,
    )
    return read_page(stmt, OrderReview.id, cursor, scalars=False)


def _page_of(page: DatedPage[Any], rows: list[Any]) -> DatedPage[Any]:
    return DatedPage(rows, page.older, page.newer, page.limit)


def _trend_rows(
    patient: Patient, viewer: User, window: TrendWindow
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[date, bool]]:
    """Return the window's results and reports (API form, the newest :data:`TREND_MAX_ROWS`)
    and the doses dispensed in it, three statements."""
    obs_rows = db.session.execute(
        select(
            Observation.id,
            Observation.test,
            Observation.value,
            Observation.flag,
            Observation.effective_date,
        )
        .where(
            Observation.patient_id == patient.id,
            Observation.test.in_(TREND_TESTS),
            Observation.effective_date >= window.start,
            Observation.effective_date <= window.end,
        )
        .order_by(Observation.effective_date.desc(), Observation.id.desc())
        .limit(TREND_MAX_ROWS)
    ).all()
    observations = [
        {
            "id": r.id,
            "test": r.test,
            "value": Decimal(r.value),
            "flag": r.flag,
            "effective_date": r.effective_date.isoformat(),
        }
        for r in reversed(obs_rows)
    ]
    report_rows = db.session.execute(
        select(SymptomReport.report_date, SymptomReport.symptoms)
        .where(
            SymptomReport.patient_id == patient.id,
            SymptomReport.report_date >= window.start,
            SymptomReport.report_date <= window.end,
        )
        .order_by(SymptomReport.report_date.desc(), SymptomReport.id.desc())
        .limit(TREND_MAX_ROWS)
    ).all()
    reports = [
        {"date": r.report_date.isoformat(), "symptoms": dict(r.symptoms or {})}
        for r in reversed(report_rows)
    ]
    fills = db.session.execute(
        _own(
            select(Fill.fill_number, Fill.plan)
            .join(Order, Order.id == Fill.order_id)
            .where(
                Order.patient_id == patient.id,
                Fill.status == "dispensed",
                Fill.dispense_date >= window.start - FILL_REACH,
                Fill.dispense_date <= window.end,
            ),
            viewer,
        )
    ).all()
    doses: dict[date, bool] = {}
    for fill in fills:
        for dose in (fill.plan or {}).get("doses", []):
            if dose.get("fill_number") != fill.fill_number:
                continue
            day = date.fromisoformat(dose["date"])
            if window.start <= day <= window.end:
                doses[day] = True
    return observations, reports, doses


def _has_older(patient: Patient, viewer: User, before: date) -> bool:
    """Return whether anything the picture draws is dated before ``before`` (one statement)."""
    older_result = (
        select(Observation.id)
        .where(Observation.patient_id == patient.id, Observation.effective_date < before)
        .exists()
    )
    older_report = (
        select(SymptomReport.id)
        .where(SymptomReport.patient_id == patient.id, SymptomReport.report_date < before)
        .exists()
    )
    older_order = _own(
        select(Order.id).where(Order.patient_id == patient.id, Order.start_date < before),
        viewer,
    ).exists()
    return bool(db.session.execute(select(or_(older_result, older_report, older_order))).scalar())


def patient_therapy(
    patient: Patient,
    viewer: User,
    *,
    today: date,
    until: date | None = None,
    cursors: PageCursors | None = None,
) -> dict[str, Any]:
    """Return what the patient page shows of the therapy, for ``viewer``.

    ``orders``: the followed orders (prescribers: their own), each with its follow-up and
    latest review, and ``more_orders`` when older ones are not followed here;
    ``observations``, ``reports`` and ``reviews``: one page each; ``window`` and the
    picture's rows (``trend_observations``, ``trend_reports``, ``doses``, ``checkpoints``)
    inside it; ``ranges`` per test.

    :raise ValidationFailed: a ``trend_until`` before the patient's birth.
    """
    cursors = cursors or PageCursors()
    window = trend_window(patient, until, today)
    orders, more_orders = followed_orders(patient, viewer, today)
    verified = [o for o in orders if o.status == "verified"]
    since = min((o.start_date for o in verified), default=today) - fu.DUE_BEFORE
    results = followup.lab_results(patient.id, since) if verified else []
    latest = latest_reviews([o.id for o in verified])
    observations, reports, doses = _trend_rows(patient, viewer, window)
    checkpoints: list[tuple[date, str]] = []
    followed = []
    for order in orders:
        review = latest.get(order.id)
        info = (
            followup.follow_up(
                order, today=today, results=results, reviews=[review] if review else []
            )
            if order.status == "verified"
            else None
        )
        followed.append({"order": order, "follow_up": info, "latest_review": review})
        if info is None:
            continue
        checkpoints += [
            (day, c["status"])
            for c in info["checkpoints"]
            if window.start <= (day := date.fromisoformat(c["date"])) <= window.end
        ]
        try:
            planned = order_service.order_plan(order).doses
        except DomainError:
            planned = ()
        for dose in planned:
            if window.start <= dose.date <= window.end:
                doses.setdefault(dose.date, False)
    results_page = followup.observations_page(patient.id, cursors.results)
    reports_page = followup.symptom_reports_page(patient.id, cursors.reports)
    ranges = {t: (r.low, r.high) for t, r in followup.default_ranges().items()}
    return {
        "orders": followed,
        "more_orders": more_orders,
        "observations": _page_of(
            results_page,
            [
                {
                    **followup.observation_to_dict(o),
                    "display": fu.display_value(o.test, Decimal(o.value)),
                }
                for o in results_page.items
            ],
        ),
        "reports": _page_of(
            reports_page, [followup.symptom_report_to_dict(r) for r in reports_page.items]
        ),
        "reviews": reviews_page(patient, viewer, cursors.reviews),
        "window": window,
        "has_older": _has_older(patient, viewer, window.start),
        "trend_observations": observations,
        "trend_reports": reports,
        "doses": sorted(doses.items()),
        "checkpoints": sorted(checkpoints),
        "ranges": ranges,
    }
