"""Error pages for people and JSON errors for the API."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from pharmacy.api.base import ApiError, error_response
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.extensions import db

log = logging.getLogger(__name__)

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


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, message: str):
    return render_template(
        "errors/error.html", status=status, title=TITLES.get(status, "Error"), message=message
    ), status


def register_error_handlers(app: Flask) -> None:
    """Answer every error in the right format for the path: JSON under /api, HTML elsewhere."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.message, exc.code, exc.fields)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        if _wants_json():
            return error_response(400, exc.description, "csrf_failed")
        return _page(
            400,
            "The form had expired or was sent from elsewhere. Go back, reload the "
            "page and try again; nothing was saved.",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        if _wants_json():
            message = exc.description if status != 404 else "No such resource (or it is not yours)."
            if status == 405:
                message = f"{request.method} is not allowed on {request.path}."
            return error_response(status, message or "")
        return _page(
            status,
            (exc.description or "")
            if status not in (404, 500)
            else {
                404: "There is nothing at this address, or it is not yours to see.",
                500: "The error has been logged. Nothing you saved before was lost.",
            }[status],
        )

    @app.errorhandler(ValidationFailed)
    def _validation(exc: ValidationFailed):
        if _wants_json():
            return error_response(
                422, "Some fields are not valid.", "validation_failed", exc.errors
            )
        return _page(422, "; ".join(f"{k}: {v}" if k else v for k, v in exc.errors.items()))

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        status = 409 if isinstance(exc, ConflictError) else 422
        if _wants_json():
            return error_response(
                status, exc.message, None, {exc.field: exc.message} if exc.field else {}
            )
        return _page(status, exc.message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if _wants_json():
            return error_response(500, "Internal error; it has been logged.")
        return _page(500, "The error has been logged. Nothing you saved before was lost.")

    app.register_error_handler(InternalServerError, _unexpected)
