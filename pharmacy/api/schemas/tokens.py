"""API tokens."""

from __future__ import annotations

from pharmacy.api.schemas.base import Out, Strict, Text


class TokenIn(Strict):
    """``POST /tokens`` (with HTTP Basic): an optional label for the token."""

    label: Text(80) | None = None


class TokenCreatedOut(Out):
    """A new token: the secret is shown once."""

    token: str
    expires_at: str
    id: int


class TokenOut(Out):
    """A token (without its secret)."""

    id: int
    user: str
    label: str
    created_at: str
    expires_at: str
    revoked_at: str | None


class TokenListOut(Out):
    """Your tokens (an admin sees everyone's)."""

    tokens: list[TokenOut]
