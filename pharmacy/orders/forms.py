"""Forms for order entry, verification and cancellation (shape only; rules live in the domain)."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import DateInput, NumberInput

from pharmacy.domain.followup import CAUSE_LABELS, MONITOR_LABELS, MONITOR_TESTS
from pharmacy.forms import SafeForm as FlaskForm
from pharmacy.plan.forms import DosingForm, number_value, phases_from_form, text_value

DRUG_CHOICES = [SelectChoice("cyanocobalamin", "Cyanocobalamin (vitamin B12) injection")]

# Order-body JSON path -> form field name, for errors the domain reports.
ERROR_ALIASES = {
    "patient.first_name": "patient_first_name",
    "patient.last_name": "patient_last_name",
    "patient.dob": "patient_dob",
    "patient.mrn": "patient_mrn",
    "patient.allergies": "patient_allergies",
    "patient.phone": "patient_phone",
    "patient.address": "patient_address",
    "patient": "patient_last_name",
    "fills": "refills",
    # SPEC 7.1 clinical frame.
    "monitoring.tests": "monitoring_tests",
    "monitoring.interval_months": "monitoring_interval_months",
    "monitoring": "monitoring_tests",
    **{f"monitoring.tests[{i}]": "monitoring_tests" for i in range(len(MONITOR_TESTS) + 4)},
}
CAUSE_CHOICES = [SelectChoice(code, label) for code, label in CAUSE_LABELS.items()]
TEST_CHOICES = [SelectChoice(code, MONITOR_LABELS[code]) for code in MONITOR_TESTS]


class OrderForm(DosingForm):
    """A prescriber's cyanocobalamin order: patient, product, regimen and supply."""

    patient_first_name = StringField("First name", validators=[Length(max=80)])
    patient_last_name = StringField("Last name", validators=[Length(max=80)])
    patient_dob = StringField("Date of birth", widget=DateInput(), validators=[Length(max=20)])
    patient_mrn = StringField("MRN (optional)", validators=[Length(max=40)])
    patient_allergies = StringField("Allergies", validators=[Length(max=2000)])
    patient_phone = StringField("Phone (optional)", validators=[Length(max=40)])
    patient_address = StringField("Address (optional)", validators=[Length(max=500)])
    drug = SelectField(
        "Drug", choices=DRUG_CHOICES, default="cyanocobalamin", validate_choice=False
    )
    refills = StringField(
        "Refills", widget=NumberInput(min=0, max=11), default="0", validators=[Length(max=20)]
    )
    indication = StringField("Indication", validators=[Length(max=2000)])
    compounding_reason = TextAreaField("Compounding reason", validators=[Length(max=2000)])
    notes = TextAreaField("Notes to the pharmacy (optional)", validators=[Length(max=2000)])
    # SPEC 7.1: what the order says about the therapy (defaults as the SPEC gives them).
    cause = SelectField(
        "Cause of the deficiency", choices=CAUSE_CHOICES, default="unknown", validate_choice=False
    )
    neurologic_symptoms = BooleanField("Neurological symptoms (numbness, balance, memory)")
    monitoring_tests = SelectMultipleField(
        "Monitoring tests", choices=TEST_CHOICES, default=["b12", "cbc"], validate_choice=False
    )
    monitoring_interval_months = StringField(
        "Monitoring every (months)",
        widget=NumberInput(min=1, max=12),
        default="3",
        validators=[Length(max=20)],
    )

    def to_order_json(self) -> dict[str, object]:
        """Return the SPEC 3 order body the form describes (the API's input shape)."""
        return {
            "patient": {
                "first_name": text_value(self.patient_first_name),
                "last_name": text_value(self.patient_last_name),
                "dob": text_value(self.patient_dob),
                "mrn": text_value(self.patient_mrn),
                "allergies": text_value(self.patient_allergies),
                "phone": text_value(self.patient_phone),
                "address": text_value(self.patient_address),
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
            "cause": text_value(self.cause) or "unknown",
            "neurologic_symptoms": bool(self.neurologic_symptoms.data),
            "monitoring": self._monitoring(),
        }

    def _monitoring(self) -> dict[str, object]:
        """Return ``monitoring``; no test ticked keeps the SPEC default (B12 and CBC)."""
        monitoring: dict[str, object] = {
            "interval_months": number_value(self.monitoring_interval_months)
        }
        tests = [t for t in (self.monitoring_tests.data or []) if t]
        if tests:
            monitoring["tests"] = tests
        return monitoring


class ReasonForm(FlaskForm):
    """A reason for approving (optional note), rejecting or cancelling an order."""

    reason = TextAreaField("Reason", validators=[Length(max=2000)])
