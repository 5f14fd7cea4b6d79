"""Forms for order entry, verification and cancellation (shape only; rules live in the domain)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import DateInput, NumberInput

from pharmacy.plan.forms import CONTAINER_CHOICES, RegimenForm, _number, _text, phases_from_form

ROUTE_CHOICES = [SelectChoice("IM", "IM (intramuscular)"), SelectChoice("SC", "SC (subcutaneous)")]
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


class OrderForm(RegimenForm):
    """A prescriber's cyanocobalamin order: patient, product, regimen and supply."""

    patient_first_name = StringField("First name", validators=[Length(max=80)])
    patient_last_name = StringField("Last name", validators=[Length(max=80)])
    patient_dob = StringField("Date of birth", widget=DateInput(), validators=[Length(max=20)])
    patient_mrn = StringField("MRN (optional)", validators=[Length(max=40)])
    patient_allergies = StringField("Allergies", validators=[Length(max=2000)])
    drug = SelectField("Drug", choices=DRUG_CHOICES, default="cyanocobalamin",
                       validate_choice=False)
    concentration_mcg_per_ml = StringField(
        "Concentration (mcg/mL)", widget=NumberInput(min=1, step="any"), default="1000",
        validators=[Length(max=20)])
    vial_volume_ml = StringField("Vial volume (mL)", widget=NumberInput(min=0.01, step=0.01),
                                 default="10", validators=[Length(max=20)])
    container = SelectField("Container", choices=CONTAINER_CHOICES, default="multiple-dose",
                            validate_choice=False)
    route = SelectField("Route", choices=ROUTE_CHOICES, default="IM", validate_choice=False)
    start_date = StringField("Start date", widget=DateInput(), validators=[Length(max=20)])
    days_supply = StringField("Days supply", widget=NumberInput(min=1, max=365), default="90",
                              validators=[Length(max=20)])
    refills = StringField("Refills", widget=NumberInput(min=0, max=11), default="0",
                          validators=[Length(max=20)])
    indication = StringField("Indication", validators=[Length(max=2000)])
    compounding_reason = TextAreaField("Compounding reason", validators=[Length(max=2000)])
    notes = TextAreaField("Notes to the pharmacy (optional)", validators=[Length(max=2000)])

    def to_order_json(self) -> dict[str, object]:
        """Return the SPEC 3 order body the form describes (the API's input shape)."""
        return {
            "patient": {
                "first_name": _text(self.patient_first_name),
                "last_name": _text(self.patient_last_name),
                "dob": _text(self.patient_dob),
                "mrn": _text(self.patient_mrn),
                "allergies": _text(self.patient_allergies),
            },
            "drug": _text(self.drug),
            "concentration_mcg_per_ml": _number(self.concentration_mcg_per_ml),
            "vial_volume_ml": _number(self.vial_volume_ml),
            "container": _text(self.container),
            "route": _text(self.route),
            "start_date": _text(self.start_date),
            "phases": phases_from_form(self),
            "days_supply": _number(self.days_supply),
            "refills": _number(self.refills),
            "indication": _text(self.indication),
            "compounding_reason": _text(self.compounding_reason),
            "notes": _text(self.notes),
        }


class ReasonForm(FlaskForm):
    """A reason for approving (optional note), rejecting or cancelling an order."""

    reason = TextAreaField("Reason", validators=[Length(max=2000)])
