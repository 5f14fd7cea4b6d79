"""Dosing plan page: edit a regimen, see the plan; a live preview fragment for scripts."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_login import current_user

from pharmacy.access import role_required
from pharmacy.domain.errors import ValidationFailed
from pharmacy.forms import apply_errors
from pharmacy.plan.forms import PlanForm
from pharmacy.plan.timeline import timeline_svg
from pharmacy.roles import PHARMACIST, PRESCRIBER, TECHNICIAN
from pharmacy.services.labels import label_warnings
from pharmacy.services.plans import compute_plan
from pharmacy.services.settings import get_settings, pharmacy_zone

bp = Blueprint("plan", __name__, url_prefix="/plan")

PLAN_ROLES = (PRESCRIBER, TECHNICIAN, PHARMACIST)
# vial_options[0] is the vial typed above the checkboxes (PlanForm.to_plan_json).
ERROR_ALIASES = {"vial_options[0]": ""}
# Drawn at about the size the page shows it, so the 12 px labels stay legible.
TIMELINE_WIDTH = 720


def _result_context(result) -> dict:
    """Return what templates/plan/_result.html needs to draw ``result``."""
    return {
        "result": result,
        "timeline": timeline_svg(result.plan, phases=result.phases, width=TIMELINE_WIDTH),
    }


@bp.route("/", methods=["GET", "POST"])
@role_required(*PLAN_ROLES)
def page():
    """Show the plan form; on POST (works without JavaScript) show the computed plan."""
    form = PlanForm()
    if request.method == "GET":
        form.start_date.data = datetime.now(pharmacy_zone()).date().isoformat()
        form.in_use_days.data = str(get_settings().default_in_use_days)
        return render_template(
            "plan/page.html", form=form, result=None, timeline=None, general_errors={}
        )
    form.validate()  # CSRF and shape only; the dosing rules are checked by the service
    context: dict = {"result": None, "timeline": None, "general_errors": {}}
    status = 200
    try:
        result = compute_plan(form.to_plan_json())
    except ValidationFailed as exc:
        context["general_errors"] = apply_errors(form, exc.errors, ERROR_ALIASES)
        status = 422
    else:
        context.update(_result_context(result))
    return render_template("plan/page.html", form=form, **context), status


@bp.post("/preview")
@role_required(*PLAN_ROLES)
def preview():
    """Return the plan for a SPEC 2.3 JSON body as an HTML fragment (live preview).

    422 carries the field errors (also as ``data-fields`` JSON for the script); 400 answers
    a body that is not JSON.
    """
    body = request.get_json(silent=True, force=True)
    if body is None:
        return render_template(
            "plan/_errors.html", message="The request body is not valid JSON.", errors={}
        ), 400
    # Order entry also sends the patient's name: the preview warns early when a label could
    # not print it or the directions (SPEC 5.8); submission refuses it.
    names = body.pop("label_check", None) if isinstance(body, dict) else None
    try:
        result = compute_plan(body)
    except ValidationFailed as exc:
        return render_template(
            "plan/_errors.html", message="Some fields are not valid.", errors=exc.errors
        ), 422
    names = names if isinstance(names, dict) else {}
    warnings = label_warnings(
        str(names.get("first_name") or ""),
        str(names.get("last_name") or ""),
        str(result.plan.get("sig") or ""),
        # Only a prescriber's own name goes on the prescription label.
        (current_user.full_name or current_user.username)
        if current_user.role == PRESCRIBER
        else "",
    )
    return render_template("plan/_result.html", label_warnings=warnings, **_result_context(result))
