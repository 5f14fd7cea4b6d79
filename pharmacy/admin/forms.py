"""Admin forms: they check the shape of input; services check the rules."""

from __future__ import annotations

from zoneinfo import available_timezones

from wtforms import (
    DecimalField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from pharmacy.forms import SafeForm as FlaskForm
from pharmacy.roles import ALL_ROLES

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ALL_ROLES]


class UserForm(FlaskForm):
    """Create or edit a user."""

    username = StringField("Username", validators=[Length(max=64)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    full_name = StringField("Full name", validators=[Length(max=120)])
    npi = StringField("NPI (prescribers)", validators=[Optional(), Length(max=10)])
    clinic = StringField("Clinic", validators=[Length(max=120)])
    phone = StringField("Phone", validators=[Length(max=40)])
    password = PasswordField("Password", validators=[Optional(), Length(max=200)])


class SettingsForm(FlaskForm):
    """Pharmacy settings (SPEC section 1, admin)."""

    name = StringField("Pharmacy name", validators=[DataRequired(), Length(max=120)])
    address = TextAreaField("Address", validators=[DataRequired(), Length(max=255)])
    phone = StringField("Phone", validators=[DataRequired(), Length(max=40)])
    licence_number = StringField("Licence number", validators=[Length(max=60)])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=60)])
    rx_label_width_in = DecimalField(
        "Prescription label width (in)", places=2, validators=[NumberRange(1, 8)]
    )
    rx_label_height_in = DecimalField(
        "Prescription label height (in)", places=2, validators=[NumberRange(0.5, 8)]
    )
    vial_label_width_in = DecimalField(
        "Vial label width (in)", places=2, validators=[NumberRange(1, 8)]
    )
    vial_label_height_in = DecimalField(
        "Vial label height (in)", places=2, validators=[NumberRange(0.5, 8)]
    )
    batch_label_width_in = DecimalField(
        "Batch label width (in)", places=2, validators=[NumberRange(1, 8)]
    )
    batch_label_height_in = DecimalField(
        "Batch label height (in)", places=2, validators=[NumberRange(0.5, 8)]
    )
    max_dose_mcg = IntegerField(
        "Usual maximum dose per injection (mcg)", validators=[NumberRange(1, 100000)]
    )
    im_max_ml = DecimalField(
        "Maximum IM injection volume (mL)", places=2, validators=[NumberRange(0.1, 10)]
    )
    sc_max_ml = DecimalField(
        "Maximum SC injection volume (mL)", places=2, validators=[NumberRange(0.1, 10)]
    )
    min_dose_volume_ml = DecimalField(
        "Alert below dose volume (mL)", places=2, validators=[NumberRange(0.01, 5)]
    )
    default_in_use_days = IntegerField("Multiple-dose in-use days", validators=[NumberRange(1, 28)])
    refill_elapsed_percent = IntegerField(
        "Refill allowed after % of days supply", validators=[NumberRange(0, 100)]
    )
    expiring_within_days = IntegerField(
        "Flag stock expiring within (days)", validators=[NumberRange(1, 365)]
    )
    monitoring_interval_months = IntegerField(
        "Maintenance monitoring every (months)", validators=[NumberRange(1, 24)]
    )
    # SPEC 7.5 and 7.7: how long a prescription may be filled, and how long after a missed
    # dose a patient counts as lapsed on the continuity list.
    rx_valid_days = IntegerField(
        "Prescription valid for (days after written)", validators=[NumberRange(1, 730)]
    )
    lapse_grace_days = IntegerField(
        "Lapsed after a missed dose by (days)", validators=[NumberRange(1, 90)]
    )
    # SPEC 5.3: how far back an order may start and a batch may be recorded; SPEC 5.6 (USP
    # <71>): how long a sterility test incubates before it can pass.
    max_backdate_days = IntegerField(
        "An order may start up to (days before today)", validators=[NumberRange(0, 90)]
    )
    max_compounded_age_days = IntegerField(
        "A batch may be recorded up to (days after compounding)", validators=[NumberRange(0, 365)]
    )
    sterility_incubation_days = IntegerField(
        "Sterility test incubation (days)", validators=[NumberRange(14, 60)]
    )
    # SPEC 7.2: default reference ranges, used when a lab result comes without the lab's own.
    ref_b12_low_pg_ml = DecimalField("B12 low (pg/mL)", places=2, validators=[NumberRange(0, 5000)])
    ref_b12_high_pg_ml = DecimalField(
        "B12 high (pg/mL)", places=2, validators=[NumberRange(1, 50000)]
    )
    ref_mma_low_nmol_l = DecimalField(
        "MMA low (nmol/L)", places=2, validators=[NumberRange(0, 5000)]
    )
    ref_mma_high_nmol_l = DecimalField(
        "MMA high (nmol/L)", places=2, validators=[NumberRange(1, 200000)]
    )
    ref_homocysteine_low_umol_l = DecimalField(
        "Homocysteine low (umol/L)", places=2, validators=[NumberRange(0, 100)]
    )
    ref_homocysteine_high_umol_l = DecimalField(
        "Homocysteine high (umol/L)", places=2, validators=[NumberRange(1, 500)]
    )
    ref_hemoglobin_low_g_dl = DecimalField(
        "Hemoglobin low (g/dL)", places=2, validators=[NumberRange(0, 30)]
    )
    ref_hemoglobin_high_g_dl = DecimalField(
        "Hemoglobin high (g/dL)", places=2, validators=[NumberRange(1, 30)]
    )
    ref_mcv_low_fl = DecimalField("MCV low (fL)", places=2, validators=[NumberRange(0, 200)])
    ref_mcv_high_fl = DecimalField("MCV high (fL)", places=2, validators=[NumberRange(1, 200)])
    login_slowdown_after = IntegerField(
        "Slow sign-in after attempts", validators=[NumberRange(1, 20)]
    )
    login_lock_after = IntegerField(
        "Pause an account's sign-in from one address after attempts",
        validators=[NumberRange(2, 50)],
    )
    login_lock_minutes = IntegerField("Pause for (minutes)", validators=[NumberRange(1, 1440)])
    token_hours = IntegerField("API token lifetime (hours)", validators=[NumberRange(1, 24 * 90)])
    session_idle_minutes = IntegerField(
        "Sign out after idle (minutes)", validators=[NumberRange(1, 24 * 60)]
    )
    session_max_hours = IntegerField(
        "Sign out after at most (hours)", validators=[NumberRange(1, 24 * 7)]
    )

    def validate_timezone(self, field) -> None:
        """Accept only IANA zone names such as America/New_York."""
        if field.data not in available_timezones():
            raise ValidationError("Use an IANA time zone name such as America/New_York.")

    def validate(self, extra_validators=None) -> bool:
        """Check each field, then that every reference range's low end is below its high end."""
        ok = super().validate(extra_validators)
        for test in ("b12", "mma", "homocysteine", "hemoglobin", "mcv"):
            low, high = (
                getattr(self, name) for name in self._fields if name.startswith(f"ref_{test}_")
            )
            if low.data is not None and high.data is not None and low.data >= high.data:
                high.errors = [*high.errors, "The high end must be above the low end."]
                ok = False
        return ok

    def validate_login_lock_after(self, field) -> None:
        """Locking must come after slowing down."""
        if (
            self.login_slowdown_after.data
            and field.data is not None
            and field.data <= self.login_slowdown_after.data
        ):
            raise ValidationError("Lock only after more failures than the slow-down starts at.")


class ReasonForm(FlaskForm):
    """A bare form that carries CSRF for one-click actions."""


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PrinterForm(FlaskForm):
    """A label printer (SPEC 6.4); the service checks the host and the rules."""

    name = StringField("Name", validators=[DataRequired(), Length(max=60)])
    host = StringField("Host name or IP address", validators=[DataRequired(), Length(max=255)])
    port = IntegerField("Port", default=9100, validators=[Optional(), NumberRange(1, 65535)])
    dpi = SelectField(
        "Resolution",
        choices=[SelectChoice("203", "203 dpi"), SelectChoice("300", "300 dpi")],
        default="203",
    )
    label_types = MultiCheckboxField(
        "Label types loaded",
        choices=[
            SelectChoice("prescription", "Prescription (4 x 2 in)"),
            SelectChoice("vial", "Vial (2.25 x 1.25 in)"),
            SelectChoice("batch", "Batch (4 x 2 in)"),
        ],
    )
