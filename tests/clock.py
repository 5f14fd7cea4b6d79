"""The one place tests read the clock: the app's own, which ``pytest --today`` moves.

A test that uses these depends on the date it runs: mark it ``date_sensitive`` so that
``make test`` runs it again with the clock at each fixed date (see the Makefile).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pharmacy.models.types import now_utc

# The time zone the first migration gives the pharmacy (the settings' default).
PHARMACY_ZONE = ZoneInfo("America/New_York")


def now() -> datetime:
    """Return the current time, aware UTC (time-machine's when the session travelled)."""
    return now_utc()


def today() -> date:
    """Return today's date at the pharmacy (America/New_York)."""
    return now_utc().astimezone(PHARMACY_ZONE).date()
