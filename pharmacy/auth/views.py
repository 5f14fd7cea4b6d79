"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from pharmacy.auth.forms import LoginForm
from pharmacy.auth.roles import public
from pharmacy.extensions import db, login_manager
from pharmacy.models import User
from pharmacy.services.users import AuthError, authenticate

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def _safe_next(target: str | None) -> str | None:
    """Return ``target`` only if it is a path on this site (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except AuthError as exc:
            error = exc.message
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
    status = 200 if error is None and not form.errors else 422 if form.errors else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


logout.access = "authenticated"  # any signed-in role
