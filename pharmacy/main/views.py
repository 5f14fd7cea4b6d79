"""Home page per role."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_login import current_user

from pharmacy.access import public, role_required
from pharmacy.pagination import position_args, position_links
from pharmacy.roles import ALL_ROLES, PRESCRIBER
from pharmacy.services import continuity_list
from pharmacy.services.worklists import home_summary

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def index():
    """Send people to their home page, or to sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.get("/favicon.ico")
@public
def favicon():
    """Serve the tab icon where browsers (and monitoring tools) look for it."""
    icon = Path(current_app.static_folder or "static") / "favicon.ico"
    response = Response(icon.read_bytes(), mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/home")
@role_required(*ALL_ROLES)
def home():
    """Show the signed-in role's work at a glance."""
    after = before = None
    if current_user.role == PRESCRIBER:
        after, before, _ = position_args(continuity_list.Key.parse)
    summary = home_summary(current_user, inbox_after=after, inbox_before=before)
    links = {}
    if "inbox" in summary:
        inbox = summary["inbox"]
        links = position_links(
            inbox.next.encode() if inbox.next else None,
            inbox.prev.encode() if inbox.prev else None,
        )
    return render_template(f"main/home_{current_user.role}.html", summary=summary, links=links)
