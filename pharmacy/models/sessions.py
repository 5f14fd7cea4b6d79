"""Server-side sign-in sessions and sign-in throttle counters (SPEC 8.4).

Both live in the database, never in a process's memory, so several app servers behind one
load balancer share them: a session started on one works on the other, a sign-out on one
ends it on both, and a throttle counts the attempts made on both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc


class UserSession(Model):
    """One signed-in browser; its random id rides in the signed Flask session cookie."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_seen_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    ended_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class LoginThrottle(Model):
    """Sign-in attempts counted under one key: ``acct:<username>|<address>`` or ``addr:<address>``.

    The key is the typed username whether or not such a user exists, so an unknown username
    is throttled exactly like a known one.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    locked_until_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
