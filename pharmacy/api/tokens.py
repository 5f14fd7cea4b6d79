"""``/api/v1/tokens``: issue with HTTP Basic, list and revoke."""

from __future__ import annotations

from flask import jsonify, request

from pharmacy.access import public
from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.tokens import TokenCreatedOut, TokenIn, TokenListOut, TokenOut
from pharmacy.errors import ApiError
from pharmacy.roles import ALL_ROLES
from pharmacy.services import tokens as token_service
from pharmacy.services.users import AuthError, authenticate


@bp.post("/tokens")
@public
@operation(
    request=TokenIn,
    responses={201: TokenCreatedOut, 401: ErrorOut, 422: ErrorOut},
    creates=True,
    body_required=False,
)
def create_token():
    """Exchange HTTP Basic credentials for a bearer token."""
    try:
        auth = request.authorization
    except ValueError:  # not base64 of UTF-8 ("Basic é"): as bad as no credentials
        auth = None
    if auth is None or auth.type != "basic" or not auth.username:
        raise ApiError(401, "Send your username and password with HTTP Basic authentication.")
    try:
        user = authenticate(
            auth.username, auth.password or "", address=(request.remote_addr or "unknown")
        )
    except AuthError as exc:
        raise ApiError(401, exc.message) from None
    label = ""
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            label = validate(TokenIn, body).label or ""
    secret, token = token_service.issue_token(user, label)
    return jsonify(
        {"token": secret, "expires_at": token.expires_dt.isoformat(), "id": token.id}
    ), 201


@bp.get("/tokens")
@api_roles(*ALL_ROLES)
@operation(responses={200: TokenListOut})
def list_tokens():
    """List your tokens (an admin sees everyone's)."""
    user = api_user()
    records = token_service.list_tokens(None if user.role == "admin" else user)
    return jsonify({"tokens": [token_service.token_to_dict(t) for t in records]})


@bp.delete("/tokens/<int:token_id>")
@api_roles(*ALL_ROLES)
@operation(responses={200: TokenOut, 404: ErrorOut}, body_required=False)
def revoke_token(token_id: int):
    """Revoke a token of yours (an admin may revoke any)."""
    token = token_service.revoke_token(token_id, api_user())
    return jsonify(token_service.token_to_dict(token))
