"""Therapy follow-up records (SPEC 7.2-7.4): lab results, symptom reports, reviews."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pharmacy.extensions import Model
from pharmacy.models.orders import Order
from pharmacy.models.patients import Patient
from pharmacy.models.types import UTCDateTime, now_utc
from pharmacy.models.users import User


class Observation(Model):
    """A lab result, stored in the test's canonical unit with the unit it came in."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_patient_date", "patient_id", "effective_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    test: Mapped[str] = mapped_column(String(20))
    loinc: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 4))  # canonical unit
    unit: Mapped[str] = mapped_column(String(16))
    given_value: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    given_unit: Mapped[str] = mapped_column(String(16))
    reference_low: Mapped[Decimal] = mapped_column(Numeric(14, 4))  # canonical unit
    reference_high: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    range_given: Mapped[bool] = mapped_column(default=False)
    flag: Mapped[str] = mapped_column(String(8))
    effective_date: Mapped[date]
    lab: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[str] = mapped_column(String(10), default="web")  # web | api | fhir
    recorded_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class SymptomReport(Model):
    """How the patient's symptoms changed, recorded at pick-up or at a visit (SPEC 7.3)."""

    __tablename__ = "symptom_reports"
    __table_args__ = (
        Index("ix_symptom_reports_patient_date", "patient_id", "report_date"),
        Index(
            "ix_symptom_reports_awaiting_review",
            "report_date",
            "id",
            sqlite_where=text("awaiting_review"),
            postgresql_where=text("awaiting_review"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    report_date: Mapped[date]
    symptoms: Mapped[dict] = mapped_column(JSON)
    # Any symptom ``worse`` or ``new``: the continuity list filters on it (SPEC 7.5).
    worse: Mapped[bool] = mapped_column(default=False, index=True)
    # SPEC 7.5 ``symptoms_worse``: this report is worse, is the patient's latest, and no
    # review of the patient's orders came on or after it. Kept by services.followup when a
    # report or a review is recorded, so the list reads a small index, not every report.
    awaiting_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(10), default="web")
    recorded_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class OrderReview(Model):
    """A prescriber's review of an order's therapy (SPEC 7.4)."""

    __tablename__ = "order_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_on: Mapped[date]
    reviewed_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    order: Mapped[Order] = relationship()
    reviewed_by: Mapped[User | None] = relationship()
