"""Safe retries (SPEC 8.3): claim an ``Idempotency-Key``, store the first response, replay it.

A key belongs to one user. The first request with it inserts a row (committed at once, so a
second identical request arriving meanwhile hits the unique constraint and waits for the
first's response instead of creating anything); its response is stored with the row. A repeat
within 24 hours with the same request gets the stored response; the same key with another
request is a 422 on ``Idempotency-Key``. Keys older than 24 hours are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pharmacy.domain.errors import DomainError
from pharmacy.extensions import db
from pharmacy.models import IdempotencyKey

WINDOW = timedelta(hours=24)
FIELD = "Idempotency-Key"


@dataclass(frozen=True)
class Stored:
    """The first response to a key: replay it as it was."""

    status: int
    body: str
    headers: dict[str, str]


class Pending:
    """The first request with this key is still running."""


PENDING = Pending()


def claim(user_id: int, key: str, request_hash: str, *, now: datetime) -> Stored | Pending | None:
    """Claim ``key`` for a new request; return None when claimed (go on and create).

    :return: the stored first response, or :data:`PENDING` while the first still runs.
    :raise DomainError: field ``Idempotency-Key``, the key came with another request.
    """
    for _ in range(3):
        db.session.add(
            IdempotencyKey(user_id=user_id, key=key, request_hash=request_hash, created_dt=now)
        )
        try:
            db.session.commit()
            return None
        except IntegrityError:
            db.session.rollback()
        row = _row(user_id, key)
        if row is None:  # released meanwhile: claim again
            continue
        if row.created_dt < now - WINDOW:
            db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
            db.session.commit()
            continue
        if row.request_hash != request_hash:
            db.session.rollback()
            raise DomainError(
                FIELD, "This key was already used with another request; use a new key."
            )
        stored = _stored(row)
        db.session.rollback()
        return stored or PENDING
    return PENDING


def lookup(user_id: int, key: str) -> Stored | Pending | None:
    """Return the key's stored response, PENDING while it runs, None when it was released."""
    db.session.rollback()  # a fresh snapshot: the first request commits in another session
    row = _row(user_id, key)
    if row is None:
        return None
    stored = _stored(row)
    db.session.rollback()
    return stored or PENDING


def finish(user_id: int, key: str, stored: Stored) -> None:
    """Store the first response to ``key``."""
    db.session.rollback()  # whatever the view left uncommitted is not ours to commit
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(
            status_code=stored.status, response_body=stored.body, response_headers=stored.headers
        )
    )
    db.session.commit()


def release(user_id: int, key: str) -> None:
    """Forget ``key`` (its request failed): a retry runs again."""
    db.session.rollback()
    db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    db.session.commit()


def _row(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).scalar_one_or_none()


def _stored(row: IdempotencyKey) -> Stored | None:
    if row.status_code is None:
        return None
    return Stored(row.status_code, row.response_body or "", dict(row.response_headers or {}))
