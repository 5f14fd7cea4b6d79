"""Application factory."""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import uuid
from pathlib import Path

from flask import Flask, abort, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import pharmacy.models  # noqa: F401  (register every table before migrate/db use them)
from pharmacy.api.body import install as bound_bodies
from pharmacy.cli import register_commands
from pharmacy.config import Config
from pharmacy.database import configure_sqlite, engine_options, reset_write_intent, set_write_intent
from pharmacy.errors import error_response, register_error_handlers
from pharmacy.extensions import csrf, db, login_manager, migrate
from pharmacy.forms import text_problem
from pharmacy.services import audit
from pharmacy.templating import register_template_helpers

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Development and tests only: a fixed, public key, so a development chain verifies anywhere.
DEVELOPMENT_AUDIT_KEY = "development-audit-key: not a secret, never use in production"

# Blueprints in registration order; each module exposes ``bp``.
BLUEPRINTS = (
    "pharmacy.auth.views",
    "pharmacy.main.views",
    "pharmacy.admin.views",
    "pharmacy.plan.views",
    "pharmacy.orders.views",
    "pharmacy.patients.views",
    "pharmacy.therapy.views",
    "pharmacy.formulary.views",
    "pharmacy.compounding.views",
    "pharmacy.compounding.fills_views",
    "pharmacy.dispensing.views",
    "pharmacy.continuity.views",
    "pharmacy.api",
)


class BoundedInt(IntegerConverter):
    """``<int:...>`` in a route: a whole number 0..2^31-1 (PostgreSQL ``integer``), else 404."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the pharmacy app.

    :param test_config: settings that replace the environment (tests).
    :raise RuntimeError: no SECRET_KEY outside development and testing.
    """
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        instance_path=os.environ.get("PHARMACY_INSTANCE", str(root / "instance")),
    )
    app.config.from_object(Config)
    if test_config is not None:
        app.config.update(test_config)
        app.config.setdefault("PHARMACY_ENV", "testing")
    env = app.config["PHARMACY_ENV"]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        if env not in ("development", "testing"):
            raise RuntimeError(
                "SECRET_KEY is not set: it is required outside development and tests"
            )
        app.config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    if not app.config.get("AUDIT_KEY"):
        if env not in ("development", "testing") and not app.testing:
            raise RuntimeError(
                "AUDIT_KEY is not set: the audit chain's key is required outside development "
                "and tests (keep it outside the database)"
            )
        app.config["AUDIT_KEY"] = DEVELOPMENT_AUDIT_KEY
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'pharmacy.sqlite3'}"
        )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SESSION_COOKIE_SECURE"] = app.config.get(
        "SESSION_COOKIE_SECURE_OVERRIDE", env == "production"
    )
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    # JSON keys in the order the serialisers write them (JSON_SORT_KEYS is gone since Flask 2.3).
    app.json.sort_keys = False  # type: ignore[attr-defined]
    db.init_app(app)
    migrate.init_app(app, db, directory=str(root / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)

    if app.config.get("TRUSTED_PROXIES"):
        proxies = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    bound_bodies(app)  # 1 MiB bodies, bounded JSON (SPEC 8.1)
    app.url_map.converters["int"] = BoundedInt  # ids above 2^31-1 are unknown: 404
    audit.set_key_source(lambda: current_app.config["AUDIT_KEY"])
    _register_request_hooks(app)
    _register_blueprints(app)

    register_error_handlers(app)
    register_commands(app)
    register_template_helpers(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    return app


def _development_secret(instance: Path) -> str:
    """Return a per-checkout random key for development, kept in the instance folder."""
    path = instance / "dev_secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _register_blueprints(app: Flask) -> None:
    # Several modules may add routes to one blueprint (e.g. compounding); register each once.
    registered: list = []
    for name in BLUEPRINTS:
        module = importlib.import_module(name)
        if not any(module.bp is bp for bp in registered):
            registered.append(module.bp)
    for bp in registered:
        app.register_blueprint(bp)


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start_request() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        g.request_id_token = audit.bind_request_id(g.request_id)
        g.write_token = set_write_intent(request.method not in SAFE_METHODS)

    @app.before_request
    def _clean_query():
        # NUL, control characters and unpaired surrogates in a query string reach no view:
        # PostgreSQL cannot compare with them (SPEC 8.1; on the API, 422 naming the parameter).
        for key, value in request.args.items(multi=True):
            problem = text_problem(key) or text_problem(value)
            if problem is None and len(value) > 2000:
                problem = "This parameter is too long."
            if problem:
                if request.path.startswith("/api/"):
                    return error_response(422, problem, None, {key: problem})
                abort(400, f"The address has an invalid parameter ({key}): {problem}")
        return None

    @app.teardown_request
    def _end_request(_exc) -> None:
        token = g.pop("write_token", None)
        if token is not None:
            reset_write_intent(token)
        request_token = g.pop("request_id_token", None)
        if request_token is not None:
            audit.unbind_request_id(request_token)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Patient data is never cached (SPEC 8.7): every page, JSON answer and file but
        # the static assets, which hold none.
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if "request_id" in g:
            response.headers.setdefault("X-Request-ID", g.request_id)
        return response
