"""Fills, their vial allocations and final checks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import db
from pharmacy.models.orders import Order
from pharmacy.models.stock import Batch
from pharmacy.models.types import UTCDateTime, now_utc

FILL_STATUSES = ("allocated", "checked", "dispensed", "voided")


class Fill(db.Model):
    """One dispensing of an order: ``fill_number`` 0 is the original, 1.. the refills."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    fill_number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="allocated", index=True)
    vials: Mapped[int]
    dispense_date: Mapped[date]  # the first day of the fill's window
    plan: Mapped[dict] = mapped_column(JSON)  # the plan JSON used to size the fill
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispensed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispensed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pharmacist_initials: Mapped[str] = mapped_column(String(8), default="")
    voided_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(back_populates="fills")
    allocations: Mapped[list[FillAllocation]] = relationship(
        back_populates="fill", order_by="FillAllocation.id", cascade="all, delete-orphan"
    )
    checks: Mapped[list[FinalCheck]] = relationship(
        back_populates="fill", order_by="FinalCheck.id", cascade="all, delete-orphan"
    )


class FillAllocation(db.Model):
    """Vials of one batch taken for one fill."""

    __tablename__ = "fill_allocations"
    __table_args__ = (CheckConstraint("vials > 0", name="vials_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fill_id: Mapped[int] = mapped_column(ForeignKey("fills.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    vials: Mapped[int]

    fill: Mapped[Fill] = relationship(back_populates="allocations")
    batch: Mapped[Batch] = relationship()


class FinalCheck(db.Model):
    """A pharmacist's scan-based final check of a fill, passed or not."""

    __tablename__ = "final_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    fill_id: Mapped[int] = mapped_column(ForeignKey("fills.id"), index=True)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    ok: Mapped[bool]
    scans: Mapped[list] = mapped_column(JSON)
    reasons: Mapped[list] = mapped_column(JSON)

    fill: Mapped[Fill] = relationship(back_populates="checks")
