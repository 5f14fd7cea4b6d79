"""Errors for people and for the API, answered from one table.

Every error reaches :func:`register_error_handlers` once: JSON in the SPEC's shape
(``{"error": {"code", "message", "fields"}}``) under ``/api``, an error page elsewhere.
Services raise the domain's errors and :class:`~pharmacy.services.errors.NotFound`; only the
web layer turns them into HTTP.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.extensions import db
from pharmacy.services.errors import NotFound

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    500: "server_error",
}


class ApiError(Exception):
    """An error answered in the SPEC's JSON shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.message = message
        self.fields = fields or {}


def error_response(
    status: int, message: str, code: str | None = None, fields: dict[str, str] | None = None
):
    """Return a Flask response carrying the JSON error shape."""
    body = {
        "error": {
            "code": code or STATUS_CODES.get(status, "error"),
            "message": message,
            "fields": fields or {},
        }
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


TITLES = {
    400: "That request could not be read",
    401: "Please sign in",
    403: "Not allowed for your role",
    404: "Not found",
    405: "Not allowed here",
    409: "That conflicts with the current state",
    413: "That upload is too large",
    422: "Some input is not valid",
    500: "Something went wrong on our side",
}

PAGE_NOT_FOUND = "There is nothing at this address, or it is not yours to see."
PAGE_SERVER_ERROR = "The error has been logged. Nothing you saved before was lost."


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, message: str):
    return render_template(
        "errors/error.html", status=status, title=TITLES.get(status, "Error"), message=message
    ), status


def _api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.code, exc.fields)


def _csrf(exc: CSRFError):
    if _wants_json():
        return error_response(400, exc.description or "", "csrf_failed")
    return _page(
        400,
        "The form had expired or was sent from elsewhere. Go back, reload the "
        "page and try again; nothing was saved.",
    )


def _http(exc: HTTPException):
    status = exc.code or 500
    if _wants_json():
        message = exc.description if status != 404 else "No such resource (or it is not yours)."
        if status == 405:
            message = f"{request.method} is not allowed on {request.path}."
        return error_response(status, message or "")
    if status == 404:
        return _page(404, PAGE_NOT_FOUND)
    if status == 500:
        return _page(500, PAGE_SERVER_ERROR)
    return _page(status, exc.description or "")


def _not_found(exc: NotFound):
    if _wants_json():
        return error_response(404, exc.message)
    return _page(404, PAGE_NOT_FOUND)


def _validation(exc: ValidationFailed):
    if _wants_json():
        return error_response(422, "Some fields are not valid.", "validation_failed", exc.errors)
    return _page(422, "; ".join(f"{k}: {v}" if k else v for k, v in exc.errors.items()))


def _domain(exc: DomainError):
    status = 409 if isinstance(exc, ConflictError) else 422
    if _wants_json():
        return error_response(
            status, exc.message, None, {exc.field: exc.message} if exc.field else {}
        )
    return _page(status, exc.message)


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http(exc)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    if _wants_json():
        return error_response(500, "Internal error; it has been logged.")
    return _page(500, PAGE_SERVER_ERROR)


# The one table: Flask picks the handler of the closest class (CSRFError before HTTPException,
# ValidationFailed and ConflictError before DomainError).
HANDLERS = (
    (ApiError, _api_error),
    (CSRFError, _csrf),
    (HTTPException, _http),
    (NotFound, _not_found),
    (ValidationFailed, _validation),
    (DomainError, _domain),
    (InternalServerError, _unexpected),
    (Exception, _unexpected),
)


def register_error_handlers(app: Flask) -> None:
    """Answer every error in the right format for the path: JSON under /api, HTML elsewhere."""
    for error, handler in HANDLERS:
        app.register_error_handler(error, handler)
