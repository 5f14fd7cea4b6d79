"""Date windows that make sense (SPEC 5.3) and the sterility incubation rule (SPEC 5.6).

Pure: "today" and "now" are passed in (the pharmacy's clock), nothing reads the clock here.
Each check returns the problem as a :class:`~pharmacy.domain.errors.DomainError` naming the
field, or None when the value is allowed, so a caller can gather every error at once.

| rule | limit | source |
|---|---|---|
| an order's ``start_date`` | at most ``max_backdate_days`` (default 7) before today | SPEC 5.3 |
| an order's ``start_date`` | at most 365 days after today | SPEC 5.3 |
| a batch's ``compounded_at`` | at most ``max_compounded_age_days`` (default 30) ago | SPEC 5.3 |
| a batch's ``compounded_at`` | not in the future (beyond a few minutes of clock skew) | SPEC 5.3 |
| a passed sterility result | completed at least ``sterility_incubation_days`` (default 14) | SPEC 5.6; |
|  | after compounding | USP <71> incubates not less than 14 days |
| a sterility result | completed after compounding and not in the future | SPEC 5.6 |
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pharmacy.domain.errors import DomainError

# SPEC 5.3: "at most 365 days after" today (not a setting).
MAX_START_AHEAD_DAYS = 365
# A time a few minutes ahead of the server clock is a clock difference between the
# compounding room's watch and the server, not the future.
CLOCK_SKEW = timedelta(minutes=5)


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def check_start_date(
    start: date, today: date, *, max_backdate_days: int, max_ahead_days: int = MAX_START_AHEAD_DAYS
) -> DomainError | None:
    """Return why an order may not start on ``start``, or None when it may (SPEC 5.3).

    :param today: the pharmacy's local date.
    :param max_backdate_days: how many days before today an order may start (setting).
    """
    earliest = today - timedelta(days=max_backdate_days)
    latest = today + timedelta(days=max_ahead_days)
    if earliest <= start <= latest:
        return None
    side = "before" if start < earliest else "after"
    return DomainError(
        "start_date",
        f"The start date {start.isoformat()} is too far {'back' if side == 'before' else 'ahead'}:"
        f" an order may start from {earliest.isoformat()} ({_days(max_backdate_days)} before"
        f" today) to {latest.isoformat()} ({_days(max_ahead_days)} after today).",
    )


def check_compounded_at(
    moment: datetime, now: datetime, *, max_age_days: int
) -> DomainError | None:
    """Return why a batch cannot have been compounded at ``moment``, or None (SPEC 5.3).

    :param moment: the compounding time (aware).
    :param now: the current time (aware).
    :param max_age_days: how far back a batch may be recorded (setting).
    """
    if moment > now + CLOCK_SKEW:
        return DomainError(
            "compounded_at",
            "The compounding time cannot be in the future: record a batch once it is made.",
        )
    if moment < now - timedelta(days=max_age_days):
        return DomainError(
            "compounded_at",
            f"The compounding time is more than {_days(max_age_days)} ago: a batch is recorded"
            f" within {_days(max_age_days)} of compounding.",
        )
    return None


def check_sterility_completed(
    result: str,
    completed: datetime,
    compounded: datetime,
    now: datetime,
    *,
    incubation_days: int,
) -> DomainError | None:
    """Return why a sterility result completed at ``completed`` is refused, or None (SPEC 5.6).

    A ``passed`` result needs the full incubation: USP <71> incubates not less than 14 days
    (``incubation_days``, a setting). A ``failed`` result may come at any time after
    compounding (growth can show on the first day).

    :param result: ``passed`` or ``failed``.
    :param completed: when the laboratory completed the test (aware).
    :param compounded: when the batch was compounded (aware).
    :param now: the current time (aware).
    """
    if completed > now + CLOCK_SKEW:
        return DomainError("completed_at", "The test cannot be completed in the future.")
    if completed < compounded:
        return DomainError(
            "completed_at", "The test cannot be completed before the batch was compounded."
        )
    ready = compounded + timedelta(days=incubation_days)
    if result == "passed" and completed < ready:
        return DomainError(
            "completed_at",
            f"A sterility test passes only after {_days(incubation_days)} of incubation"
            f" (USP <71>): this batch can pass from {ready.isoformat(timespec='minutes')}.",
        )
    return None
