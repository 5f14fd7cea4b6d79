"""API bearer tokens: issued against a password, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import ApiToken, User, now_utc
from pharmacy.services import audit
from pharmacy.services.errors import NotFound
from pharmacy.services.settings import get_settings
from pharmacy.services.tx import atomic


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@atomic
def issue_token(user: User, label: str = "") -> tuple[str, ApiToken]:
    """Create a token for ``user``; return the secret (shown once) and its record."""
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=_hash(secret),
        label=label[:80],
        expires_dt=now_utc() + timedelta(hours=get_settings().token_hours),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.issued",
        "api_token",
        token.id,
        actor=user,
        after={"user": user.username, "expires_at": token.expires_dt},
    )
    db.session.commit()
    return secret, token


def user_for_token(secret: str, now: datetime | None = None) -> User | None:
    """Return the active user owning a live token ``secret``, else ``None``."""
    now = now or now_utc()
    token = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _hash(secret))
    ).scalar_one_or_none()
    if token is None or token.revoked_dt is not None or token.expires_dt <= now:
        return None
    if not token.user.active:
        return None
    return token.user


def list_tokens(user: User | None = None) -> list[ApiToken]:
    """Return ``user``'s tokens, or everyone's when ``user`` is None, newest first."""
    query = select(ApiToken).order_by(ApiToken.created_dt.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.execute(query).scalars())


@atomic
def revoke_token(token_id: int, actor: User) -> ApiToken:
    """Revoke a token owned by ``actor`` (an admin may revoke anyone's).

    :raise NotFound: no such token visible to ``actor``.
    """
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and actor.role != "admin"):
        raise NotFound("No such token.")
    if token.revoked_dt is None:
        token.revoked_dt = now_utc()
        audit.record(
            "token.revoked", "api_token", token.id, actor=actor, after={"user": token.user.username}
        )
        db.session.commit()
    return token


def token_to_dict(token: ApiToken) -> dict:
    """Return the API form of a token record (never the secret)."""
    return {
        "id": token.id,
        "user": token.user.username,
        "label": token.label,
        "created_at": token.created_dt.isoformat(),
        "expires_at": token.expires_dt.isoformat(),
        "revoked_at": token.revoked_dt.isoformat() if token.revoked_dt else None,
    }
