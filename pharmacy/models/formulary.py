"""Master formulation records, versioned."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc


class Formulation(Model):
    """One version of a master formulation record (SPEC 2.5).

    Editing a formulation that a batch used creates a new row with ``version + 1``;
    batches keep pointing at the version they were made from.
    """

    __tablename__ = "formulations"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(160))
    drug: Mapped[str] = mapped_column(String(40), default="cyanocobalamin")
    concentration_mcg_per_ml: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    vial_volume_ml: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    container: Mapped[str] = mapped_column(String(20))
    overfill_ml: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    category: Mapped[int]
    sterilization: Mapped[str] = mapped_column(String(10))
    sterility_tested: Mapped[bool]
    nonsterile_components: Mapped[bool]
    storage: Mapped[str] = mapped_column(String(15))
    protect_from_light: Mapped[bool] = mapped_column(default=True)
    in_use_days: Mapped[int] = mapped_column(default=28)
    gtin: Mapped[str | None] = mapped_column(String(14))
    # Worksheet text (SPEC 6.5): procedure steps in order, and the equipment, one line each.
    procedure: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | retired
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    ingredients: Mapped[list[FormulationIngredient]] = relationship(
        back_populates="formulation",
        order_by="FormulationIngredient.position",
        cascade="all, delete-orphan",
    )


class FormulationIngredient(Model):
    """One line of a formulation: amount per mL (or q.s.) of a component."""

    __tablename__ = "formulation_ingredients"

    id: Mapped[int] = mapped_column(primary_key=True)
    formulation_id: Mapped[int] = mapped_column(ForeignKey("formulations.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    component: Mapped[str] = mapped_column(String(80))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    unit: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=False)

    formulation: Mapped[Formulation] = relationship(back_populates="ingredients")
