"""Fills, labels, final check and dispensing."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.dispensing.forms import CheckForm, DispenseForm
from pharmacy.domain.errors import ConflictError, DomainError
from pharmacy.domain.final_check import RecheckFailed
from pharmacy.models import now_utc
from pharmacy.pagination import cursor_from_request
from pharmacy.print_forms import (
    PrintForm,
    RetryForm,
    flash_form_errors,
    flash_job,
    printer_options,
)
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF
from pharmacy.services import continuity
from pharmacy.services import dispensing as service
from pharmacy.services import fills as fills_service
from pharmacy.services import labels as label_service
from pharmacy.services import printing as printing_service
from pharmacy.services.paging import Cursor

bp = Blueprint("dispensing", __name__, url_prefix="/fills")

RECENT_DISPENSED = 20
# Fills per page of each open list: a counter works the newest few; 25 rows of each keep
# the page quick to draw (SPEC 9: the counter mix at 100 requests per CPU-second).
OPEN_PAGE = 25


@bp.get("/")
@role_required(*PHARMACY_STAFF)
def fills():
    """List fills awaiting final check and ready to dispense, each paged newest first
    (``?awaiting_before=`` / ``?ready_before=`` ...), and the most recently dispensed."""
    return render_template(
        "dispensing/fills.html",
        awaiting=service.fills_by_status(
            "allocated", cursor_from_request(OPEN_PAGE, prefix="awaiting_")
        ),
        ready=service.fills_by_status("checked", cursor_from_request(OPEN_PAGE, prefix="ready_")),
        dispensed=service.fills_by_status("dispensed", Cursor(limit=RECENT_DISPENSED)).items,
    )


def _detail_context(fill_id: int) -> dict:
    fill = fills_service.get_fill(fill_id)
    history = label_service.render_history("fill", fill.id)
    printed = {r.kind for r in history}
    return {
        "fill": fill,
        "order": fill.order,
        "lots": service.allocated_lots(fill),
        "history": history,
        "label_printed": "prescription" in printed,
        "checks": list(reversed(fill.checks)),
        "void_endpoint": "compounding.void_fill"
        if _has_endpoint("compounding.void_fill")
        else None,
        "plan_fill": continuity.fill_summary(fill),
        "continuity": continuity.order_summary(fill.order, fills_service.local_today()),
        "expected_rx": service.expected_rx(fill),
        "printers": printing_service.printers_for("fill"),
        "print_jobs": printing_service.jobs_for("fill", fill.id),
        "print_form": PrintForm(formdata=None),
        "retry_form": RetryForm(formdata=None),
        "pharmacist": label_service.fill_pharmacist(fill),
        # SPEC 5.5: why a checked fill cannot be dispensed now (no Dispense button then).
        "cannot_dispense": service.dispense_problems(fill, now_utc()),
    }


def _has_endpoint(name: str) -> bool:
    from flask import current_app

    return name in current_app.view_functions


@bp.get("/<int:fill_id>")
@role_required(*PHARMACY_STAFF)
def fill_detail(fill_id: int):
    """Show one fill: order, allocations, plan, label printing and history, final check."""
    return render_template("dispensing/fill_detail.html", **_detail_context(fill_id))


def _render_check(fill_id: int, form: CheckForm, result=None, status: int = 200):
    context = _detail_context(fill_id)
    return render_template(
        "dispensing/check.html",
        form=form,
        result=result,
        dispense_form=DispenseForm(formdata=None),
        current_user_initials=label_service.initials(current_user),
        **context,
    ), status


@bp.route("/<int:fill_id>/check", methods=["GET", "POST"])
@role_required(PHARMACIST)
def check(fill_id: int):
    """Run the final check: scans typed by a keyboard-wedge scanner, one per line."""
    form = CheckForm()
    if form.validate_on_submit():
        scans = form.scans.data.replace("\r\n", "\n").split("\n")
        try:
            result = service.check_fill(fill_id, scans, current_user._get_current_object())
        except DomainError as exc:
            form.scans.errors.append(exc.message)
            return _render_check(
                fill_id, form, status=409 if isinstance(exc, ConflictError) else 422
            )
        return _render_check(fill_id, form, service.result_to_dict(result))
    return _render_check(fill_id, form)


@bp.post("/<int:fill_id>/dispense")
@role_required(PHARMACIST)
def dispense(fill_id: int):
    """Dispense a fill that passed its final check."""
    form = DispenseForm()
    if not form.validate_on_submit():
        for error in form.pharmacist_initials.errors:
            flash(error, "error")
        return redirect(url_for("dispensing.check", fill_id=fill_id))
    try:
        fill = service.dispense(
            fill_id,
            current_user._get_current_object(),
            form.pharmacist_initials.data,
            now=now_utc(),
        )
    except RecheckFailed:
        # The fill page says why (the re-check runs again there) and offers void.
        return render_template("dispensing/fill_detail.html", **_detail_context(fill_id)), 409
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("dispensing.check", fill_id=fill_id))
    flash(
        f"Rx {fill.order.rx_number} fill {fill.fill_number} dispensed "
        f"({fill.pharmacist_initials}).",
        "success",
    )
    return redirect(url_for("dispensing.fill_detail", fill_id=fill.id))


@bp.post("/<int:fill_id>/print")
@role_required(*PHARMACY_STAFF)
def print_fill(fill_id: int):
    """Send the fill's labels to a configured printer."""
    form = PrintForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("dispensing.fill_detail", fill_id=fill_id))
    try:
        job = printing_service.print_fill(
            fill_id,
            form.printer.data,
            actor=current_user._get_current_object(),
            now=now_utc(),
            reason=form.reason.data or None,
            **printer_options(),
        )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash_job(job)
    return redirect(url_for("dispensing.fill_detail", fill_id=fill_id))


@bp.post("/print-jobs/<int:job_id>/retry")
@role_required(*PHARMACY_STAFF)
def retry_print_job(job_id: int):
    """Send a failed print job again, then go back to its fill or batch."""
    job = printing_service.get_job(job_id)
    entity, entity_id = job.entity, job.entity_id
    if RetryForm().validate_on_submit():
        try:
            job = printing_service.retry_job(
                job_id, actor=current_user._get_current_object(), now=now_utc(), **printer_options()
            )
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash_job(job)
    if entity == "batch":
        return redirect(url_for("compounding.batch", lot_number=entity_id))
    return redirect(url_for("dispensing.fill_detail", fill_id=int(entity_id)))
