"""Patients."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc

if TYPE_CHECKING:  # the relationship is resolved by name at run time
    from pharmacy.models.orders import Order


class Patient(Model):
    """A patient, found by MRN or by exact name and date of birth."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80), index=True)
    dob: Mapped[date]
    mrn: Mapped[str | None] = mapped_column(String(40), unique=True)
    allergies: Mapped[str] = mapped_column(Text, default="")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    orders: Mapped[list[Order]] = relationship(back_populates="patient")

    @property
    def full_name(self) -> str:
        """Return ``First Last``."""
        return f"{self.first_name} {self.last_name}"
