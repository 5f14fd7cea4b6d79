"""Users, settings, API tokens and the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.admin.forms import PrinterForm, ReasonForm, SettingsForm, UserForm
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.forms import attach_errors
from pharmacy.models import now_utc
from pharmacy.pagination import cursor_from_request, text_arg
from pharmacy.roles import ADMIN, ALL_ROLES, PHARMACIST
from pharmacy.services import printing as printing_service
from pharmacy.services import tokens as token_service
from pharmacy.services import users as user_service
from pharmacy.services.audit import ROUTINE_LIMIT, list_events, verify_chain
from pharmacy.services.errors import NotFound
from pharmacy.services.settings import EDITABLE, get_settings, update_settings

bp = Blueprint("admin", __name__, url_prefix="/admin")

USER_FIELDS = ("username", "role", "full_name", "npi", "clinic", "phone", "password")


@bp.get("/users")
@role_required(ADMIN)
def users():
    """List users."""
    return render_template(
        "admin/users.html", users=user_service.list_users(), action_form=ReasonForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(ADMIN)
def new_user():
    """Add a user."""
    form = UserForm()
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in USER_FIELDS}
        try:
            user = user_service.create_user(data, current_user)
        except (ValidationFailed, DomainError) as exc:
            attach_errors(form, exc)
        else:
            flash(f"User {user.username} added.", "success")
            return redirect(url_for("admin.users"))
    status = 422 if form.errors or any(f.errors for f in form) else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required(ADMIN)
def edit_user(user_id: int):
    """Edit a user's role and details, or reset the password."""
    user = user_service.get_user(user_id)
    form = UserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.password.data = ""
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in USER_FIELDS if name != "username"}
        try:
            user_service.update_user(user, data, current_user)
        except (ValidationFailed, DomainError) as exc:
            attach_errors(form, exc)
        else:
            flash(f"User {user.username} saved.", "success")
            return redirect(url_for("admin.users"))
    status = 422 if any(f.errors for f in form) else 200
    return render_template("admin/user_form.html", form=form, user=user), status


@bp.post("/users/<int:user_id>/active")
@role_required(ADMIN)
def set_active(user_id: int):
    """Activate or deactivate a user."""
    user = user_service.get_user(user_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        user_service.set_active(user, active, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"User {user.username} {'activated' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/settings", methods=["GET", "POST"])
@role_required(ADMIN)
def settings():
    """Edit the pharmacy's name, address, label stocks and thresholds."""
    current = get_settings()
    form = SettingsForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        # A text field left out of the post reads None; store it as empty, never NULL.
        update_settings(
            {
                name: "" if getattr(form, name).data is None and _is_text(form, name) else data
                for name in EDITABLE
                for data in (getattr(form, name).data,)
            },
            current_user,
        )
        flash("Settings saved.", "success")
        return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form), 422 if form.errors else 200


def _is_text(form, name: str) -> bool:
    return getattr(form, name).type in ("StringField", "TextAreaField")


@bp.route("/tokens", methods=["GET", "POST"])
@role_required(*ALL_ROLES)
def tokens():
    """List your API tokens (an admin sees all), create one, or revoke one."""
    form = ReasonForm()
    new_secret = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("revoke"):
            try:
                token_id = int(request.form["revoke"])
                if not 0 < token_id < 2**31:  # beyond PostgreSQL integer: no such token
                    raise ValueError(token_id)
                token_service.revoke_token(token_id, current_user)
                flash("Token revoked.", "success")
            except (NotFound, ValueError):
                flash("No such token.", "error")
            return redirect(url_for("admin.tokens"))
        label = (request.form.get("label") or "").strip()[:80]
        new_secret, _token = token_service.issue_token(current_user, label)
    records = token_service.list_tokens(None if current_user.role == ADMIN else current_user)
    return render_template("admin/tokens.html", tokens=records, form=form, new_secret=new_secret)


@bp.get("/audit")
@role_required(PHARMACIST, ADMIN)
def audit():
    """Page through the audit trail, filtered by entity or actor, and verify the chain."""
    try:
        filters = {k: text_arg(k, 80) for k in ("entity", "entity_id", "actor")}
        page = list_events(filters, cursor_from_request())
    except ValidationFailed as exc:
        field, message = next(iter(exc.errors.items()))
        flash(f"{field}: {message}", "error")
        return redirect(url_for("admin.audit"))
    report = verify_chain(limit=ROUTINE_LIMIT) if request.args.get("verify") else None
    return render_template(
        "admin/audit.html", events=page.items, page=page, filters=filters, report=report
    )


@bp.route("/printers", methods=["GET", "POST"])
@role_required(ADMIN)
def printers():
    """List the label printers and add one (SPEC 6.4)."""
    form = PrinterForm()
    status = 200
    if form.validate_on_submit():
        try:
            printer = printing_service.add_printer(
                name=form.name.data,
                host=form.host.data,
                port=form.port.data,
                dpi=int(form.dpi.data),
                label_types=form.label_types.data,
                actor=current_user._get_current_object(),
                now=now_utc(),
            )
        except (ValidationFailed, DomainError) as exc:
            attach_errors(form, exc)
            status = 409 if isinstance(exc, ConflictError) else 422
        else:
            flash(f"Printer {printer.name} added.", "success")
            return redirect(url_for("admin.printers"))
    elif form.is_submitted():
        status = 422
    return render_template(
        "admin/printers.html", form=form, printers=printing_service.list_printers()
    ), status
