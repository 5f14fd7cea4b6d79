"""Forms for the regimen editor and the dosing plan page.

The forms only carry the shape of the input. Every dosing rule (ranges, open-ended
phases, weekdays, dose volumes) is checked once, by
:func:`pharmacy.domain.plan_input.parse_plan_request`, on the SPEC JSON these forms turn
into; :func:`apply_errors` then puts its messages (keyed by JSON path, such as
``phases[1].count``) back on the matching fields. So the page, the live preview and the
JSON API can never disagree about what is valid.

Reuse (order entry)::

    class OrderForm(RegimenForm):          # gets ``phases`` (FieldList of PhaseForm)
        ...
    body = {..., "phases": phases_from_form(form)}
    try:
        ...parse_plan_request(body, refills=True)...
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
"""

from __future__ import annotations

import re

from wtforms import Form, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.fields import FieldList, FormField
from wtforms.validators import Length
from wtforms.widgets import DateInput, NumberInput

from pharmacy.domain.regimen import UNITS, WEEKDAYS, presets_as_json
from pharmacy.domain.sig import ROUTES
from pharmacy.domain.vials import CONTAINERS
from pharmacy.forms import SafeForm as FlaskForm

UNIT_CHOICES = [SelectChoice(u, u) for u in UNITS]
WEEKDAY_CHOICES = [SelectChoice(d, d.capitalize()) for d in WEEKDAYS]
CONTAINER_CHOICES = [SelectChoice(c, c.capitalize()) for c in CONTAINERS]
ROUTE_CHOICES = [SelectChoice(code, f"{code} ({words})") for code, words in ROUTES.items()]

# Vial options offered for comparison; value "<volume>|<container>".
VIAL_OPTION_CHOICES = [
    SelectChoice("1|single-dose", "1 mL single-dose"),
    SelectChoice("2|multiple-dose", "2 mL multiple-dose"),
    SelectChoice("10|multiple-dose", "10 mL multiple-dose"),
    SelectChoice("30|multiple-dose", "30 mL multiple-dose"),
]

# Whole numbers go to the JSON as ints; anything else stays text so the domain can name it.
# At most 18 ASCII digits become an int here; longer text goes to the domain parser as text,
# which checks its range before any conversion (a 5,000-digit number used to reach int()).
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


def number_value(field: StringField) -> int | str | None:
    """Return a numeric field's value for the SPEC JSON: int, raw text, or None when blank."""
    text = (field.data or "").strip()
    if not text:
        return None
    return int(text) if _WHOLE.fullmatch(text) else text


def text_value(field: StringField | SelectField) -> str | None:
    """Return a text/select value stripped, or None when blank."""
    text = (field.data or "").strip() if isinstance(field.data, str) else field.data
    return text or None


class PhaseForm(Form):
    """Hold one regimen phase (SPEC 2.1); a subform, so it carries no CSRF token of its own."""

    dose_mcg = StringField(
        "Dose (mcg)", widget=NumberInput(min=1, step=1), validators=[Length(max=20)]
    )
    every = StringField(
        "Every", widget=NumberInput(min=1, step=1), default="1", validators=[Length(max=20)]
    )
    # The domain reports unknown units and weekdays, with the same words as the API.
    unit = SelectField("Unit", choices=UNIT_CHOICES, default="day", validate_choice=False)
    count = StringField(
        "Doses",
        widget=NumberInput(min=1, step=1),
        validators=[Length(max=20)],
        description="Blank = until stopped (last phase only)",
    )
    weekdays = SelectMultipleField("On", choices=WEEKDAY_CHOICES, validate_choice=False)


class RegimenForm(FlaskForm):
    """Base form holding the regimen's phases (at least one row)."""

    phases = FieldList(FormField(PhaseForm), "Phases", min_entries=1, max_entries=20)

    @property
    def presets(self) -> list[dict[str, object]]:
        """Return the SPEC 2.1 presets ``{key, title, name, detail, phases}`` for the editor."""
        presets = []
        for preset in presets_as_json():
            name, _, detail = str(preset["title"]).partition(": ")
            presets.append({**preset, "name": name, "detail": detail})
        return presets


