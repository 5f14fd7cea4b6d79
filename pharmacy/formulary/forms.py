"""Formulation forms: shape checks only; the domain's parse_formulation checks the rules."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from pharmacy.domain.formulation import CONTAINERS, UNITS
from pharmacy.domain.units import plain_decimal
from pharmacy.forms import SafeForm as FlaskForm

INGREDIENT_ROWS = 6


class IngredientRow(Form):
    """One ingredient line (no CSRF of its own: it lives inside FormulationForm)."""

    component = StringField("Component", validators=[Length(max=100)])
    amount = StringField("Amount per mL", validators=[Length(max=20)])
    unit = SelectField(
        "Unit", choices=[SelectChoice("", "-")] + [SelectChoice(u, u) for u in UNITS], default=""
    )
    active = BooleanField("Active")


class FormulationForm(FlaskForm):
    """A master formulation record (SPEC 3, formulation body)."""

    code = StringField("Code", validators=[Length(max=30)])
    name = StringField("Name", validators=[Length(max=200)])
    concentration_mcg_per_ml = StringField("Concentration (mcg/mL)", default="1000")
    vial_volume_ml = StringField("Vial volume (mL)")
    container = SelectField("Container", choices=[SelectChoice(c, c) for c in CONTAINERS])
    overfill_ml = StringField("Overfill per vial (mL)")
    category = SelectField(
        "USP <797> category",
        choices=[
            SelectChoice("1", "Category 1"),
            SelectChoice("2", "Category 2"),
            SelectChoice("3", "Category 3"),
        ],
        default="2",
    )
    sterilization = SelectField(
        "Sterilization",
        choices=[
            SelectChoice("terminal", "Terminally sterilized"),
            SelectChoice("aseptic", "Aseptic (filtered)"),
        ],
    )
    sterility_tested = BooleanField("Sterility tested (release waits for a passed test)")
    nonsterile_components = BooleanField(
        "Has a nonsterile starting component (e.g. USP powder)", default=True
    )
    storage = SelectField(
        "Storage",
        choices=[
            SelectChoice("refrigerated", "Refrigerated 2-8 °C"),
            SelectChoice("room", "Room 20-25 °C"),
            SelectChoice("frozen", "Frozen -25 to -10 °C"),
        ],
    )
    protect_from_light = BooleanField("Protect from light", default=True)
    in_use_days = StringField("In-use days after first puncture (multiple-dose)")
    gtin = StringField("GTIN-14 (optional)", validators=[Length(max=14)])
    procedure = TextAreaField("Procedure steps (one per line, in order)")
    equipment = TextAreaField("Equipment (one item per line)")
    ingredients = FieldList(FormField(IngredientRow), min_entries=INGREDIENT_ROWS, max_entries=12)

    def to_body(self) -> dict:
        """Return the SPEC formulation body (blank optional fields left out, rows skipped)."""
        body = {
            "code": self.code.data.strip().upper(),
            "name": self.name.data,
            "drug": "cyanocobalamin",
            "concentration_mcg_per_ml": self.concentration_mcg_per_ml.data or None,
            "vial_volume_ml": self.vial_volume_ml.data or None,
            "container": self.container.data,
            "overfill_ml": self.overfill_ml.data or None,
            "category": self.category.data,
            "sterilization": self.sterilization.data,
            "sterility_tested": bool(self.sterility_tested.data),
            "nonsterile_components": bool(self.nonsterile_components.data),
            "storage": self.storage.data,
            "protect_from_light": bool(self.protect_from_light.data),
            "in_use_days": self.in_use_days.data or None,
            "gtin": self.gtin.data or None,
            "procedure": _lines(self.procedure.data),
            "equipment": _lines(self.equipment.data),
            "ingredients": [],
        }
        self.row_index = {}
        for index, row in enumerate(self.ingredients):
            if not (row.component.data or "").strip() and not row.unit.data:
                continue
            self.row_index[len(body["ingredients"])] = index
            body["ingredients"].append(
                {
                    "component": row.component.data,
                    "amount": row.amount.data or None,
                    "unit": row.unit.data or None,
                    "active": bool(row.active.data),
                }
            )
        return body

    def fill_from(self, data: dict) -> None:
        """Load a stored formulation body into the form (for editing)."""
        for name in (
            "code",
            "name",
            "concentration_mcg_per_ml",
            "vial_volume_ml",
            "container",
            "overfill_ml",
            "sterilization",
            "sterility_tested",
            "nonsterile_components",
            "storage",
            "protect_from_light",
            "gtin",
        ):
            value = data.get(name)
            getattr(self, name).data = (
                "" if value is None else (value if isinstance(value, bool) else str(value))
            )
        self.procedure.data = "\n".join(data.get("procedure") or [])
        self.equipment.data = "\n".join(data.get("equipment") or [])
        self.category.data = str(data["category"])
        self.in_use_days.data = "" if data.get("in_use_days") is None else str(data["in_use_days"])
        for row, item in zip(self.ingredients, data["ingredients"], strict=False):
            row.component.data = item["component"]
            row.amount.data = "" if item["amount"] is None else plain_decimal(item["amount"])
            row.unit.data = item["unit"]
            row.active.data = item["active"]


def _lines(text: str | None) -> list[str]:
    """Return the non-blank lines of a text area (one step or item per line)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ActionForm(FlaskForm):
    """A bare POST form (CSRF only) for buttons such as retire and activate."""
