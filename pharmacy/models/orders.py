"""Orders (prescriptions) and the counters that number them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    and_,
    false,
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.patients import Patient
from pharmacy.models.types import UTCDateTime, now_utc
from pharmacy.models.users import User

if TYPE_CHECKING:  # the relationship is resolved by name at run time
    from pharmacy.models.fills import Fill

ORDER_STATUSES = ("submitted", "verified", "rejected", "cancelled", "completed", "expired")
# ``expired`` is never stored: a verified order past ``expires_on`` reads as expired.
# requested: a pharmacist asked the prescriber; renewed: a renewal order was submitted;
# replaced: that renewal was verified, so this order is filled no more.
RENEWAL_STATES = ("requested", "renewed", "replaced")

# An order whose therapy the pharmacy still follows: verified, not stopped, not replaced by
# its renewal. Ten years of history are almost all orders that are none of these, so the
# work lists and the continuity list read partial indexes over only these (SPEC 9); the
# queries use the same predicate (:func:`open_order`, :func:`followed_order` below) so the
# database can prove the indexes apply.
OPEN_ORDER = (
    "status = 'verified' AND therapy_stopped_on IS NULL"
    " AND (renewal_state IS NULL OR renewal_state <> 'replaced')"
)
FOLLOWED_ORDER = "status = 'verified' AND therapy_stopped_on IS NULL"


def _open_index(name: str, *columns: str, where: str = OPEN_ORDER) -> Index:
    return Index(name, *columns, "id", sqlite_where=text(where), postgresql_where=text(where))


class Counter(Model):
    """A named monotonic counter (Rx numbers); bumped with one atomic UPDATE."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Order(Model):
    """A cyanocobalamin prescription with its regimen (SPEC 2.7, section 3 order body)."""

    __tablename__ = "orders"
    # The work lists and the continuity list read the stored next-fill state (SPEC 5.4,
    # 7.5) through these, never by re-planning every order.
    __table_args__ = (
        _open_index(
            "ix_orders_open_next_fill",
            "next_fill_allowed_from",
            where=OPEN_ORDER + " AND next_fill_number IS NOT NULL",
        ),
        _open_index("ix_orders_open_undispensed", "undispensed_from"),
        _open_index(
            "ix_orders_open_renewal",
            "renewal_from",
            where=OPEN_ORDER + " AND renewal_state IS NULL",
        ),
        _open_index(
            "ix_orders_renewal_requested",
            "renewal_requested_dt",
            where=OPEN_ORDER + " AND renewal_state = 'requested'",
        ),
        _open_index("ix_orders_open_expires", "expires_on"),
        _open_index("ix_orders_followed_labs", "labs_due_on", where=FOLLOWED_ORDER),
        # A patient's newest followed order (the symptoms_worse item names it).
        _open_index("ix_orders_followed_patient", "patient_id", where=FOLLOWED_ORDER),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rx_number: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    drug: Mapped[str] = mapped_column(String(40), default="cyanocobalamin")
    concentration_mcg_per_ml: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    vial_volume_ml: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    container: Mapped[str] = mapped_column(String(20))
    route: Mapped[str] = mapped_column(String(4))
    start_date: Mapped[date]
    phases: Mapped[list] = mapped_column(JSON)
    days_supply: Mapped[int]
    refills: Mapped[int]
    indication: Mapped[str] = mapped_column(Text, default="")
    compounding_reason: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    # SPEC 7.1 clinical frame; version-1 orders get the defaults from the migration.
    cause: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    neurologic_symptoms: Mapped[bool] = mapped_column(default=False, server_default=false())
    monitoring_tests: Mapped[list] = mapped_column(JSON, default=lambda: ["b12", "cbc"])
    monitoring_interval_months: Mapped[int] = mapped_column(default=3, server_default="3")
    # SPEC 7.4: a prescriber's ``stop`` review ends the order's future fills from this date.
    therapy_stopped_on: Mapped[date | None]
    # SPEC 7.5: the earliest checkpoint still waiting for results (services.followup).
    labs_due_on: Mapped[date | None]
    sig: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    alerts: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="web")  # web | api | fhir
    submitted_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)
    verified_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Continuity (SPEC 5.4, 7.5-7.7), kept by services.continuity.refresh_next_fill in the
    # same transaction as every fill, void, dispense, renewal and review.
    expires_on: Mapped[date | None]  # the last day it may be filled (rx_valid_days)
    next_fill_number: Mapped[int | None]  # None: no fills left (or nothing left to cover)
    next_fill_allowed_from: Mapped[date | None]
    next_fill_due_by: Mapped[date | None]
    next_fill_vials: Mapped[int | None]  # projected vial count, for the work lists
    undispensed_from: Mapped[date | None]  # first dose no dispensed fill covers
    renewal_from: Mapped[date | None]  # first dose no fill of this order can cover
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    renewal_state: Mapped[str | None] = mapped_column(String(12))  # RENEWAL_STATES
    renewal_requested_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship(back_populates="orders")
    prescriber: Mapped[User] = relationship(foreign_keys=[prescriber_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    renews: Mapped[Order | None] = relationship(remote_side=[id], foreign_keys=[renews_id])
    fills: Mapped[list[Fill]] = relationship(back_populates="order", order_by="Fill.id")

    @property
    def fills_allowed(self) -> int:
        """Return the number of fills the prescription allows (1 + refills)."""
        return 1 + self.refills


def followed_order() -> ColumnElement[bool]:
    """Return :data:`FOLLOWED_ORDER` as a condition on :class:`Order` (literals, not bound
    values, as in the index, so the database can prove the partial index applies)."""
    return and_(
        Order.status == literal_column("'verified'"),
        Order.therapy_stopped_on.is_(None),
    )


def open_order() -> ColumnElement[bool]:
    """Return :data:`OPEN_ORDER` as a condition on :class:`Order`: followed, and not
    replaced by its renewal (whose checkpoints and fills carry the therapy on)."""
    return and_(
        followed_order(),
        or_(Order.renewal_state.is_(None), Order.renewal_state != literal_column("'replaced'")),
    )