def phases_from_form(form: RegimenForm) -> list[dict[str, object]]:
    """Return the form's phases as the SPEC 2.1 JSON ``phases`` list.

    Blank numbers become ``None`` (a blank ``count`` means until stopped); text that is not a
    whole number is passed through so the domain parser reports it against the right field.
    Weekdays are sent only for weekly phases, because the checkboxes stay in the page (hidden)
    when the unit changes.
    """
    phases = []
    for entry in form.phases:
        sub = entry.form
        unit = text_value(sub.unit)
        phase: dict[str, object] = {
            "dose_mcg": number_value(sub.dose_mcg),
            "every": number_value(sub.every),
            "unit": unit,
            "count": number_value(sub.count),
        }
        weekdays = [d for d in (sub.weekdays.data or []) if d]
        if weekdays and unit == "week":
            phase["weekdays"] = weekdays
        phases.append(phase)
    return phases


class DosingForm(RegimenForm):
    """Fields every dosing form shares: the regimen, product, route, start and supply."""

    start_date = StringField("Start date", widget=DateInput(), validators=[Length(max=20)])
    concentration_mcg_per_ml = StringField(
        "Concentration (mcg/mL)",
        widget=NumberInput(min=1, step="any"),
        default="1000",
        validators=[Length(max=20)],
    )
    vial_volume_ml = StringField(
        "Vial volume (mL)",
        widget=NumberInput(min=0.01, step=0.01),
        default="10",
        validators=[Length(max=20)],
    )
    container = SelectField(
        "Container", choices=CONTAINER_CHOICES, default="multiple-dose", validate_choice=False
    )
    route = SelectField("Route", choices=ROUTE_CHOICES, default="IM", validate_choice=False)
    days_supply = StringField(
        "Days supply", widget=NumberInput(min=1, max=365), default="90", validators=[Length(max=20)]
    )


class PlanForm(DosingForm):
    """The dosing plan page: regimen, product, supply, and optional vial options to compare."""

    vial_options = SelectMultipleField(
        "Compare vial options", choices=VIAL_OPTION_CHOICES, validate_choice=False
    )
    in_use_days = StringField(
        "In-use days (multiple-dose)",
        widget=NumberInput(min=1, max=28),
        validators=[Length(max=20)],
    )
    fills = StringField(
        "Fills (1 + refills)",
        widget=NumberInput(min=1, max=13),
        default="1",
        validators=[Length(max=20)],
    )
    bud_days = StringField(
        "BUD (days, optional)", widget=NumberInput(min=1), validators=[Length(max=20)]
    )

    def to_plan_json(self) -> dict[str, object]:
        """Return the SPEC 2.3 plan inputs (``POST /api/v1/plan`` body) from the form.

        With any vial option ticked, the vial above comes first in ``vial_options`` and the
        ticked ones follow (duplicates dropped), so the recommendation's tie-break ("the
        first given") favours the vial the user typed.
        """
        body: dict[str, object] = {
            "phases": phases_from_form(self),
            "start_date": text_value(self.start_date),
            "concentration_mcg_per_ml": number_value(self.concentration_mcg_per_ml),
            "route": text_value(self.route),
            "in_use_days": number_value(self.in_use_days),
            "days_supply": number_value(self.days_supply),
            "fills": number_value(self.fills),
            "bud_days": number_value(self.bud_days),
        }
        vial = {
            "vial_volume_ml": number_value(self.vial_volume_ml),
            "container": text_value(self.container),
        }
        ticked = [v for v in (self.vial_options.data or []) if v]
        if ticked:
            options = [vial]
            for value in ticked:
                volume, _, container = value.partition("|")
                option = {"vial_volume_ml": _number_text(volume), "container": container}
                if option not in options:
                    options.append(option)
            body["vial_options"] = options
        else:
            body.update(vial)
        return {k: v for k, v in body.items() if v is not None}


def _number_text(text: str) -> int | str:
    """Return ``text`` as an int when whole, else unchanged (for option values)."""
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else text
