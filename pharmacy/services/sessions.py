"""Server-side sign-in sessions (SPEC 8.4).

A session is a row in ``user_sessions``; the browser's signed cookie carries only its random
id. Every request checks the row, so ending it anywhere (sign-out, password change or reset,
deactivation) ends it on every app server at once. Sessions also end after
``session_idle_minutes`` without a request and ``session_max_hours`` after sign-in, both read
from the pharmacy settings and measured with the app's clock (``now`` is passed in).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import ApiToken, PharmacySettings, User, UserSession
from pharmacy.services import audit
from pharmacy.services.tx import atomic

# A request refreshes ``last_seen_dt`` only when it is older than this: one write a minute
# per session instead of one per request, at the cost of a minute's slack in the idle limit.
TOUCH_AFTER = timedelta(seconds=60)


@atomic
def start_session(
    user: User, *, now: datetime, address: str | None = None, user_agent: str | None = None
) -> UserSession:
    """Record a new session for ``user`` and return it (its id goes in the cookie).

    Not audited: the row itself records who signed in, when and from where.
    """
    record = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        created_dt=now,
        last_seen_dt=now,
        address=(address or "")[:64] or None,
        user_agent=(user_agent or "")[:255] or None,
    )
    db.session.add(record)
    db.session.commit()
    return record


def session_user(session_id: str, user_id: int, *, now: datetime) -> User | None:
    """Return the active user of a live session, or ``None`` when it has ended or timed out.

    The check reads and refreshes the session row on a short connection of its own, before
    the request's session starts a transaction: on SQLite a second writer would wait on the
    request's own lock, and a reader that turned writer could fail when another request
    wrote in between. A session past its idle or absolute limit is marked ended here, so it
    never comes back even if the limits are raised later.
    """

    def setting(column: Any) -> Any:
        return select(column).where(PharmacySettings.id == 1).scalar_subquery()

    with db.engine.connect() as connection:
        # One statement on every request: the session row and the two limits.
        row = connection.execute(
            select(
                UserSession.ended_dt,
                UserSession.last_seen_dt,
                UserSession.created_dt,
                setting(PharmacySettings.session_idle_minutes).label("idle_minutes"),
                setting(PharmacySettings.session_max_hours).label("max_hours"),
            ).where(UserSession.id == session_id, UserSession.user_id == user_id)
        ).one_or_none()
        connection.rollback()  # a reader only: let go before writing below
    if row is None or row.ended_dt is not None:
        return None
    idle = timedelta(minutes=row.idle_minutes or 30)
    max_age = timedelta(hours=row.max_hours or 12)
    reason = None
    if now - row.created_dt >= max_age:
        reason = "expired"
    elif now - row.last_seen_dt >= idle:
        reason = "idle"
    if reason is not None or now - row.last_seen_dt >= TOUCH_AFTER:
        _touch(session_id, now=now, reason=reason)
    if reason is not None:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def _touch(session_id: str, *, now: datetime, reason: str | None) -> None:
    """Refresh or end one session in a short write transaction of its own."""
    values: dict = {"ended_dt": now, "ended_reason": reason} if reason else {"last_seen_dt": now}
    with write_intent(), db.engine.begin() as connection:
        connection.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.ended_dt.is_(None))
            .values(**values)
        )


def end_all_sessions(user: User, *, now: datetime, reason: str) -> None:
    """End every session and revoke every API token of ``user`` (the caller commits)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_dt.is_(None))
        .values(ended_dt=now, ended_reason=reason)
    )
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_dt.is_(None))
        .values(revoked_dt=now)
        .execution_options(synchronize_session="fetch")
    )


@atomic
def sign_out(user: User, *, now: datetime) -> None:
    """Sign ``user`` out everywhere: every session and API token of theirs ends (SPEC 8.4)."""
    end_all_sessions(user, now=now, reason="signed_out")
    audit.record("user.signed_out", "user", user.id, actor=user)
    db.session.commit()
