"""Forms for order entry, verification and cancellation (shape only; rules live in the domain)."""

from __future__ import annotations

from pharmacy.forms import SafeForm as FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import DateInput, NumberInput

from pharmacy.plan.forms import DosingForm, number_value, phases_from_form, text_value

DRUG_CHOICES = [SelectChoice("cyanocobalamin", "Cyanocobalamin (vitamin B12) injection")]

# Order-body JSON path -> form field name, for errors the domain reports.
ERROR_ALIASES = {
    "patient.first_name": "patient_first_name",
    "patient.last_name": "patient_last_name",
    "patient.dob": "patient_dob",
    "patient.mrn": "patient_mrn",
    "patient.allergies": "patient_allergies",
    "patient": "patient_last_name",
    "fills": "refills",
}


class OrderForm(DosingForm):
    """A prescriber's cyanocobalamin order: patient, product, regimen and supply."""

    patient_first_name = StringField("First name", validators=[Length(max=80)])
    patient_last_name = StringField("Last name", validators=[Length(max=80)])
    patient_dob = StringField("Date of birth", widget=DateInput(), validators=[Length(max=20)])
    patient_mrn = StringField("MRN (optional)", validators=[Length(max=40)])
    patient_allergies = StringField("Allergies", validators=[Length(max=2000)])
    drug = SelectField(
        "Drug", choices=DRUG_CHOICES, default="cyanocobalamin", validate_choice=False
    )
    refills = StringField(
        "Refills", widget=NumberInput(min=0, max=11), default="0", validators=[Length(max=20)]
    )
    indication = StringField("Indication", validators=[Length(max=2000)])
    compounding_reason = TextAreaField("Compounding reason", validators=[Length(max=2000)])
    notes = TextAreaField("Notes to the pharmacy (optional)", validators=[Length(max=2000)])

    def to_order_json(self) -> dict[str, object]:
        """Return the SPEC 3 order body the form describes (the API's input shape)."""
        return {
            "patient": {
                "first_name": text_value(self.patient_first_name),
                "last_name": text_value(self.patient_last_name),
                "dob": text_value(self.patient_dob),
                "mrn": text_value(self.patient_mrn),
                "allergies": text_value(self.patient_allergies),
            },
            "drug": text_value(self.drug),
            "concentration_mcg_per_ml": number_value(self.concentration_mcg_per_ml),
            "vial_volume_ml": number_value(self.vial_volume_ml),
            "container": text_value(self.container),
            "route": text_value(self.route),
            "start_date": text_value(self.start_date),
            "phases": phases_from_form(self),
            "days_supply": number_value(self.days_supply),
            "refills": number_value(self.refills),
            "indication": text_value(self.indication),
            "compounding_reason": text_value(self.compounding_reason),
            "notes": text_value(self.notes),
        }


class ReasonForm(FlaskForm):
    """A reason for approving (optional note), rejecting or cancelling an order."""

    reason = TextAreaField("Reason", validators=[Length(max=2000)])
