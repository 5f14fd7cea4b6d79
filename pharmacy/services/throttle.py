"""Sign-in throttling by account and by client address (SPEC 8.4), counted atomically.

Two counters in ``login_throttles`` count every attempt that is not a success (wrong
passwords, and attempts refused while a counter asks to wait):

* ``acct:<username>|<address>``: one account from one address. After
  ``login_slowdown_after`` attempts each further one must wait 1 s, 2 s, 4 s ... (at most
  30 s) after the previous one; after ``login_lock_after`` the pair is refused for
  ``login_lock_minutes``. A right password clears it.
* ``addr:<address>``: every account from one address, with ``ADDRESS_FACTOR`` times the
  limits, so one address cannot try a password on every account in turn. Successes are not
  counted, so a counter of staff signing in all day is never throttled.

The account counter is per address on purpose: an account-wide lock would let anyone on the
network lock the pharmacist out again and again. A lock ends by time alone: it is a throttle,
never a permanent lock, and attempts while it holds are counted but do not lengthen it.

The username is counted as typed (folded to lower case) whether or not such a user exists, so
an unknown username is throttled, and told so, exactly like a known one.

Atomic on both databases: counting inserts the rows if missing (``ON CONFLICT DO NOTHING``),
locks them (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and updates them in
one transaction, so parallel attempts on several app servers are all counted (the old
per-user counter, read then written, lost two of every three). Parallel right passwords are
never refused: the check before the password only reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

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


def _limits() -> dict[str, Limits]:
    settings = get_settings()
    own = Limits(
        settings.login_slowdown_after, settings.login_lock_after, settings.login_lock_minutes
    )
    return {
        "acct": own,
        "addr": Limits(
            own.slowdown_after * ADDRESS_FACTOR, own.lock_after * ADDRESS_FACTOR, own.lock_minutes
        ),
    }


def _keys(username: str, address: str) -> dict[str, Limits]:
    limits = _limits()
    return {account_key(username, address): limits["acct"], address_key(address): limits["addr"]}


def _stale(row: LoginThrottle, limits: Limits, now: datetime) -> bool:
    """Return whether ``row``'s pause has ended or its last failure is a window old."""
    if row.locked_until_dt is not None:
        return row.locked_until_dt <= now
    return now - row.last_attempt_dt >= timedelta(minutes=limits.lock_minutes)


def _wait(row: LoginThrottle, limits: Limits, now: datetime) -> float:
    """Return the seconds ``row`` still asks an attempt to wait (0: go ahead)."""
    if _stale(row, limits, now):
        return 0.0
    if row.locked_until_dt is not None:
        return (row.locked_until_dt - now).total_seconds()
    if row.attempts < limits.slowdown_after:
        return 0.0
    step = min(MAX_WAIT_SECONDS, 2 ** (row.attempts - limits.slowdown_after))
    return max(0.0, (row.last_attempt_dt + timedelta(seconds=step) - now).total_seconds())


def _locked_rows(keys: dict[str, Limits], now: datetime) -> list[LoginThrottle]:
    """Insert the counters if missing and return them locked, in one lock order."""
    db.session.execute(
        _insert()(LoginThrottle)
        .values([{"key": key, "attempts": 0, "last_attempt_dt": now} for key in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return list(
        db.session.execute(
            select(LoginThrottle)
            .where(LoginThrottle.key.in_(keys))
            .order_by(LoginThrottle.key)  # one lock order: no deadlock between two attempts
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )


def check_attempt(username: str, address: str, *, now: datetime) -> int:
    """Return 0 when a sign-in attempt may check its password, else the whole seconds to wait.

    A refused attempt is counted (atomically, committed here) but moves neither the wait nor
    the pause: clicking again does not lengthen them.
    """
    keys = _keys(username, address)
    rows = db.session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).scalars()
    if max((_wait(row, keys[row.key], now) for row in rows), default=0.0) == 0:
        return 0
    wait = 0.0
    for row in _locked_rows(keys, now):  # decide again under the lock, then count
        row_wait = _wait(row, keys[row.key], now)
        wait = max(wait, row_wait)
        if row_wait:
            row.attempts += 1
    db.session.commit()
    return math.ceil(wait)


def attempt_failed(username: str, address: str, *, now: datetime) -> None:
    """Count a wrong password on both counters, atomically; pause a counter at its limit."""
    keys = _keys(username, address)
    for row in _locked_rows(keys, now):
        limits = keys[row.key]
        if _stale(row, limits, now):
            row.attempts, row.locked_until_dt = 0, None  # the pause or quiet spell is over
        row.attempts += 1
        row.last_attempt_dt = now
        if row.attempts >= limits.lock_after and row.locked_until_dt is None:
            row.locked_until_dt = now + timedelta(minutes=limits.lock_minutes)
    db.session.commit()


def attempt_succeeded(username: str, address: str) -> None:
    """Clear the account's counter from this address (commits); the address's stays."""
    db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == account_key(username, address))
    )
    db.session.commit()


def attempts(username: str, address: str) -> int:
    """Return the attempts counted for ``username`` from ``address`` (tests, admin)."""
    row = db.session.get(LoginThrottle, account_key(username, address))
    return row.attempts if row is not None else 0
