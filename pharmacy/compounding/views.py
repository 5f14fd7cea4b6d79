"""Ingredient lots, batches, stock, and the batch worksheet (HTML and PDF).

Fills, work lists, trace and recall add their routes to ``bp`` from ``fills_views.py``.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from wtforms import SelectChoice

from pharmacy.access import role_required
from pharmacy.compounding.forms import ActionForm, BatchForm, LotForm, ReasonForm, SterilityForm
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.forms import attach_errors
from pharmacy.idempotency import idempotent_form
from pharmacy.models import now_utc
from pharmacy.pagination import (
    cursor_from_request,
    date_args,
    position_args,
    position_links,
    text_arg,
)
from pharmacy.print_forms import (
    PrintForm,
    RetryForm,
    flash_form_errors,
    flash_job,
    printer_options,
)
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, TECHNICIAN
from pharmacy.services import batches as batch_service
from pharmacy.services import formulary as formulary_service
from pharmacy.services import labels as label_service
from pharmacy.services import lots as lot_service
from pharmacy.services import printing as printing_service
from pharmacy.services.paging import DateKey, MomentKey, Stretch
from pharmacy.services.settings import get_settings, pharmacy_zone

bp = Blueprint("compounding", __name__, url_prefix="/compounding")


# --- Stock and ingredient lots ----------------------------------------------------------------


@bp.get("/stock")
@role_required(*PHARMACY_STAFF)
def stock():
    """Show ingredient lots and batches on hand, each a page at a time first expiry first
    (``?lots_after=`` / ``?lots_before=`` a ``YYYY-MM-DD.<id>`` position, ``?batches_after=``
    / ``?batches_before=`` a ``YYYY-MM-DDTHH:MM:SSZ.<id>`` one), and what expires soon."""
    days = get_settings().expiring_within_days
    show = "expired" if request.args.get("show") == "expired" else "in_date"
    summary = batch_service.stock_summary(days, show=show, positions=_stock_positions())
    lots, batches = summary["lots"], summary["batches"]
    return render_template(
        "compounding/stock.html",
        days=days,
        lot_links=_links(lots, "lots_", "lots"),
        batch_links=_links(batches, "batches_", "batches"),
        **summary,
    )


def _stock_positions() -> batch_service.StockPositions:
    """Read both lists' positions, refusing every bad one at once (422, naming each)."""
    errors: dict[str, str] = {}
    lots = batches = None
    try:
        lots = position_args(DateKey.parse, prefix="lots_")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        batches = position_args(MomentKey.parse, prefix="batches_")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors or lots is None or batches is None:
        raise ValidationFailed(errors)
    return batch_service.StockPositions(lots[0], lots[1], batches[0], batches[1])


def _links(page: Stretch, prefix: str, anchor: str) -> dict[str, str | None]:
    return position_links(
        str(page.next) if page.next else None,
        str(page.prev) if page.prev else None,
        prefix=prefix,
        anchor=anchor,
    )


