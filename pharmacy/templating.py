"""Jinja helpers: navigation by role and display formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask, url_for
from flask_login import current_user

from pharmacy.domain.serials import serial_ranges
from pharmacy.domain.units import format_qty
from pharmacy.pagination import page_links
from pharmacy.roles import role_allows
from pharmacy.services.settings import pharmacy_zone

# (endpoint, label, roles allowed). A missing endpoint is skipped, so areas can land one by one.
NAVIGATION = (
    ("main.home", "Home", ("prescriber", "technician", "pharmacist", "admin")),
    ("plan.page", "Dosing plan", ("prescriber", "technician", "pharmacist")),
    ("orders.new", "New order", ("prescriber",)),
    ("orders.index", "Orders", ("prescriber", "technician", "pharmacist")),
    ("orders.queue", "Verify", ("pharmacist",)),
    ("patients.index", "Patients", ("technician", "pharmacist")),
    ("formulary.index", "Formulations", ("technician", "pharmacist")),
    ("compounding.stock", "Stock", ("technician", "pharmacist")),
    ("compounding.batches", "Batches", ("technician", "pharmacist")),
    ("compounding.worklist", "Work lists", ("technician", "pharmacist")),
    ("continuity.index", "Follow-up", ("pharmacist",)),
    ("dispensing.fills", "Fills", ("technician", "pharmacist")),
    ("compounding.trace", "Trace & recall", ("pharmacist",)),
    ("admin.users", "Users", ("admin",)),
    ("admin.settings", "Settings", ("admin",)),
    ("admin.printers", "Printers", ("admin",)),
    ("admin.audit", "Audit", ("pharmacist", "admin")),
    ("admin.tokens", "API tokens", ("prescriber", "technician", "pharmacist", "admin")),
)


def _zone() -> ZoneInfo:

    return pharmacy_zone()


def format_dt(value: datetime | None) -> str:
    """Show an aware UTC datetime in the pharmacy's time zone, e.g. ``2026-12-01 14:05``."""
    if value is None:
        return ""
    return value.astimezone(_zone()).strftime("%Y-%m-%d %H:%M")


def format_date(value: date | datetime | None) -> str:
    """Show a date as ``YYYY-MM-DD`` (datetimes in the pharmacy's zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone()).date()
    return value.isoformat()


# What werkzeug's default converter leaves unquoted in a path segment (BaseConverter.to_url).
_SEGMENT_SAFE = "!$&'()*+,/:;=@"
_MARKER = 7350912648  # a value both an int and a string converter take, found once in a path


def row_url(endpoint: str, name: str) -> Callable[[Any], str]:
    """Return ``link`` with ``link(value) == url_for(endpoint, **{name: value})``, for the
    rows of a list whose links differ only in that one path segment.

    ``url_for`` looks the rule up and builds the whole path on every call (nearly a third of
    the time the stock page took to draw its rows); here it runs once a list.
    """
    values: dict[str, Any] = {name: _MARKER}
    head, found, tail = url_for(endpoint, **values).rpartition(str(_MARKER))
    if not found:
        raise ValueError(f"{endpoint}: {name} is not a path segment")

    def link(value: Any) -> str:
        return f"{head}{quote(str(value), safe=_SEGMENT_SAFE)}{tail}"

    return link


def register_template_helpers(app: Flask) -> None:
    """Register filters and the navigation for the signed-in role."""
    app.jinja_env.filters["dt"] = format_dt
    app.jinja_env.filters["d"] = format_date
    app.jinja_env.filters["qty"] = format_qty
    app.jinja_env.filters["serials"] = serial_ranges

    app.jinja_env.globals["url_exists"] = lambda endpoint: endpoint in app.view_functions
    app.jinja_env.globals["page_links"] = page_links
    app.jinja_env.globals["row_url"] = row_url

    @app.context_processor
    def _navigation():
        items = []
        if current_user.is_authenticated:
            for endpoint, label, roles in NAVIGATION:
                if endpoint in app.view_functions and role_allows(current_user.role, roles):
                    items.append((endpoint, label))
        return {"nav_items": items}
