"""Forms for lab results, symptom reports and reviews (shape only; the API schemas and the
domain check the same things, so the page and the API cannot disagree)."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import DateInput

from pharmacy.domain.followup import (
    CHANGES,
    DECISIONS,
    LAB_TESTS,
    SYMPTOM_LABELS,
    SYMPTOMS,
)
from pharmacy.forms import SafeForm as FlaskForm

TEST_CHOICES = [SelectChoice(t.code, t.name) for t in LAB_TESTS.values()]
UNIT_CHOICES = [
    SelectChoice(u, u) for u in dict.fromkeys(u for t in LAB_TESTS.values() for u in t.units)
]
CHANGE_CHOICES = [SelectChoice("", "not asked"), *(SelectChoice(c, c) for c in CHANGES)]
DECISION_LABELS = {
    "continue": "Continue as ordered",
    "adjust": "Adjust the regimen",
    "stop": "Stop therapy (no further fills)",
    "reassess_cause": "Reassess the cause",
}


def _text(field) -> str | None:
    value = (field.data or "").strip() if isinstance(field.data, str) else field.data
    return value or None


class ObservationForm(FlaskForm):
    """A lab result as the lab reported it."""

    test = SelectField("Test", choices=TEST_CHOICES, default="b12", validate_choice=False)
    value = StringField("Value", validators=[Length(max=40)])
    unit = SelectField("Unit", choices=UNIT_CHOICES, default="pg/mL", validate_choice=False)
    effective_date = StringField("Sample date", widget=DateInput(), validators=[Length(max=20)])
    reference_low = StringField("Lab's range: low (optional)", validators=[Length(max=40)])
    reference_high = StringField("high (optional)", validators=[Length(max=40)])
    lab = StringField("Laboratory (optional)", validators=[Length(max=120)])

    def to_json(self) -> dict[str, object]:
        """Return the ``POST /patients/<id>/observations`` body."""
        body = {
            "test": _text(self.test),
            "value": _text(self.value),
            "unit": _text(self.unit),
            "effective_date": _text(self.effective_date),
            "reference_low": _text(self.reference_low),
            "reference_high": _text(self.reference_high),
            "lab": _text(self.lab),
        }
        return {k: v for k, v in body.items() if v is not None}


def _symptom_fields(cls):
    for name in SYMPTOMS:
        setattr(
            cls,
            f"symptom_{name}",
            SelectField(
                SYMPTOM_LABELS[name], choices=CHANGE_CHOICES, default="", validate_choice=False
            ),
        )
    return cls


@_symptom_fields
class SymptomForm(FlaskForm):
    """One row per symptom: better / same / worse / new / resolved, or not asked."""

    report_date = StringField("Date", widget=DateInput(), validators=[Length(max=20)])
    note = TextAreaField("Note (optional)", validators=[Length(max=2000)])

    def symptom_fields(self):
        """Return the per-symptom fields in list order."""
        return [getattr(self, f"symptom_{name}") for name in SYMPTOMS]

    def symptoms(self) -> dict[str, str]:
        """Return the symptoms asked about, each with its change."""
        symptoms = {}
        for name in SYMPTOMS:
            value = _text(getattr(self, f"symptom_{name}"))
            if value:
                symptoms[name] = str(value)
        return symptoms

    def to_json(self) -> dict[str, object]:
        """Return the ``POST /patients/<id>/symptom-reports`` body."""
        body: dict[str, object] = {"date": _text(self.report_date), "symptoms": self.symptoms()}
        if _text(self.note):
            body["note"] = _text(self.note)
        return body


class ReviewForm(FlaskForm):
    """The prescriber's review of an order."""

    decision = SelectField(
        "Decision",
        choices=[SelectChoice(d, DECISION_LABELS[d]) for d in DECISIONS],
        default="continue",
        validate_choice=False,
    )
    note = TextAreaField("Note", validators=[Length(max=2000)])

    def to_json(self) -> dict[str, object]:
        """Return the ``POST /orders/<rx>/reviews`` body."""
        return {"decision": _text(self.decision), "note": _text(self.note)}


# JSON path -> form field, for errors the schema or the domain report.
SYMPTOM_ALIASES = {"date": "report_date", **{f"symptoms.{n}": f"symptom_{n}" for n in SYMPTOMS}}
