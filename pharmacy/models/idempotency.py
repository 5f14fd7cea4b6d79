"""Idempotency keys of creating requests (SPEC 8.3), kept in the database so every app server
sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime


class IdempotencyKey(Model):
    """One ``Idempotency-Key`` of one user: the request it came with and the first response.

    ``status_code`` is NULL while the first request is still running. ``user_id`` is 0 for
    a request made before sign-in (``POST /tokens``), whose hash covers the credentials.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict | None] = mapped_column(JSON)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
