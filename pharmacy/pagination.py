"""Read a page cursor from the query string and write the links to the neighbouring pages.

Shared by the HTML lists and the JSON API, so both page the same way: ``?before=<key>`` for
older rows, ``?after=<key>`` for newer ones, ``?limit=`` (API) for the page size.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import request, url_for

from pharmacy.domain.errors import ValidationFailed
from pharmacy.services.paging import (
    DEFAULT_LIMIT,
    MAX_KEY,
    MAX_LIMIT,
    Cursor,
    DatedCursor,
    DatedPage,
    DateKey,
    Page,
)

T = TypeVar("T")

_DIGITS = 10  # 2**31 - 1 has ten digits: longer strings are refused before int() sees them


def _key_arg(name: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if len(raw) > _DIGITS or not raw.isascii() or not raw.isdigit():
        errors[name] = f"Must be a whole number from {low} to {high}."
        return None
    value = int(raw)
    if not low <= value <= high:
        errors[name] = f"Must be a whole number from {low} to {high}."
        return None
    return value


def cursor_from_request(default_limit: int = DEFAULT_LIMIT, *, prefix: str = "") -> Cursor:
    """Return the page cursor the query string asks for.

    :param prefix: names one of several lists on a page (``?awaiting_before=``); a prefixed
        list takes no ``limit``.
    :raise ValidationFailed: a key or limit that is not a whole number in range (422, naming it).
    """
    errors: dict[str, str] = {}
    before = _key_arg(f"{prefix}before", 1, MAX_KEY, errors)
    after = _key_arg(f"{prefix}after", 0, MAX_KEY, errors)
    limit = None if prefix else _key_arg("limit", 1, MAX_LIMIT, errors)
    if before is not None and after is not None:
        errors[f"{prefix}after"] = "Give either before or after, not both."
    if errors:
        raise ValidationFailed(errors)
    return Cursor(before=before, after=after, limit=limit or default_limit)


def dated_cursor_from_request(
    default_limit: int = DEFAULT_LIMIT, *, prefix: str = ""
) -> DatedCursor:
    """Return the page cursor of a newest-first dated list (positions ``YYYY-MM-DD.<id>``).

    :param prefix: names one of several lists on a page; a prefixed list takes no ``limit``.
    :raise ValidationFailed: as :func:`position_args`.
    """
    after, before, limit = position_args(DateKey.parse, default_limit, prefix=prefix)
    return DatedCursor(before=before, after=after, limit=limit)


def page_links(
    page: Page[Any] | DatedPage[Any],
    *,
    external: bool = False,
    prefix: str = "",
    endpoint: str | None = None,
    values: dict[str, Any] | None = None,
    anchor: str | None = None,
) -> dict[str, str | None]:
    """Return ``{"next": url, "prev": url}`` for the current endpoint, keeping its filters.

    ``next`` opens the older page, ``prev`` the newer one; ``None`` where there is none.
    ``prefix`` names one of several lists on a page: the others keep their place.
    ``endpoint`` and its ``values`` name the page when a form's POST drew it again (a 422):
    the links then open that page, not the form's address. ``anchor`` ends each link with
    ``#anchor`` (a list far down its page).
    """
    before, after = f"{prefix}before", f"{prefix}after"
    args = {k: v for k, v in request.args.items() if k not in (before, after)}
    view_args = dict(values or {}) if endpoint else dict(request.view_args or {})
    endpoint = endpoint or request.endpoint or ""

    def link(name: str, key: int | DateKey) -> str:
        merged: dict[str, Any] = {**view_args, **args, name: str(key)}
        return url_for(endpoint, _external=external, _anchor=anchor, **merged)

    return {
        "next": link(before, page.older) if page.older is not None else None,
        "prev": link(after, page.newer) if page.newer is not None else None,
    }


def date_args(*names: str) -> dict[str, date | None]:
    """Return the ``YYYY-MM-DD`` query arguments ``names`` as dates (``None`` when absent).

    :raise ValidationFailed: naming each argument that is not such a date, and the end of a
        ``*_from``/``*_to`` range that comes before its start.
    """
    errors: dict[str, str] = {}
    values: dict[str, date | None] = {}
    for name in names:
        raw = request.args.get(name, "").strip()
        values[name] = None
        if not raw:
            continue
        try:
            if len(raw) != 10:
                raise ValueError(raw)
            values[name] = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "Must be a date as YYYY-MM-DD."
    for name in names:  # a range (``x_from``, ``x_to``) must not end before it starts
        end = name.removesuffix("_from") + "_to"
        first, last = values.get(name), values.get(end)
        if name.endswith("_from") and first and last and last < first:
            errors[end] = f"Must be on or after {name} ({first.isoformat()})."
    if errors:
        raise ValidationFailed(errors)
    return values


def text_arg(name: str, max_length: int = 40) -> str:
    """Return a short text filter from the query string, trimmed and bounded.

    :raise ValidationFailed: a value longer than ``max_length`` or holding control characters.
    """
    raw = request.args.get(name, "").strip()
    if len(raw) > max_length or any(ord(ch) < 32 for ch in raw):
        raise ValidationFailed({name: f"Must be at most {max_length} printable characters."})
    return raw


def position_args(
    parse: Callable[[str, str], T], default_limit: int = DEFAULT_LIMIT, *, prefix: str = ""
) -> tuple[T | None, T | None, int]:
    """Return ``(after, before, limit)`` for a list ordered by a composite position.

    ``parse(raw, name)`` reads one position (the continuity list's ``Key.parse``).

    :param prefix: names one of several lists on a page (``?lots_after=``); a prefixed list
        takes no ``limit``.
    :raise ValidationFailed: a position that is not one the list wrote, both given, or a
        limit out of range (422, naming each).
    """
    errors: dict[str, str] = {}
    found: dict[str, T | None] = {}
    after, before = f"{prefix}after", f"{prefix}before"
    for name in (after, before):
        raw = request.args.get(name, "")
        found[name] = None
        if raw:
            try:
                found[name] = parse(raw, name)
            except ValidationFailed as exc:
                errors.update(exc.errors)
    limit = None if prefix else _key_arg("limit", 1, MAX_LIMIT, errors)
    if found[after] is not None and found[before] is not None:
        errors[after] = "Give either before or after, not both."
    if errors:
        raise ValidationFailed(errors)
    return found[after], found[before], limit or default_limit


def position_links(
    next_position: str | None,
    prev_position: str | None,
    *,
    external: bool = False,
    prefix: str = "",
    anchor: str | None = None,
) -> dict[str, str | None]:
    """Return ``{"next": url, "prev": url}`` by position, keeping the current filters.

    ``prefix`` names one of several lists on a page: the others keep their place.
    ``anchor`` is the id of the element the links scroll to (the list's section).
    """
    after, before = f"{prefix}after", f"{prefix}before"
    args = {k: v for k, v in request.args.items() if k not in (before, after)}
    view_args = dict(request.view_args or {})
    endpoint = request.endpoint or ""

    def link(name: str, position: str) -> str:
        merged: dict[str, Any] = {**view_args, **args, name: position}
        return url_for(endpoint, _external=external, _anchor=anchor, **merged)

    return {
        "next": link(after, next_position) if next_position is not None else None,
        "prev": link(before, prev_position) if prev_position is not None else None,
    }
