"""What each role's home page shows: counts and short lists of work waiting."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import Batch, Fill, IngredientLot, Order, User
from pharmacy.services import continuity_list
from pharmacy.services.settings import local_today


def _count(query) -> int:
    return db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


# Verified orders pile up over the years: their tile counts at most this many (shown "999+"),
# so the home page reads a bounded number of index entries however long the history.
COUNT_CAP = 999


def _capped(query) -> str:
    n = _count(query.limit(COUNT_CAP + 1))
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


INBOX_PAGE = 20


def home_summary(
    user: User,
    today: date | None = None,
    *,
    inbox_after: continuity_list.Key | None = None,
    inbox_before: continuity_list.Key | None = None,
) -> dict:
    """Return the numbers and lists for ``user``'s home page.

    Prescribers get a page of their inbox (the continuity list of their patients, SPEC
    7.5); pharmacists the number of follow-up items (counted, not listed).
    """

    today = today or local_today()
    summary: dict = {}
    if user.role == "prescriber":
        summary["inbox"] = continuity_list.follow_up_page(
            user, today=today, after=inbox_after, before=inbox_before, limit=INBOX_PAGE
        )
    if user.role == "pharmacist":
        counts = continuity_list.counts(today, None)
        capped = any(n >= continuity_list.COUNT_CAP for n in counts.values())
        total = sum(counts.values())
        summary["follow_up"] = f"{total}+" if capped else str(total)
        summary["follow_up_any"] = total > 0
    if user.role == "prescriber":
        mine = select(Order).where(Order.prescriber_id == user.id)
        summary["recent_orders"] = list(
            db.session.execute(mine.order_by(Order.submitted_dt.desc()).limit(10)).scalars()
        )
        summary["submitted"] = _count(mine.where(Order.status == "submitted"))
        summary["verified"] = _capped(mine.where(Order.status == "verified"))
    if user.role in ("technician", "pharmacist"):
        summary["to_verify"] = _count(select(Order).where(Order.status == "submitted"))
        summary["lots_in_quarantine"] = _count(
            select(IngredientLot).where(IngredientLot.status == "quarantine")
        )
        summary["batches_in_quarantine"] = _count(select(Batch).where(Batch.status == "quarantine"))
        summary["fills_to_check"] = _count(select(Fill).where(Fill.status == "allocated"))
        summary["fills_to_dispense"] = _count(select(Fill).where(Fill.status == "checked"))
        summary["verified_orders"] = _capped(select(Order).where(Order.status == "verified"))
    if user.role == "admin":
        summary["users"] = _count(select(User))
        summary["active_users"] = _count(select(User).where(User.active.is_(True)))
    return summary
