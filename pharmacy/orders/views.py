"""Order entry, order lists and pharmacist verification."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.api.schemas.base import validate
from pharmacy.api.schemas.orders import VerifyIn
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.forms import apply_errors
from pharmacy.idempotency import idempotent_form
from pharmacy.orders.forms import ERROR_ALIASES, OrderForm, ReasonForm
from pharmacy.pagination import cursor_from_request, date_args, position_args, position_links
from pharmacy.plan.timeline import timeline_svg
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import continuity
from pharmacy.services import orders as service
from pharmacy.services.paging import MomentKey
from pharmacy.services.patients import patient_to_dict
from pharmacy.services.settings import get_settings

bp = Blueprint("orders", __name__, url_prefix="/orders")

VIEW_ROLES = (PRESCRIBER, *PHARMACY_STAFF)


# Drawn plan pictures by their inputs (services.orders.plan_inputs): the same inputs always
# give the same plan, so a worker draws each waiting order once, not on every request.
_PICTURES: OrderedDict[tuple, dict] = OrderedDict()
_PICTURES_KEPT = 256
_PICTURES_LOCK = Lock()


def _picture(order) -> dict:
    """Return the order's plan JSON and its timeline SVG, or an error text if it cannot plan."""
    try:
        key = service.plan_inputs(order)
    except DomainError as exc:
        return {"plan": None, "timeline": None, "plan_error": exc.message}
    with _PICTURES_LOCK:
        picture = _PICTURES.get(key)
        if picture is not None:
            _PICTURES.move_to_end(key)
            return picture
    try:
        plan = service.order_plan_dict(order)
    except DomainError as exc:
        return {"plan": None, "timeline": None, "plan_error": exc.message}
    picture = {
        "plan": plan,
        "timeline": timeline_svg(plan, phases=order.phases),
        "plan_error": None,
    }
    with _PICTURES_LOCK:
        _PICTURES[key] = picture
        if len(_PICTURES) > _PICTURES_KEPT:
            _PICTURES.popitem(last=False)
    return picture


@bp.route("/new", methods=["GET", "POST"])
@role_required(PRESCRIBER)
@idempotent_form
def new():
    """Show the order form; on POST submit the order (the same rules as POST /api/v1/orders)."""
    form = OrderForm()
    general: dict[str, str] = {}
    if request.method == "GET":
        form.start_date.data = service.local_today().isoformat()
        return render_template("orders/new.html", form=form, general_errors=general)
    if form.validate():
        try:
            order = service.submit_order(
                form.to_order_json(), current_user, source="web", today=service.local_today()
            )
        except ValidationFailed as exc:
            general = apply_errors(form, exc.errors, ERROR_ALIASES)
        except DomainError as exc:
            general = apply_errors(form, {exc.field: exc.message}, ERROR_ALIASES)
        else:
            flash(f"Order Rx {order.rx_number} submitted for pharmacist verification.", "success")
            return redirect(url_for("orders.detail", rx_number=order.rx_number))
    return render_template("orders/new.html", form=form, general_errors=general), 422


@bp.get("/")
@role_required(*VIEW_ROLES)
def index():
    """List orders (prescribers: their own), newest first, with status filter and search."""
    status = request.args.get("status") or None
    query = request.args.get("q", "").strip()
    try:
        dates = date_args("submitted_from", "submitted_to")
        page = service.list_orders(
            current_user, status=status, query=query, cursor=cursor_from_request(), **dates
        )
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("orders.index"))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("orders.index"))
    return render_template(
        "orders/index.html",
        page=page,
        status=status,
        query=query,
        dates={k: request.args.get(k, "") for k in dates},
        statuses=("submitted", "verified", "rejected", "cancelled"),
    )


@bp.get("/queue")
@role_required(PHARMACIST)
def queue():
    """Show the orders waiting for verification, oldest first, with alerts and plan pictures."""
    today = service.local_today()
    after, before, limit = position_args(MomentKey.parse, service.QUEUE_PAGE)
    page = service.verification_queue(after=after, before=before, limit=limit)
    items = [
        {"order": o, "age": service.patient_age(o.patient.dob, today), **_picture(o)}
        for o in page.items
    ]
    links = position_links(
        str(page.next) if page.next is not None else None,
        str(page.prev) if page.prev is not None else None,
    )
    return render_template(
        "orders/queue.html", items=items, form=ReasonForm(), page=page, links=links
    )


@bp.get("/<rx_number>")
@role_required(*VIEW_ROLES)
def detail(rx_number: str):
    """Show one order: plan picture, alerts, status history, fills and the allowed actions."""
    order = service.get_order(rx_number, current_user)
    return render_template(
        "orders/detail.html",
        order=order,
        alerts=service.alerts_for(order, current_user),
        patient_view=patient_to_dict(order.patient, current_user),
        form=ReasonForm(),
        age=service.patient_age(order.patient.dob),
        history=service.status_history(order),
        settings=get_settings(),
        continuity=continuity.order_summary(order, service.local_today()),
        **_picture(order),
    )


def _back(order):
    target = request.form.get("next", "")
    if target == "queue":
        return redirect(url_for("orders.queue") + f"#rx-{order.rx_number}")
    return redirect(url_for("orders.detail", rx_number=order.rx_number))


def _decide(rx_number: str, decision: str):
    order = service.get_order(rx_number, current_user)
    form = ReasonForm()
    if not form.validate():
        flash("The reason is too long (at most 2,000 characters).", "error")
        return _back(order)
    # SPEC 5.2: one reason field per warning, named ``ack-<alert code>``.
    acknowledgements = {
        key.removeprefix("ack-"): value
        for key, value in request.form.items()
        if key.startswith("ack-") and decision == "approve"
    }
    try:
        # The API's schema checks the reasons' shape (length, control characters).
        validate(VerifyIn, {"decision": decision, "acknowledgements": acknowledgements})
        service.verify_order(
            order,
            current_user,
            decision,
            form.reason.data,
            acknowledgements or None,
            # The warnings this page showed: a reason for one that has since gone (the
            # allergies were recorded meanwhile) is dropped rather than refused.
            shown=request.form.get("shown", "").split()[:20],
        )
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return _back(order)
    except (ConflictError, DomainError) as exc:
        flash(exc.message, "error")
        return _back(order)
    word = "verified" if decision == "approve" else "rejected"
    flash(f"Rx {order.rx_number} {word}.", "success")
    if request.form.get("next") == "queue":
        return redirect(url_for("orders.queue"))
    return redirect(url_for("orders.detail", rx_number=order.rx_number))


@bp.post("/<rx_number>/approve")
@role_required(PHARMACIST)
def approve(rx_number: str):
    """Approve a submitted order (blocked by a stop alert)."""
    return _decide(rx_number, "approve")


@bp.post("/<rx_number>/reject")
@role_required(PHARMACIST)
def reject(rx_number: str):
    """Reject a submitted order with a reason."""
    return _decide(rx_number, "reject")


@bp.post("/<rx_number>/cancel")
@role_required(PRESCRIBER, PHARMACIST)
def cancel(rx_number: str):
    """Cancel an order with a reason (prescriber while submitted; pharmacist until dispensed)."""
    order = service.get_order(rx_number, current_user)
    form = ReasonForm()
    if not form.validate():
        flash("The reason is too long (at most 2,000 characters).", "error")
        return _back(order)
    try:
        service.cancel_order(order, current_user, form.reason.data)
    except (ConflictError, DomainError) as exc:
        flash(exc.message, "error")
        return _back(order)
    flash(f"Rx {order.rx_number} cancelled.", "success")
    return redirect(url_for("orders.detail", rx_number=order.rx_number))
