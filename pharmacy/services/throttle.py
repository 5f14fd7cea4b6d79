"""Sign-in throttling by account and by client address (SPEC 8.4), counted atomically.

Two counters in ``login_throttles`` see every attempt:

* ``acct:<username>|<address>``: one account from one address. After
  ``login_slowdown_after`` attempts each further one must wait 1 s, 2 s, 4 s ... (at most
  30 s) after the previous one; after ``login_lock_after`` the pair is refused for
  ``login_lock_minutes``. A right password clears it.
* ``addr:<address>``: every account from one address, with ``ADDRESS_FACTOR`` times the
  limits, so one address cannot try a password on every account in turn. A right password
  takes its own attempt back off this counter, so a counter of staff signing in all day is
  never throttled.

The account counter is per address on purpose: an account-wide lock would let anyone on the
network lock the pharmacist out again and again. A lock ends by time alone: it is a throttle,
never a permanent lock, and attempts while it holds are counted but do not lengthen it.

The username is counted as typed (folded to lower case) whether or not such a user exists, so
an unknown username is throttled, and told so, exactly like a known one.

Atomic on both databases: each attempt inserts its rows if missing (``ON CONFLICT DO
NOTHING``), locks them (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), decides
and counts in one transaction, so parallel attempts on several app servers are all counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from pharmacy.extensions import db
from pharmacy.models import LoginThrottle
from pharmacy.services.settings import get_settings

ADDRESS_FACTOR = 5
MAX_WAIT_SECONDS = 30


@dataclass(frozen=True)
class Limits:
    """When one counter slows down and locks."""

    slowdown_after: int
    lock_after: int
    lock_minutes: int


def account_key(username: str, address: str) -> str:
    """Return the counter key of one account tried from one address."""
    return f"acct:{username.strip().lower()[:100]}|{address[:64]}"


def address_key(address: str) -> str:
    """Return the counter key of one client address."""
    return f"addr:{address[:64]}"


def _insert():
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _wait(row: LoginThrottle, limits: Limits, now: datetime) -> float:
    """Count one attempt on ``row``; return the seconds still to wait (0: go ahead)."""
    if row.locked_until_dt is not None and row.locked_until_dt > now:
        row.attempts += 1  # counted, but the lock keeps its end
        return (row.locked_until_dt - now).total_seconds()
    window = timedelta(minutes=limits.lock_minutes)
    if row.locked_until_dt is not None or now - row.last_attempt_dt >= window:
        row.attempts, row.locked_until_dt = 0, None  # the lock or the quiet spell is over
    wait = 0.0
    if row.attempts >= limits.slowdown_after:
        step = min(MAX_WAIT_SECONDS, 2 ** (row.attempts - limits.slowdown_after))
        wait = max(0.0, (row.last_attempt_dt + timedelta(seconds=step) - now).total_seconds())
    row.attempts += 1
    if wait == 0:
        row.last_attempt_dt = now
        if row.attempts >= limits.lock_after:
            row.locked_until_dt = now + window
    return wait


def take_attempt(username: str, address: str, *, now: datetime) -> int:
    """Count a sign-in attempt; return 0 to go ahead, else the whole seconds to wait.

    Commits its own transaction before the password is checked, so the count survives
    whatever happens next and parallel attempts see each other's.
    """
    settings = get_settings()
    own = Limits(
        settings.login_slowdown_after, settings.login_lock_after, settings.login_lock_minutes
    )
    shared = Limits(
        own.slowdown_after * ADDRESS_FACTOR, own.lock_after * ADDRESS_FACTOR, own.lock_minutes
    )
    keys = {account_key(username, address): own, address_key(address): shared}
    db.session.execute(
        _insert()(LoginThrottle)
        .values([{"key": key, "attempts": 0, "last_attempt_dt": now} for key in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = db.session.execute(
        select(LoginThrottle)
        .where(LoginThrottle.key.in_(keys))
        .order_by(LoginThrottle.key)  # one lock order: no deadlock between two attempts
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars()
    wait = max(_wait(row, keys[row.key], now) for row in rows)
    db.session.commit()
    return math.ceil(wait)


def attempt_succeeded(username: str, address: str) -> None:
    """Clear the account's counter and take the attempt back off the address's (commits)."""
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == account_key(username, address))
    )
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == address_key(address), LoginThrottle.attempts > 0)
        .values(attempts=LoginThrottle.attempts - 1)
    )
    db.session.commit()


def attempts(username: str, address: str) -> int:
    """Return the attempts counted for ``username`` from ``address`` (tests, admin)."""
    row = db.session.get(LoginThrottle, account_key(username, address))
    return row.attempts if row is not None else 0
