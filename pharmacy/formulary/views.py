"""Master formulation records: list, detail, new, edit (versioned), retire and activate."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.formulary.forms import ActionForm, FormulationForm
from pharmacy.idempotency import idempotent_form
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF
from pharmacy.services import batches as batch_service
from pharmacy.services import formulary as service
from pharmacy.services.paging import Cursor

bp = Blueprint("formulary", __name__, url_prefix="/formulations")


@bp.get("/")
@role_required(*PHARMACY_STAFF)
def index():
    """List formulations (active; ``?all=1`` adds retired ones)."""
    include_retired = request.args.get("all") == "1"
    return render_template(
        "formulary/index.html",
        formulations=service.list_formulations(include_retired),
        include_retired=include_retired,
    )


@bp.get("/<code>")
@role_required(*PHARMACY_STAFF)
def detail(code: str):
    """Show a formulation's current version, its older versions and its recent batches."""
    formulation = service.get_formulation(code)
    return render_template(
        "formulary/detail.html",
        f=formulation,
        versions=service.versions(formulation.code),
        batches=batch_service.list_batches(
            formulation=formulation.code, cursor=Cursor(limit=10)
        ).items,
        used=service.batch_count(formulation) > 0,
        action_form=ActionForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(PHARMACIST)
@idempotent_form
def new():
    """Create a formulation."""
    form = FormulationForm()
    if request.method == "GET":
        form.ingredients[0].component.data = "Cyanocobalamin"
        form.ingredients[0].unit.data = "mcg/mL"
        form.ingredients[0].amount.data = "1000"
        form.ingredients[0].active.data = True
    if form.validate_on_submit():
        body = form.to_body()
        try:
            formulation = service.create_formulation(body, current_user)
        except (ValidationFailed, DomainError) as exc:
            _attach(form, exc)
        else:
            flash(f"Formulation {formulation.code} created.", "success")
            return redirect(url_for("formulary.detail", code=formulation.code))
    status = 422 if request.method == "POST" else 200
    return render_template("formulary/form.html", form=form, f=None), status


@bp.route("/<code>/edit", methods=["GET", "POST"])
@role_required(PHARMACIST)
def edit(code: str):
    """Edit a formulation: in place if unused, else as a new version."""
    formulation = service.get_formulation(code)
    form = FormulationForm()
    if request.method == "GET":
        form.fill_from(service.to_body(formulation))
    if form.validate_on_submit():
        body = form.to_body()
        try:
            saved = service.update_formulation(formulation.code, body, current_user)
        except (ValidationFailed, DomainError) as exc:
            _attach(form, exc)
        else:
            flash(f"Formulation {saved.code} saved as version {saved.version}.", "success")
            return redirect(url_for("formulary.detail", code=saved.code))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "formulary/form.html", form=form, f=formulation, used=service.batch_count(formulation) > 0
    ), status


@bp.post("/<code>/status")
@role_required(PHARMACIST)
def set_status(code: str):
    """Retire or re-activate a formulation."""
    formulation = service.get_formulation(code)
    form = ActionForm()
    status = request.form.get("status", "")
    if form.validate_on_submit():
        try:
            service.set_status(formulation.code, status, current_user)
        except (ConflictError, DomainError) as exc:
            flash(exc.message, "error")
        else:
            flash(f"Formulation {formulation.code} is now {status}.", "success")
    return redirect(url_for("formulary.detail", code=formulation.code))


def _attach(form: FormulationForm, exc: DomainError) -> None:
    """Show service errors on the fields (and ingredient rows) they name."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else {exc.field: exc.message}
    rows = getattr(form, "row_index", {})
    for path, message in errors.items():
        target = None
        if path.startswith("ingredients[") and "]." in path:
            index = int(path[len("ingredients[") : path.index("]")])
            row = form.ingredients[rows.get(index, index)].form
            target = getattr(row, path.split("].", 1)[1], None)
        elif path and path != "ingredients":
            target = getattr(form, path, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [message]
        else:
            form.form_errors.append(message)
