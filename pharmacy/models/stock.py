"""Ingredient lots and compounded batches."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.formulary import Formulation
from pharmacy.models.types import UTCDateTime, now_utc

LOT_STATUSES = ("quarantine", "released", "rejected", "recalled")
BATCH_STATUSES = ("quarantine", "released", "rejected", "recalled")
# A batch with vials on the shelf (quarantined or released): the stock page's partial index;
# queries repeat it with literals so the database can use the index.
BATCH_ON_HAND = "vials_available > 0 AND status IN ('quarantine', 'released')"


class IngredientLot(Model):
    """A received lot of a component (SPEC 2.6); quantity on hand never goes negative."""

    __tablename__ = "ingredient_lots"
    __table_args__ = (CheckConstraint("quantity_on_hand >= 0", name="on_hand_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component: Mapped[str] = mapped_column(String(80), index=True)
    manufacturer: Mapped[str] = mapped_column(String(120))
    lot: Mapped[str] = mapped_column(String(40))
    expiry: Mapped[str] = mapped_column(String(10))  # as received: YYYY-MM-DD or YYYY-MM
    expiry_date: Mapped[date]  # the last day it may be used (month-only -> the month's end)
    quantity_received: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    quantity_on_hand: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(4))
    assay_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    lod_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    coa_reference: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(12), default="quarantine", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    received_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Batch(Model):
    """A compounded batch of vials from one formulation version (SPEC 2.5)."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("vials_available >= 0", name="available_not_negative"),
        CheckConstraint("vials_available <= vials", name="available_within_made"),
        # A product's batches in BUD order: the work lists' and the allocation's stock reads.
        Index("ix_batches_formulation_bud", "formulation_id", "bud_dt"),
        # Batches with vials on hand (the stock page): a few hundred among ten years' batches.
        Index(
            "ix_batches_on_hand",
            "bud_dt",
            "id",
            sqlite_where=text(BATCH_ON_HAND),
            postgresql_where=text(BATCH_ON_HAND),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(20), unique=True)
    formulation_id: Mapped[int] = mapped_column(ForeignKey("formulations.id"))
    vials: Mapped[int]
    vials_available: Mapped[int]
    compounded_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    bud_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    bud_limited_by: Mapped[str] = mapped_column(String(40), default="usp797")
    bud_rule: Mapped[str] = mapped_column(String(160), default="")
    status: Mapped[str] = mapped_column(String(12), default="quarantine", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    sterility_test: Mapped[str | None] = mapped_column(String(8))  # pending | passed | failed
    sterility_recorded_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SPEC 5.6: when the laboratory completed the test, and its report.
    sterility_completed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sterility_reference: Mapped[str] = mapped_column(String(200), default="", server_default="")
    sterility_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    compounded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    formulation: Mapped[Formulation] = relationship()
    components: Mapped[list[BatchComponent]] = relationship(
        back_populates="batch", order_by="BatchComponent.position", cascade="all, delete-orphan"
    )


class BatchComponent(Model):
    """A worksheet line: what was required and weighed, and from which lot it was drawn."""

    __tablename__ = "batch_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    ingredient_lot_id: Mapped[int] = mapped_column(ForeignKey("ingredient_lots.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    component: Mapped[str] = mapped_column(String(80))
    required: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    weigh: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(10))
    drawn: Mapped[Decimal] = mapped_column(Numeric(14, 4))  # in the lot's own unit

    batch: Mapped[Batch] = relationship(back_populates="components")
    ingredient_lot: Mapped[IngredientLot] = relationship()
