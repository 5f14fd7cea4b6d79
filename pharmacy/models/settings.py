"""Pharmacy-wide settings: one row, edited by an admin."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from pharmacy.extensions import Model


class PharmacySettings(Model):
    """Name, address, labels stocks and the thresholds the SPEC marks *(default)*."""

    __tablename__ = "pharmacy_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="Compounding Pharmacy")
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    licence_number: Mapped[str] = mapped_column(String(60), default="")
    timezone: Mapped[str] = mapped_column(String(60), default="America/New_York")
    # Label stocks in inches (SPEC 2.8 defaults).
    rx_label_width_in: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(4))
    rx_label_height_in: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(2))
    vial_label_width_in: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("2.25"))
    vial_label_height_in: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("1.25"))
    batch_label_width_in: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(4))
    batch_label_height_in: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(2))
    # Alert thresholds (SPEC 2.7).
    max_dose_mcg: Mapped[int] = mapped_column(default=1000)
    im_max_ml: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("2.0"))
    sc_max_ml: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1.0"))
    min_dose_volume_ml: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0.1"))
    # Workflow settings.
    default_in_use_days: Mapped[int] = mapped_column(default=28)
    refill_elapsed_percent: Mapped[int] = mapped_column(default=75)
    expiring_within_days: Mapped[int] = mapped_column(default=30)
    monitoring_interval_months: Mapped[int] = mapped_column(default=3)
    # Continuity (SPEC 7.5, 7.7).
    rx_valid_days: Mapped[int] = mapped_column(default=365, server_default="365")
    lapse_grace_days: Mapped[int] = mapped_column(default=7, server_default="7")
    # Dates that make sense (SPEC 5.3) and sterility incubation (SPEC 5.6, USP <71>).
    max_backdate_days: Mapped[int] = mapped_column(default=7, server_default="7")
    max_compounded_age_days: Mapped[int] = mapped_column(default=30, server_default="30")
    sterility_incubation_days: Mapped[int] = mapped_column(default=14, server_default="14")
    # Default lab reference ranges, canonical units (SPEC 7.2 table).
    ref_b12_low_pg_ml: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(200), server_default="200"
    )
    ref_b12_high_pg_ml: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(900), server_default="900"
    )
    ref_mma_low_nmol_l: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(0), server_default="0"
    )
    ref_mma_high_nmol_l: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(400), server_default="400"
    )
    ref_homocysteine_low_umol_l: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(0), server_default="0"
    )
    ref_homocysteine_high_umol_l: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(15), server_default="15"
    )
    ref_hemoglobin_low_g_dl: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal("12.0"), server_default="12.0"
    )
    ref_hemoglobin_high_g_dl: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal("17.5"), server_default="17.5"
    )
    ref_mcv_low_fl: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(80), server_default="80"
    )
    ref_mcv_high_fl: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), default=Decimal(100), server_default="100"
    )
    # Sign-in protection.
    login_slowdown_after: Mapped[int] = mapped_column(default=3)
    login_lock_after: Mapped[int] = mapped_column(default=5)
    login_lock_minutes: Mapped[int] = mapped_column(default=15)
    token_hours: Mapped[int] = mapped_column(default=12)
    # Sessions (SPEC 8.4): idle 30 minutes, at most 12 hours *(default)*.
    session_idle_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    session_max_hours: Mapped[int] = mapped_column(default=12, server_default="12")
