"""The patient page's form: the pharmacy's contact details and allergies (shape only)."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from pharmacy.forms import SafeForm


class PatientRecordForm(SafeForm):
    """Phone and address (pharmacy staff) and allergies (pharmacists) of a patient."""

    phone = StringField("Phone", validators=[Length(max=40)])
    address = TextAreaField("Address", validators=[Length(max=500)])
    allergies = TextAreaField(
        "Allergies (one per line or separated by ;)", validators=[Length(max=2000)]
    )
