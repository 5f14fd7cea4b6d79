"""What the fill and batch pages share to print on a network printer (SPEC 6.4)."""

from __future__ import annotations

from flask import current_app, flash
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from pharmacy.forms import SafeForm as FlaskForm
from pharmacy.services import printing as printing_service


class PrintForm(FlaskForm):
    """Send labels to a configured printer; a reprint carries its reason."""

    printer = StringField("Printer", validators=[DataRequired("Choose a printer."), Length(max=60)])
    reason = StringField("Reprint reason", validators=[Optional(), Length(max=200)])


class RetryForm(FlaskForm):
    """Retry a failed print job (the CSRF token only)."""


def printer_options() -> dict:
    """Return the printer sender and timeout from the app config (tests use a fake printer)."""
    return {
        "send": current_app.config.get("PRINTER_SEND") or printing_service.send_raw,
        "timeout": float(
            current_app.config.get(
                "PRINTER_TIMEOUT_SECONDS", printing_service.DEFAULT_TIMEOUT_SECONDS
            )
        ),
    }


def flash_form_errors(form: PrintForm) -> None:
    """Flash the print form's field errors."""
    for error in (*form.printer.errors, *form.reason.errors):
        flash(error, "error")


def flash_job(job) -> None:
    """Say how a print job went."""
    if job.status == "sent":
        flash(f"{job.labels} labels sent to {job.printer.name}.", "success")
    else:
        flash(
            f"Print job {job.id} to {job.printer.name} failed: {job.error}. Nothing is marked"
            " printed; check the printer and retry the job below.",
            "error",
        )
