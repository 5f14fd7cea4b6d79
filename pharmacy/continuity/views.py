"""The continuity list for pharmacists, its CSV for outreach calls, and renewal forms."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from pharmacy.access import role_required
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.models import now_utc
from pharmacy.pagination import position_args, position_links
from pharmacy.roles import PHARMACIST, PRESCRIBER
from pharmacy.services import continuity_list, renewals
from pharmacy.services import orders as order_service

bp = Blueprint("continuity", __name__, url_prefix="/follow-up")


class RenewalRequestForm(FlaskForm):
    """Ask the prescriber to renew (CSRF, an optional note)."""

    note = TextAreaField("Note for the prescriber", validators=[Optional(), Length(max=2000)])


class RenewForm(FlaskForm):
    """The prescriber's renewal: refills, days supply, note."""

    refills = IntegerField(
        "Refills",
        validators=[InputRequired("Give the number of refills."), NumberRange(0, 12)],
    )
    days_supply = IntegerField("Days supply per fill", validators=[Optional(), NumberRange(1, 365)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])


@bp.get("/")
@role_required(PHARMACIST)
def index():
    """Show a page of what needs acting on, filterable by kind, with counts and actions."""
    today = order_service.local_today()
    kind = request.args.get("kind") or None
    if kind is not None and kind not in continuity_list.KINDS:
        flash("Unknown kind of item: showing all of them.", "error")
        kind = None
    after, before, limit = position_args(continuity_list.Key.parse)
    page = continuity_list.follow_up_page(
        current_user, today=today, kind=kind, after=after, before=before, limit=limit
    )
    return render_template(
        "continuity/index.html",
        page=page,
        items=page.items,
        links=continuity_links(page),
        counts=page.counts,
        total=page.total,
        cap=continuity_list.COUNT_CAP,
        kind=kind,
        kinds=continuity_list.KINDS,
        labels=continuity_list.KIND_LABELS,
        today=today,
        form=RenewalRequestForm(),
    )


def continuity_links(page: continuity_list.ListPage, *, external: bool = False) -> dict:
    """Return the next and previous links of a page of the continuity list."""
    return position_links(
        page.next.encode() if page.next else None,
        page.prev.encode() if page.prev else None,
        external=external,
    )


@bp.get("/export.csv")
@role_required(PHARMACIST)
def export():
    """Return the whole list as CSV for outreach calls (one row per item).

    Read a page of queries at a time (``iter_items``); the list holds what needs acting on
    today, so it is built in memory.
    """
    today = order_service.local_today()
    kind = request.args.get("kind") or None
    if kind is not None and kind not in continuity_list.KINDS:
        kind = None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "rx_number", "patient", "dob", "phone", "since", "detail"])
    for item in continuity_list.iter_items(current_user, today=today, kind=kind):
        patient = item.patient
        writer.writerow(
            [
                item.kind,
                item.rx_number,
                f"{patient['last_name']}, {patient['first_name']}",
                patient["dob"],
                patient.get("phone") or "",
                item.since.isoformat(),
                item.detail,
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=follow-up-{today.isoformat()}.csv"},
    )


@bp.post("/orders/<rx_number>/renewal-request")
@role_required(PHARMACIST)
def request_renewal(rx_number: str):
    """Ask the prescriber to renew the order (a ``renewal_requested`` item in their inbox)."""
    order = order_service.get_order(rx_number, current_user)
    form = RenewalRequestForm()
    back = request.form.get("next") or ""
    target = (
        url_for("continuity.index")
        if back == "list"
        else url_for("orders.detail", rx_number=order.rx_number)
    )
    if not form.validate_on_submit():
        flash("The renewal was not requested: the note is too long or the form expired.", "error")
        return redirect(target)
    try:
        renewals.request_renewal(
            order, actor=current_user, now=now_utc(), note=form.note.data or ""
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(target)
    flash(f"Renewal of Rx {rx_number} requested from {order.prescriber.full_name}.", "success")
    return redirect(target)


@bp.route("/orders/<rx_number>/renew", methods=["GET", "POST"])
@role_required(PRESCRIBER)
def renew(rx_number: str):
    """Show and submit the renewal form: the regimen continues from the first uncovered dose."""
    order = order_service.get_order(rx_number, current_user)
    form = RenewForm()
    today = order_service.local_today()
    if request.method == "GET":
        form.refills.data = order.refills
        form.days_supply.data = order.days_supply
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                new = renewals.renew(
                    order,
                    current_user,
                    refills=form.refills.data,
                    days_supply=form.days_supply.data,
                    note=form.note.data or None,
                    today=today,
                    source="web",
                )
            except ValidationFailed as exc:
                form.note.errors = [*form.note.errors, *exc.errors.values()]
            except DomainError as exc:
                target = getattr(form, exc.field, None)
                if target is not None and exc.field in ("refills", "days_supply", "note"):
                    target.errors = [*target.errors, exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash(
                    f"Renewal Rx {new.rx_number} submitted for pharmacist verification.", "success"
                )
                return redirect(url_for("orders.detail", rx_number=new.rx_number))
    preview = None
    try:
        preview = renewals.renewal_body(
            order, refills=order.refills, days_supply=None, note="", today=today
        )
    except DomainError as exc:
        flash(exc.message, "error")
    return render_template("continuity/renew.html", order=order, form=form, preview=preview), status
