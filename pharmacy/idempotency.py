"""``Idempotency-Key`` for creating requests, on the API and on the HTML forms (SPEC 8.3).

:func:`idempotent` wraps a creating API view (``operation(creates=True)`` applies it): with
the header, the first response is stored and a repeat returns it; without, nothing changes.
:func:`idempotent_form` does the same for a creating page whose form carries the hidden
``idempotency_key`` field that :class:`~pharmacy.forms.SafeForm` renders (a new key each time
the form is shown), so a form sent twice creates once and both answers go to the same place.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, g, make_response, request
from flask_login import current_user

from pharmacy.domain.errors import DomainError
from pharmacy.models import now_utc
from pharmacy.services import idempotency as service

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
REPLAY_HEADER = "Idempotent-Replayed"
WAIT_SECONDS = 15.0  # how long a repeat waits for the first identical request to finish
KEPT_HEADERS = ("Content-Type", "Location")


def _check_key(raw: str) -> str:
    key = raw.strip()
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise DomainError(HEADER, "Send a key of 1 to 255 printable ASCII characters.")
    return key


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(stored: service.Stored) -> Response:
    response = Response(stored.body, status=stored.status)
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers[REPLAY_HEADER] = "true"
    return response


def _run(user_id: int, key: str, request_hash: str, view: Callable[[], Any], keep) -> Response:
    """Claim ``key``, then run ``view`` once or replay the first response."""
    outcome = service.claim(user_id, key, request_hash, now=now_utc())
    deadline = time.monotonic() + WAIT_SECONDS
    while outcome is service.PENDING and time.monotonic() < deadline:
        time.sleep(0.05)
        outcome = service.lookup(user_id, key)
        if outcome is None:  # the first failed and let the key go: run this one
            outcome = service.claim(user_id, key, request_hash, now=now_utc())
    if outcome is service.PENDING:
        raise DomainError(HEADER, "A request with this key is still running; retry shortly.")
    if isinstance(outcome, service.Stored):
        return _replay(outcome)
    try:
        response = make_response(view())
    except BaseException:
        service.release(user_id, key)
        raise
    if keep(response):
        headers = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
        service.finish(
            user_id, key, service.Stored(response.status_code, response.get_data(True), headers)
        )
    else:
        service.release(user_id, key)
    return response


def idempotent(view: Callable) -> Callable:
    """Make a creating API view honour ``Idempotency-Key`` (under ``api_roles``)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        raw = request.headers.get(HEADER)
        if raw is None:
            return view(*args, **kwargs)
        key = _check_key(raw)
        user = g.get("api_user")
        parts = [request.method.encode(), request.path.encode(), request.get_data(cache=True)]
        if user is None:  # before sign-in (POST /tokens): the credentials are part of it
            parts.append(request.headers.get("Authorization", "").encode("utf-8", "replace"))
        return _run(
            user.id if user is not None else 0,
            key,
            _digest(*parts),
            lambda: view(*args, **kwargs),
            keep=lambda response: response.status_code < 500,
        )

    return wrapped


def idempotent_form(view: Callable) -> Callable:
    """Make a creating page's POST honour its form's hidden ``idempotency_key``.

    Only a redirect (the thing was created) is stored; a page re-shown with errors lets the
    key go, so the corrected form can be sent again with it.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        raw = request.form.get(FORM_FIELD) if request.method == "POST" else None
        if not raw or not current_user.is_authenticated:
            return view(*args, **kwargs)
        try:
            key = _check_key(raw)
        except DomainError:
            return view(*args, **kwargs)
        fields = sorted(
            (k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", FORM_FIELD)
        )
        body = "\x1f".join(f"{k}\x1e{v}" for k, v in fields).encode("utf-8", "replace")
        return _run(
            current_user.id,
            f"form:{key}",
            _digest(b"FORM", request.path.encode(), body),
            lambda: view(*args, **kwargs),
            keep=lambda response: 300 <= response.status_code < 400,
        )

    return wrapped
