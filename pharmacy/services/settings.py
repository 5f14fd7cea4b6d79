"""Pharmacy settings: one row, created by the first migration."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pharmacy.extensions import db
from pharmacy.models import PharmacySettings, User, now_utc
from pharmacy.services import audit
from pharmacy.services.tx import atomic

EDITABLE = (
    "name",
    "address",
    "phone",
    "licence_number",
    "timezone",
    "rx_label_width_in",
    "rx_label_height_in",
    "vial_label_width_in",
    "vial_label_height_in",
    "batch_label_width_in",
    "batch_label_height_in",
    "max_dose_mcg",
    "im_max_ml",
    "sc_max_ml",
    "min_dose_volume_ml",
    "default_in_use_days",
    "refill_elapsed_percent",
    "expiring_within_days",
    "monitoring_interval_months",
    "rx_valid_days",
    "lapse_grace_days",
    # SPEC 5.3 date windows and SPEC 5.6 sterility incubation.
    "max_backdate_days",
    "max_compounded_age_days",
    "sterility_incubation_days",
    # SPEC 7.2 default lab reference ranges (canonical units).
    "ref_b12_low_pg_ml",
    "ref_b12_high_pg_ml",
    "ref_mma_low_nmol_l",
    "ref_mma_high_nmol_l",
    "ref_homocysteine_low_umol_l",
    "ref_homocysteine_high_umol_l",
    "ref_hemoglobin_low_g_dl",
    "ref_hemoglobin_high_g_dl",
    "ref_mcv_low_fl",
    "ref_mcv_high_fl",
    "login_slowdown_after",
    "login_lock_after",
    "login_lock_minutes",
    "token_hours",
    "session_idle_minutes",
    "session_max_hours",
)


def get_settings() -> PharmacySettings:
    """Return the settings row (the migration seeds it; recreate it if someone removed it).

    The row is held by the session for its lifetime (one request), so formatting a page of
    dates reads it once instead of once per date: the session's identity map holds objects only
    weakly, and a page that let go of it paid one query per formatted date.
    """
    held = db.session.info.get(_HELD)
    if held is not None and held in db.session:
        return held
    settings = db.session.get(PharmacySettings, 1)
    if settings is None:
        settings = PharmacySettings(id=1)
        db.session.add(settings)
        db.session.flush()
    db.session.info[_HELD] = settings
    return settings


_HELD = "pharmacy.settings"


def pharmacy_zone() -> ZoneInfo:
    """Return the pharmacy's time zone, used for dates people read (BUD days, dose days)."""
    return ZoneInfo(get_settings().timezone)


def local_today(now: datetime | None = None) -> date:
    """Return today's date in the pharmacy's time zone (at ``now``, default the clock's now)."""
    return (now or now_utc()).astimezone(pharmacy_zone()).date()


@atomic
def update_settings(changes: dict, actor: User | None) -> PharmacySettings:
    """Apply ``changes`` (already validated by the form) and audit the difference."""
    settings = get_settings()
    before = {k: getattr(settings, k) for k in EDITABLE}
    for key, value in changes.items():
        if key in EDITABLE:
            setattr(settings, key, value)
    after = {k: getattr(settings, k) for k in EDITABLE}
    changed = {k for k in EDITABLE if before[k] != after[k]}
    if changed:
        audit.record(
            "settings.updated",
            "settings",
            1,
            actor=actor,
            before={k: before[k] for k in sorted(changed)},
            after={k: after[k] for k in sorted(changed)},
        )
    db.session.commit()
    return settings
