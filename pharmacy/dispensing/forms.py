"""Forms of the dispensing pages: final-check scans, dispensing, label reprints."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from pharmacy.forms import SafeForm as FlaskForm


class CheckForm(FlaskForm):
    """Hold the scans of a final check, one per line (the no-JavaScript path)."""

    # A 2D scanner sends each GS1 FNC1 separator as GS (0x1d) (SPEC 2.8, 6.2).
    allowed_controls = "\x1d"

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
