"""Helpers shared by the HTML forms of every area."""

from __future__ import annotations

import re

from flask import flash
from flask_wtf import FlaskForm

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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SafeForm(FlaskForm):
    """A FlaskForm whose every text input is checked like the API's strings (SPEC 8.1).

    NUL and other control characters (PostgreSQL cannot store NUL; nobody types the others)
    and unpaired surrogates become an error on the field that holds them, before any
    field-specific validator or conversion runs.
    """

    # Control characters a form legitimately carries (the final check's GS, see CheckForm).
    allowed_controls: str = ""

    def validate(self, extra_validators=None) -> bool:
        """Validate as FlaskForm does, after refusing unstorable characters in any field."""
        ok = super().validate(extra_validators)
        allowed = {ord(char): None for char in self.allowed_controls}
        for field in self:
            for raw in getattr(field, "raw_data", None) or ():
                problem = text_problem(raw.translate(allowed) if isinstance(raw, str) else raw)
                if problem:
                    field.errors = [problem]
                    ok = False
                    break
        return ok


def text_problem(value: object) -> str | None:
    """Return why ``value`` cannot be stored as text, or None when it can."""
    if not isinstance(value, str):
        return None
    if _CONTROL.search(value):
        return "Remove the control character (such as NUL) from this field."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "This field contains an invalid character."
    return None
