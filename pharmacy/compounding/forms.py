"""Compounding forms: shape checks only; the lot and batch services check the rules."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from pharmacy.forms import SafeForm as FlaskForm
from pharmacy.services.lots import LOT_UNITS


class LotForm(FlaskForm):
    """Receive an ingredient lot (SPEC ingredient lot body)."""

    component = StringField("Component", validators=[Length(max=80)])
    manufacturer = StringField("Manufacturer", validators=[Length(max=120)])
    lot = StringField("Manufacturer's lot", validators=[Length(max=40)])
    expiry = StringField("Expiry (YYYY-MM-DD or YYYY-MM)", validators=[Length(max=10)])
    quantity = StringField("Quantity received", validators=[Length(max=20)])
    unit = SelectField("Unit", choices=[SelectChoice(u, u) for u in LOT_UNITS], default="g")
    assay_percent = StringField("Assay % (dried basis; the active)", validators=[Length(max=10)])
    lod_percent = StringField("Loss on drying % (the active)", validators=[Length(max=10)])
    coa_reference = StringField("Certificate of analysis reference", validators=[Length(max=120)])

    def to_body(self) -> dict:
        """Return the API body the lot service reads."""
        return {
            name: (getattr(self, name).data or None)
            for name in (
                "component",
                "manufacturer",
                "lot",
                "expiry",
                "quantity",
                "unit",
                "assay_percent",
                "lod_percent",
                "coa_reference",
            )
        }


class ReasonForm(FlaskForm):
    """Reject with a reason."""

    reason = TextAreaField("Reason", validators=[Length(max=2000)])


class SterilityForm(FlaskForm):
    """Record a sterility test result (SPEC 5.6): no result is preselected."""

    result = SelectField(
        "Result",
        choices=[
            SelectChoice("", "Choose the laboratory's result"),
            SelectChoice("passed", "Passed"),
            SelectChoice("failed", "Failed"),
        ],
        default="",
    )
    completed_at = StringField("Completed (date and time; empty: now)", validators=[Length(max=40)])
    reference = StringField("Laboratory report reference", validators=[Length(max=200)])

    def to_body(self) -> dict:
        """Return the API body (``POST /batches/<lot>/sterility-test``) the form stands for."""
        return {
            "result": self.result.data or None,
            "completed_at": self.completed_at.data or None,
            "reference": self.reference.data or None,
        }


class BatchForm(FlaskForm):
    """Compound a batch; one lot select per ingredient is rendered from the formulation."""

    formulation = SelectField("Formulation", choices=[])
    vials = StringField("Vials", validators=[Length(max=6)], default="40")
    compounded_at = StringField("Compounded at (local time)", validators=[Length(max=25)])


class ActionForm(FlaskForm):
    """A bare POST form (CSRF only) for buttons."""
