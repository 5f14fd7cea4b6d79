"""Fills, their vial allocations and final checks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.orders import Order
from pharmacy.models.stock import Batch
from pharmacy.models.types import UTCDateTime, now_utc

FILL_STATUSES = ("allocated", "checked", "dispensed", "voided")


class Fill(Model):
    """One dispensing of an order: ``fill_number`` 0 is the original, 1.. the refills."""

    __tablename__ = "fills"
    # Lists read fills of one status newest first (SPEC 9: never every dispensed fill).
    __table_args__ = (Index("ix_fills_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    fill_number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="allocated")
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


class FillAllocation(Model):
    """Vials of one batch taken for one fill."""

    __tablename__ = "fill_allocations"
    __table_args__ = (CheckConstraint("vials > 0", name="vials_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fill_id: Mapped[int] = mapped_column(ForeignKey("fills.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    vials: Mapped[int]

    fill: Mapped[Fill] = relationship(back_populates="allocations")
    batch: Mapped[Batch] = relationship()
    vial_rows: Mapped[list[FillVial]] = relationship(
        back_populates="allocation", order_by="FillVial.serial", cascade="all, delete-orphan"
    )

    @property
    def serials(self) -> list[int]:
        """Return the serials this allocation took (also after a void returned them)."""
        return [row.serial for row in self.vial_rows]


class FillVial(Model):
    """One vial, by its serial in its batch, taken by a fill allocation (SPEC 6.1).

    A batch's vials are numbered 1..``Batch.vials``; only the serials taken by fills have a
    row, so compounding a batch writes nothing here. A void marks its rows ``returned``; the
    partial unique index lets a serial be held by one live fill at most, on SQLite and on
    PostgreSQL alike.
    """

    __tablename__ = "fill_vials"
    __table_args__ = (
        CheckConstraint("serial >= 1", name="serial_positive"),
        Index(
            "uq_fill_vials_live_serial",
            "batch_id",
            "serial",
            unique=True,
            sqlite_where=text("NOT returned"),
            postgresql_where=text("NOT returned"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("fill_allocations.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    serial: Mapped[int]
    returned: Mapped[bool] = mapped_column(default=False, server_default=false())

    allocation: Mapped[FillAllocation] = relationship(back_populates="vial_rows")


class FinalCheck(Model):
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