@bp.route("/lots/receive", methods=["GET", "POST"])
@role_required(TECHNICIAN)
@idempotent_form
def receive_lot():
    """Receive an ingredient lot into quarantine."""
    form = LotForm()
    if form.validate_on_submit():
        try:
            lot = lot_service.receive_lot(form.to_body(), current_user)
        except (ValidationFailed, DomainError) as exc:
            attach_errors(form, exc)
        else:
            flash(f"Lot {lot.lot} of {lot.component} received into quarantine.", "success")
            return redirect(url_for("compounding.lot", lot_id=lot.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "compounding/receive_lot.html", form=form, components=formulary_service.known_components()
    ), status


@bp.get("/lots/<int:lot_id>")
@role_required(*PHARMACY_STAFF)
def lot(lot_id: int):
    """Show a lot with its specification and, for a pharmacist, release and reject."""
    record = lot_service.get_lot(lot_id)
    return render_template(
        "compounding/lot.html",
        lot=record,
        is_active=lot_service.is_active_component(record.component),
        expired=lot_service.is_expired(record),
        used_by=batch_service.batches_using_lot(record),
        action_form=ActionForm(),
        reason_form=ReasonForm(),
        errors=None,
    )


@bp.post("/lots/<int:lot_id>/release")
@role_required(PHARMACIST)
def release_lot(lot_id: int):
    """Release a lot, or show which specification failed."""
    record = lot_service.get_lot(lot_id)
    if ActionForm().validate_on_submit():
        try:
            lot_service.release_lot(record.id, current_user)
        except ValidationFailed as exc:
            for message in exc.errors.values():
                flash(f"Not released: {message}", "error")
        except (ConflictError, DomainError) as exc:
            flash(exc.message, "error")
        else:
            flash(f"Lot {record.lot} released.", "success")
    return redirect(url_for("compounding.lot", lot_id=lot_id))


@bp.post("/lots/<int:lot_id>/reject")
@role_required(PHARMACIST)
def reject_lot(lot_id: int):
    """Reject a lot with a reason."""
    record = lot_service.get_lot(lot_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            lot_service.reject_lot(record.id, form.reason.data, current_user)
        except (ConflictError, DomainError) as exc:
            flash(exc.message, "error")
        else:
            flash(f"Lot {record.lot} rejected.", "success")
    return redirect(url_for("compounding.lot", lot_id=lot_id))


# --- Batches ----------------------------------------------------------------------------------


@bp.get("/batches")
@role_required(*PHARMACY_STAFF)
def batches():
    """List batches newest first, a page at a time (filters: status, formulation, dates)."""
    status = request.args.get("status") or None
    try:
        filters = {"formulation": text_arg("formulation"), **date_args(*DATE_FILTERS)}
        page = batch_service.list_batches(status, cursor=cursor_from_request(), **filters)
    except DomainError as exc:
        flash(exc.message if not isinstance(exc, ValidationFailed) else _first(exc), "error")
        return redirect(url_for("compounding.batches"))
    return render_template(
        "compounding/batches.html", status=status, page=page, filters=filters, now=now_utc()
    )


DATE_FILTERS = ("compounded_from", "compounded_to")


def _first(exc: ValidationFailed) -> str:
    field, message = next(iter(exc.errors.items()))
    return f"{field.replace('_', ' ').capitalize()}: {message}"


@bp.route("/batches/new", methods=["GET", "POST"])
@role_required(TECHNICIAN)
@idempotent_form
def new_batch():
    """Compound a batch: choose formulation, vials, time and one lot per ingredient.

    "Preview" shows the worksheet and BUD without writing; "Compound" records the batch.
    """
    form = BatchForm()
    formulations = formulary_service.list_formulations()
    form.formulation.choices = [SelectChoice(f.code, f"{f.code} - {f.name}") for f in formulations]
    code = request.values.get("formulation") or (formulations[0].code if formulations else None)
    formulation = formulary_service.get_active(code) if code else None
    if request.method == "GET":
        form.formulation.data = code
        form.compounded_at.data = now_utc().astimezone(pharmacy_zone()).strftime("%Y-%m-%dT%H:%M")
    choices = batch_service.lot_choices(formulation) if formulation else []
    chosen = {row["index"]: request.form.get(f"lot-{row['index']}", "") for row in choices}
    if request.method == "GET":
        chosen = {row["index"]: str(row["lots"][0].id) if row["lots"] else "" for row in choices}
    plan, error = None, None
    status = 200
    if request.method == "POST" and formulation and form.validate_on_submit():
        body = {
            "formulation": formulation.code,
            "vials": form.vials.data,
            "compounded_at": form.compounded_at.data,
            "ingredient_lots": [value for value in chosen.values() if value],
        }
        try:
            if request.form.get("action") == "compound":
                batch = batch_service.compound_batch(body, current_user, now=now_utc())
                flash(f"Batch {batch.lot_number} recorded; it is in quarantine.", "success")
                return redirect(url_for("compounding.batch", lot_number=batch.lot_number))
            plan = batch_service.plan_batch(body, now_utc())
        except ValidationFailed as exc:
            error = " ".join(exc.errors.values())
            status = 422
        except (ConflictError, DomainError) as exc:
            error = exc.message
            status = 409 if isinstance(exc, ConflictError) else 422
    return render_template(
        "compounding/new_batch.html",
        form=form,
        formulation=formulation,
        choices=choices,
        chosen=chosen,
        plan=plan,
        error=error,
    ), status


@bp.get("/batches/<lot_number>")
@role_required(*PHARMACY_STAFF)
def batch(lot_number: str):
    """Show a batch: worksheet, BUD and what limited it, sterility, release and reject."""
    record = batch_service.get_batch(lot_number)
    return _batch_page(record, SterilityForm())


def _batch_page(record, sterility_form: SterilityForm) -> str:
    incubation_days = get_settings().sterility_incubation_days
    return render_template(
        "compounding/batch.html",
        batch=record,
        incubation_days=incubation_days,
        sterility_ready=record.compounded_dt + timedelta(days=incubation_days),
        rows=batch_service.worksheet_rows(record),
        vials=batch_service.batch_vials(record, cursor_from_request()),
        printers=printing_service.printers_for("batch"),
        print_jobs=printing_service.jobs_for("batch", record.lot_number),
        print_form=PrintForm(formdata=None),
        retry_form=RetryForm(formdata=None),
        labels_printed=bool(label_service.previous_renders("vial", "batch", record.lot_number)),
        expired=batch_service.is_expired(record),
        sterility_form=sterility_form,
        action_form=ActionForm(),
        reason_form=ReasonForm(),
    )


@bp.post("/batches/<lot_number>/sterility")
@role_required(PHARMACIST)
def sterility(lot_number: str):
    """Record the sterility test result, its completion time and report (SPEC 5.6).

    Bad input shows the page again with the errors on their fields (422), as the API would.
    """
    record = batch_service.get_batch(lot_number)
    form = SterilityForm()
    if not form.validate_on_submit():
        return _batch_page(record, form), 422
    body = form.to_body()
    try:
        # The service checks what the API's schema checks, and the rules (SPEC 5.6).
        batch_service.record_sterility(
            record.lot_number,
            body["result"],
            current_user,
            completed_at=body.get("completed_at"),
            reference=body.get("reference"),
            now=now_utc(),
        )
    except ValidationFailed as exc:
        attach_errors(form, exc)
        return _batch_page(record, form), 422
    except (ConflictError, DomainError) as exc:
        flash(exc.message, "error")
    else:
        flash(f"Sterility test recorded as {body['result']}.", "success")
    return redirect(url_for("compounding.batch", lot_number=record.lot_number))


@bp.post("/batches/<lot_number>/release")
@role_required(PHARMACIST)
def release_batch(lot_number: str):
    """Release a batch for dispensing."""
    record = batch_service.get_batch(lot_number)
    if ActionForm().validate_on_submit():
        _act(
            lambda: batch_service.release_batch(record.lot_number, current_user),
            f"Batch {record.lot_number} released.",
        )
    return redirect(url_for("compounding.batch", lot_number=record.lot_number))


@bp.post("/batches/<lot_number>/reject")
@role_required(PHARMACIST)
def reject_batch(lot_number: str):
    """Reject a batch with a reason."""
    record = batch_service.get_batch(lot_number)
    form = ReasonForm()
    if form.validate_on_submit():
        _act(
            lambda: batch_service.reject_batch(record.lot_number, form.reason.data, current_user),
            f"Batch {record.lot_number} rejected.",
        )
    return redirect(url_for("compounding.batch", lot_number=record.lot_number))


@bp.get("/batches/<lot_number>/worksheet")
@role_required(*PHARMACY_STAFF)
def worksheet(lot_number: str):
    """Show the printable worksheet."""
    record = batch_service.get_batch(lot_number)
    return render_template(
        "compounding/worksheet.html",
        batch=record,
        doc=batch_service.worksheet_document(record),
        checks=batch_service.worksheet_checks(),
    )


@bp.get("/batches/<lot_number>/worksheet.pdf")
@role_required(*PHARMACY_STAFF)
def worksheet_pdf(lot_number: str):
    """Return the worksheet as a PDF."""
    record = batch_service.get_batch(lot_number)
    pdf = batch_service.worksheet_pdf(record)
    return send_file(
        BytesIO(pdf), mimetype="application/pdf", download_name=f"worksheet-{record.lot_number}.pdf"
    )


@bp.post("/batches/<lot_number>/print")
@role_required(*PHARMACY_STAFF)
def print_batch(lot_number: str):
    """Send the batch label and one vial label per serial to a configured printer."""
    record = batch_service.get_batch(lot_number)
    form = PrintForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("compounding.batch", lot_number=record.lot_number))
    try:
        job = printing_service.print_batch(
            record.lot_number,
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
    return redirect(url_for("compounding.batch", lot_number=record.lot_number))


def _act(action, success: str) -> None:
    """Run a service call; flash its success or its error (rolled back)."""
    try:
        action()
    except (ConflictError, DomainError) as exc:
        flash(exc.message, "error")
    else:
        flash(success, "success")
