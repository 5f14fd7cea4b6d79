"""The JSON API's blueprint, authentication and error format (SPEC section 3).

Errors are ``{"error": {"code", "message", "fields"}}`` with 400 malformed JSON,
401 no/bad token, 403 role not allowed, 404 unknown or not yours, 409 state or stock
conflict, 422 validation failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from pharmacy.api.body import read_api_body
from pharmacy.api.schemas.base import operation_of, validate
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.fhir import Issue, operation_outcome
from pharmacy.errors import ApiError, error_response
from pharmacy.extensions import csrf
from pharmacy.models import User
from pharmacy.roles import expand
from pharmacy.services.tokens import user_for_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer-token clients cannot carry a CSRF token; session callers are checked in api_roles.
csrf.exempt(bp)


def api_user() -> User:
    """Return the user the current API call acts for (set by :func:`api_roles`)."""
    return g.api_user


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(
                401, "Send 'Authorization: Bearer <token>' (get one from POST /api/v1/tokens)."
            )

        user = user_for_token(secret.strip())
        if user is None:
            raise ApiError(401, "The token is unknown, expired or revoked.")
        return user
    if current_user.is_authenticated:
        # Browser calls from our own pages ride the session; they must prove same origin.
        if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get(
            "WTF_CSRF_ENABLED", True
        ):
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except (ValidationError, CSRFError):
                raise ApiError(403, "Missing or invalid X-CSRFToken header.", code="csrf_failed")
        return current_user._get_current_object()
    raise ApiError(401, "Authentication required: send 'Authorization: Bearer <token>'.")


def api_roles(*roles: str) -> Callable:
    """Guard an API view: 401 without a valid token, 403 when the role is not allowed."""
    allowed = expand(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = _authenticate()
            if user.role not in allowed:
                raise ApiError(403, f"The {user.role} role may not do this.")
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.access = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorator


@bp.before_request
def _typed_query():
    """Check the query string against the view's query model (SPEC 8.1): 422 naming it."""

    view = current_app.view_functions.get(request.endpoint or "")
    spec = operation_of(view) if view is not None else None
    if spec is None or spec.query is None:
        return None
    try:
        validate(spec.query, request.args.to_dict())
    except ValidationFailed as exc:
        if request.path.startswith(f"{bp.url_prefix}/fhir/"):  # FHIR answers in FHIR
            issues = [Issue(name, message, "value") for name, message in exc.errors.items()]
            return current_app.response_class(
                json.dumps(operation_outcome(issues)), status=422, mimetype="application/fhir+json"
            )
        return error_response(422, "Some query parameters are not valid.", None, exc.errors)
    return None


@bp.before_request
def _bounded_body():
    """Read every API body once, within bounds, before a view sees it (SPEC 8.1)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    data, problem = read_api_body()
    if problem is None:
        view = current_app.view_functions.get(request.endpoint or "")
        spec = operation_of(view) if view is not None else None
        # An operation recorded as taking no body (``body_required=False`` without a model)
        # refuses one, so a stray body is never silently ignored.
        takes_none = spec is not None and spec.request is None and not spec.body_required
        if takes_none and data not in (None, {}):
            return error_response(
                422, "This operation takes no body.", None, {"": "Send no body (or {})."}
            )
        return None
    if request.path.startswith(f"{bp.url_prefix}/fhir/"):
        code = "structure" if problem.status == 400 else "value"
        body = operation_outcome([Issue("MedicationRequest", problem.message, code)])
        return current_app.response_class(
            json.dumps(body), status=problem.status, mimetype="application/fhir+json"
        )
    return error_response(
        problem.status,
        problem.message,
        "malformed_json" if problem.status == 400 else "validation_failed",
        {problem.field: problem.message} if problem.status == 422 else None,
    )
