"""Filling orders, voiding fills, work lists, trace and recall (routes on the compounding blueprint)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from pharmacy.access import role_required
from pharmacy.compounding.views import bp
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.forms import SafeForm as FlaskForm
from pharmacy.idempotency import idempotent_form
from pharmacy.pagination import cursor_from_request, position_args, position_links
from pharmacy.roles import PHARMACIST, TECHNICIAN
from pharmacy.services import fills as fills_service
from pharmacy.services import trace as trace_service
from pharmacy.services.paging import DateKey


class FillForm(FlaskForm):
    """Fill an order's next fill (CSRF only; ``next`` is where to go back on failure)."""

    next = HiddenField()


class VoidForm(FlaskForm):
    """Void a fill: the reason is required."""

    reason = StringField(
        "Reason", validators=[DataRequired("Give the reason for voiding."), Length(max=500)]
    )


class RecallForm(FlaskForm):
    """Recall the traced lot: the reason is required."""

    ingredient_lot = HiddenField()
    batch_lot = HiddenField()
    reason = TextAreaField(
        "Reason for the recall",
        validators=[DataRequired("Give the reason for the recall."), Length(max=2000)],
    )


def _safe_next(target: str | None) -> str | None:
    """Return ``target`` when it is a path on this site, else None (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _order_page(rx_number: str) -> str:
    if "orders.detail" in current_app.view_functions:
        return url_for("orders.detail", rx_number=rx_number)
    return url_for("compounding.worklist")


def _fill_page(fill) -> str:
    if "dispensing.fill_detail" in current_app.view_functions:
        return url_for("dispensing.fill_detail", fill_id=fill.id)
    return _order_page(fill.order.rx_number)


@bp.post("/orders/<rx_number>/fill")
@role_required(TECHNICIAN)
def fill_order(rx_number: str):
    """Allocate the next fill of a verified order, then show the fill (or say why not)."""
    form = FillForm()
    back = _safe_next(form.next.data) or _order_page(rx_number)
    if not form.validate_on_submit():
        flash("The form had expired; reload the page and try again. Nothing was filled.", "error")
        return redirect(back)
    order = fills_service.get_order(rx_number)
    try:
        fill = fills_service.allocate_fill(order, current_user, today=fills_service.local_today())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(back)
    lots = ", ".join(f"{a.batch.lot_number} x {a.vials}" for a in fill.allocations)
    flash(
        f"Filled Rx {rx_number} ({'original fill' if fill.fill_number == 0 else f'refill {fill.fill_number}'}):"
        f" {fill.vials} vial{'' if fill.vials == 1 else 's'} from {lots}.",
        "success",
    )
    return redirect(_fill_page(fill))


@bp.post("/fills/<int:fill_id>/void")
@role_required(TECHNICIAN)
def void_fill(fill_id: int):
    """Void a fill before dispensing; its vials go back to their batches."""
    fill = fills_service.get_fill(fill_id)
    form = VoidForm()
    back = _fill_page(fill)
    if not form.validate_on_submit():
        errors = form.reason.errors or ["The form had expired; reload the page and try again."]
        flash(f"The fill was not voided: {errors[0]}", "error")
        return redirect(back)
    try:
        fills_service.void_fill(fill, current_user, form.reason.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(back)
    flash(
        f"Fill {fill_id} voided; its {fill.vials} vial{'' if fill.vials == 1 else 's'}"
        " went back to stock.",
        "success",
    )
    return redirect(back)


@bp.get("/worklist")
@role_required(TECHNICIAN)
def worklist():
    """Show what to compound (no stock for the next fill) and what to fill (due, in stock),
    a page at a time (``?after=`` / ``?before=`` a ``YYYY-MM-DD.<id>`` key, ``?limit=``)."""
    after, before, limit = position_args(DateKey.parse, fills_service.WORKLIST_PAGE)
    today = fills_service.local_today()
    page = fills_service.worklist(today, fills_service.WorkCursor(after, before, limit))
    return render_template(
        "compounding/worklist.html",
        today=today,
        form=FillForm(),
        order_page=_order_page,
        to_fill=page.to_fill,
        to_compound=page.to_compound,
        links=position_links(
            str(page.next) if page.next else None, str(page.prev) if page.prev else None
        ),
        here=request.full_path.rstrip("?"),
    )


@bp.get("/trace")
@role_required(PHARMACIST)
def trace():
    """Trace an ingredient lot or batch lot to batches, fills, patients and prescribers.

    The fills come a page at a time, newest first (``before``/``after`` a fill id).
    """
    ingredient_lot = request.args.get("ingredient_lot", "").strip()
    batch_lot = request.args.get("batch_lot", "").strip()
    result = None
    page = None
    error = None
    status = 200
    if ingredient_lot or batch_lot:
        try:
            cursor = cursor_from_request(default_limit=trace_service.PAGE_LIMIT)
            traced = trace_service.resolve(ingredient_lot or None, batch_lot or None)
            result, page = trace_service.trace_page(traced, cursor)
        except ValidationFailed as exc:
            field, message = next(iter(exc.errors.items()))
            error, status = f"{field.replace('_', ' ').capitalize()}: {message}", 422
        except trace_service.NotFound as exc:
            error, status = str(exc), 404
    form = RecallForm(ingredient_lot=ingredient_lot, batch_lot=batch_lot)
    return render_template(
        "compounding/trace.html",
        result=result,
        page=page,
        error=error,
        form=form,
        ingredient_lot=ingredient_lot,
        batch_lot=batch_lot,
        lots=trace_service.ingredient_lot_choices(),
        batches=trace_service.batch_choices(),
    ), status


@bp.post("/recall")
@role_required(PHARMACIST)
@idempotent_form
def recall():
    """Recall the traced lot: its batches are marked recalled and never allocated again."""
    form = RecallForm()
    query = {
        k: v
        for k, v in (
            ("ingredient_lot", form.ingredient_lot.data),
            ("batch_lot", form.batch_lot.data),
        )
        if v
    }
    if not form.validate_on_submit():
        errors = form.reason.errors or ["The form had expired; reload the page and try again."]
        flash(f"Nothing was recalled: {errors[0]}", "error")
        return redirect(url_for("compounding.trace", **query))
    try:
        _, result = trace_service.recall(
            form.ingredient_lot.data or None,
            form.batch_lot.data or None,
            reason=form.reason.data,
            actor=current_user,
        )
    except trace_service.NotFound as exc:
        flash(f"Nothing was recalled: {exc}", "error")
        return redirect(url_for("compounding.trace"))
    except DomainError as exc:
        flash(f"Nothing was recalled: {exc.message}", "error")
        return redirect(url_for("compounding.trace", **query))
    flash(
        f"Recalled {len(result['batches'])} batch{'' if len(result['batches']) == 1 else 'es'}:"
        f" contact {len(result['patients'])} patient{'' if len(result['patients']) == 1 else 's'}"
        f" and {len(result['prescribers'])} prescriber"
        f"{'' if len(result['prescribers']) == 1 else 's'} listed below.",
        "success",
    )
    pull = result["fills_to_pull"]
    if pull:
        flash(
            f"Pull {len(pull)} fill{'' if len(pull) == 1 else 's'} not yet dispensed: "
            + ", ".join(f"Rx {f['rx_number']}-{f['fill_number']}" for f in pull)
            + ". Void each and fill it again.",
            "error",
        )
    return redirect(url_for("compounding.trace", **query))
