"""Forms of the dispensing pages: final-check scans, dispensing, label reprints."""

from __future__ import annotations

from pharmacy.forms import SafeForm as FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class CheckForm(FlaskForm):
    """Hold the scans of a final check, one per line (the no-JavaScript path)."""

    scan_fields = ("scans",)

    scans = TextAreaField(
        "Scans, one per line",
        validators=[DataRequired("Scan the prescription label and every vial."), Length(max=20000)],
    )


class DispenseForm(FlaskForm):
    """Hold the dispensing pharmacist's initials."""

    pharmacist_initials = StringField(
        "Pharmacist initials",
        validators=[
            Optional(),
            Length(max=8),
            Regexp(r"^[A-Za-z]*$", message="Initials are letters only."),
        ],
    )
