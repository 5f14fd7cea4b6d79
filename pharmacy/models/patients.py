"""Patients."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc

if TYPE_CHECKING:  # the relationship is resolved by name at run time
    from pharmacy.models.orders import Order


class Patient(Model):
    """A patient: the pharmacy's merged record, found by MRN or by exact name and birth date.

    Several prescribers may order for one patient (SPEC 5.7). What each of them entered is
    kept in :class:`PatientEntry`; this row is the pharmacy's own record, which the safety
    checks read (allergies only ever grow from orders) and pharmacy staff edit.
    """

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80), index=True)
    dob: Mapped[date]
    mrn: Mapped[str | None] = mapped_column(String(40), unique=True)
    allergies: Mapped[str] = mapped_column(Text, default="")
    # Contact details for recalls and follow-up calls (SPEC 5.7, 7.8).
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    address: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    orders: Mapped[list[Order]] = relationship(back_populates="patient")
    entries: Mapped[list[PatientEntry]] = relationship(
        back_populates="patient", order_by="PatientEntry.id"
    )

    @property
    def full_name(self) -> str:
        """Return ``First Last``."""
        return f"{self.first_name} {self.last_name}"


class PatientEntry(Model):
    """What one prescriber entered for a patient (SPEC 5.7), shown only to that prescriber.

    Each order updates its prescriber's entry: the MRN, phone and address the order gives,
    and allergies added to (never removed). No order changes another prescriber's entry.
    """

    __tablename__ = "patient_entries"
    __table_args__ = (UniqueConstraint("patient_id", "prescriber_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    dob: Mapped[date]
    mrn: Mapped[str | None] = mapped_column(String(40), index=True)
    allergies: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    patient: Mapped[Patient] = relationship(back_populates="entries")
