"""Helpers shared by the HTML forms of every area."""

from __future__ import annotations

import re
import uuid

from flask import flash
from flask_wtf import FlaskForm
from wtforms import HiddenField

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


# C0 controls but tab, newlines and the separators FS, GS, RS, US (a GS1 DataMatrix scan
# typed into the final-check box carries GS).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1b\x7f]")


class SafeForm(FlaskForm):
    """A FlaskForm whose every text input is checked like the API's strings (SPEC 8.1).

    NUL and other control characters (PostgreSQL cannot store NUL; nobody types the others)
    and unpaired surrogates become an error on the field that holds them, before any
    field-specific validator or conversion runs.
    """

    # SPEC 8.3: a fresh key each time the form is shown (rendered by hidden_tag()); a creating
    # page sent twice with it creates once (pharmacy.idempotency.idempotent_form).
    idempotency_key = HiddenField(default=lambda: uuid.uuid4().hex)

    def validate(self, extra_validators=None) -> bool:
        """Validate as FlaskForm does, after refusing unstorable characters in any field."""
        ok = super().validate(extra_validators)
        for field in self:
            for raw in getattr(field, "raw_data", None) or ():
                problem = text_problem(raw)
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
