"""Helpers shared by the HTML forms of every area."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from flask import flash
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField
from wtforms.fields import FieldList, FormField

from pharmacy.domain.errors import DomainError, ValidationFailed

_PATH_PART = re.compile(r"\[(\d+)\]\.?")


def field_name_for_path(path: str) -> str:
    """Return the form field name for a JSON path: ``phases[1].count`` -> ``phases-1-count``."""
    return _PATH_PART.sub(lambda m: f"-{m.group(1)}-", path).rstrip("-")


def _find_field(form: Form, name: str):
    """Return the (sub)field of ``form`` whose HTML name is ``name``, or None."""
    for field in form:
        if field.name == name:
            return field
        if isinstance(field, FieldList):
            for entry in field:
                if entry.name == name:
                    return entry
                if isinstance(entry, FormField):
                    for sub in entry:
                        if sub.name == name:
                            return sub
    return None


def apply_errors(
    form: Form, errors: Mapping[str, str], aliases: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Attach domain errors (keyed by JSON path) to the form's fields.

    :param aliases: JSON path prefix -> field name, for paths whose field is named
        differently (``{"fills": "refills"}``; ``vial_options[0]`` -> ``vial_volume_ml``).
    :return: the errors that matched no field (show them above the form).
    """
    unplaced: dict[str, str] = {}
    for path, message in errors.items():
        target = path
        for prefix, replacement in (aliases or {}).items():
            if path == prefix or path.startswith(prefix + "."):
                target = (replacement + path[len(prefix) :]).lstrip(".")
                break
        field = _find_field(form, field_name_for_path(target))
        if field is None and "." in target:
            # "vial_options[2].vial_volume_ml" -> the "vial_options" checkbox group.
            field = _find_field(form, field_name_for_path(target.split("[")[0]))
        if field is None:
            unplaced[path] = message
            continue
        errs = field.errors if isinstance(field.errors, list) else []
        if not isinstance(field.errors, list):
            field.errors = errs
        if message not in errs:
            errs.append(message)
    return unplaced


def attach_errors(form: Form, exc: DomainError, aliases: Mapping[str, str] | None = None) -> None:
    """Show a service's field errors on the form fields they name; flash the rest."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else {exc.field: exc.message}
    for message in apply_errors(form, errors, aliases).values():
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

    # SPEC 8.3: a fresh key each time the form is shown (rendered by hidden_tag()); a creating
    # page sent twice with it creates once (pharmacy.idempotency.idempotent_form).
    idempotency_key = HiddenField(default=lambda: uuid.uuid4().hex)

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
