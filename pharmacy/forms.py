"""Helpers shared by the HTML forms of every area."""

from __future__ import annotations

from flask import flash

from pharmacy.domain.errors import DomainError, ValidationFailed


def attach_errors(form, exc: DomainError) -> None:
    """Show a service's field errors on the form fields they name; flash the rest."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else {exc.field: exc.message}
    for name, message in errors.items():
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            flash(message, "error")
