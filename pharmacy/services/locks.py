"""Row locks that serialise the workflow steps acting on one order or one fill.

On PostgreSQL these are ``SELECT ... FOR UPDATE``: a second pharmacist (or a fill, a void,
a cancel) waits for the first to commit and then sees its result. SQLite ignores
``FOR UPDATE``, but its write requests already run under ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Fill, Order
from pharmacy.services.errors import NotFound


def lock_order(order: Order) -> Order:
    """Re-read ``order`` and its fills under a row lock on the order."""
    locked = db.session.execute(
        select(Order)
        .where(Order.id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    # Refresh the fills too: another transaction may have filled or voided meanwhile.
    db.session.execute(
        select(Fill).where(Fill.order_id == locked.id).execution_options(populate_existing=True)
    ).scalars().all()
    db.session.refresh(locked, attribute_names=["fills"])
    return locked


def lock_fill(fill_id: int) -> Fill:
    """Return the fill with ``fill_id`` re-read under a row lock.

    :raise NotFound: no such fill.
    """
    fill = db.session.execute(
        select(Fill)
        .where(Fill.id == fill_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if fill is None:
        raise NotFound(f"There is no fill {fill_id}.")
    return fill
