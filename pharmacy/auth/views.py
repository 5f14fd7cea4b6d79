"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from pharmacy.access import public
from pharmacy.auth.forms import LoginForm, PasswordForm
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import login_manager
from pharmacy.forms import attach_errors
from pharmacy.models import User, now_utc
from pharmacy.services import sessions as session_service
from pharmacy.services.users import AuthError, authenticate, change_password

bp = Blueprint("auth", __name__)

# The Flask session (a signed cookie) carries the id of a row in ``user_sessions``; the row,
# not the cookie, decides whether the user is still signed in (SPEC 8.4).
SESSION_ID = "_sid"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    session_id = session.get(SESSION_ID)
    if not user_id.isdigit() or not isinstance(session_id, str) or len(session_id) > 64:
        return None
    user = session_service.session_user(session_id, int(user_id), now=now_utc())
    if user is None:
        session.clear()  # ended, timed out or deactivated: the cookie is dead
    return user


@bp.before_app_request
def _check_session() -> None:
    """Check the session row first thing, before the request's own transaction begins."""
    if request.endpoint != "static" and SESSION_ID in session:
        current_user._get_current_object()  # runs _load_user now, not midway through a view


def client_address() -> str:
    """Return the client's address (behind trusted proxies, as ProxyFix resolved it)."""
    return (request.remote_addr or "unknown")[:64]


def sign_in(user: User) -> None:
    """Start a server-side session for ``user`` and put its id in the cookie."""
    record = session_service.start_session(
        user,
        now=now_utc(),
        address=client_address(),
        user_agent=request.headers.get("User-Agent"),
    )
    session.clear()  # nothing from before sign-in carries over (session fixation)
    login_user(user)
    session[SESSION_ID] = record.id


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
            user = authenticate(form.username.data, form.password.data, address=client_address())
        except AuthError as exc:
            error = exc.message
        else:
            sign_in(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
    status = 200 if error is None and not form.errors else 422 if form.errors else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out everywhere: every session and API token of this user ends (SPEC 8.4)."""
    session_service.sign_out(current_user._get_current_object(), now=now_utc())
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


logout.access = "authenticated"  # any signed-in role


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change your own password; every session and API token of yours ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(
                current_user._get_current_object(),
                form.current_password.data,
                form.new_password.data,
                now=now_utc(),
            )
        except ValidationFailed as exc:
            attach_errors(form, exc)
        else:
            logout_user()
            session.clear()
            flash("Password changed: sign in again with the new one.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if any(f.errors for f in form) else 200
    return render_template("auth/password.html", form=form), status


password.access = "authenticated"  # any signed-in role
