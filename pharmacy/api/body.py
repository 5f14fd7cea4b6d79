"""Read request bodies within bounds, before any conversion (SPEC 8.1).

:func:`loads_bounded` decodes a body, refusing in time linear in its length

* nesting deeper than :data:`MAX_DEPTH` (counted on the text, before the recursive decoder
  runs: 2,000-deep JSON used to raise ``RecursionError``),
* ``NaN``/``Infinity`` and any number longer than :data:`MAX_NUMBER_TEXT` characters (a
  10,000-digit number is never converted),
* strings with NUL or an unpaired surrogate (PostgreSQL and UTF-8 cannot store them).

JSON numbers become ``int`` (short ones) or :class:`~decimal.Decimal` (never ``float``, so
``0.1`` stays 0.1); a Decimal's exponent is kept, so ``1e999999`` costs nothing until a
schema checks its range (:mod:`pharmacy.api.schemas.base`).

The API blueprint decodes every body with it before a view runs (:func:`read_api_body`,
which caches the result for ``request.get_json``), so a body that is not bounded JSON gets the
SPEC's 400/422 whatever the view; bodies over 1 MiB get 413 (:func:`install`).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from itertools import accumulate
from typing import Any

from flask import Flask, request

from pharmacy.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NUMBER_TEXT = 40

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = str.maketrans({"[": "1", "{": "1", "]": "0", "}": "0"})


class BodyError(ValueError):
    """A body that is not bounded JSON; ``status`` is 400 (malformed) or 422 (bad value)."""

    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def json_depth(text: str) -> int:
    """Return how deeply ``text``'s arrays and objects nest, ignoring brackets in strings."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    steps = (1 if c == "1" else -1 for c in brackets.translate(_DEPTH_STEP))
    return max(accumulate(steps))


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_TEXT:
        raise BodyError(422, f"A number in the body is longer than {MAX_NUMBER_TEXT} characters.")
    return int(text)


def _decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_TEXT:
        raise BodyError(422, f"A number in the body is longer than {MAX_NUMBER_TEXT} characters.")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the decoder only passes valid numbers
        raise BodyError(400, "The body holds a malformed number.") from None


def _constant(name: str) -> Any:
    raise BodyError(422, f"{name} is not a number the API accepts.")


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "The text contains a NUL character."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "The text contains an unpaired surrogate (invalid UTF-16)."
    return None


def _check_strings(text: str, data: Any) -> None:
    """Refuse NUL and unpaired surrogates anywhere in the decoded strings (keys too).

    Only bodies whose text holds a ``\\u`` escape can carry them, so most bodies skip the walk.
    """
    if "\\u" not in text:
        return
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                raise BodyError(422, problem, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _bad_text(key)
                if problem:
                    raise BodyError(422, problem, path)
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))


def loads_bounded(raw: str | bytes) -> Any:
    """Decode ``raw`` as bounded JSON.

    :raise BodyError: not UTF-8 or not JSON (400), too deep (400), or a value no field may
        hold: a NaN, an infinity, an over-long number, NUL, an unpaired surrogate (422).
    """
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BodyError(400, "The body is not UTF-8.") from None
    else:
        text = raw
    if json_depth(text) > MAX_DEPTH:
        raise BodyError(400, f"The JSON nests deeper than {MAX_DEPTH} levels.")
    try:
        data = json.loads(text, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except BodyError:
        raise
    except (ValueError, RecursionError):
        raise BodyError(400, "The request body is not valid JSON.") from None
    _check_strings(text, data)
    return data


def read_api_body() -> tuple[Any, BodyError | None]:
    """Decode the current API request's body once; cache it for ``request.get_json``."""
    raw = request.get_data(cache=True)
    if not raw:
        return None, None
    try:
        data = loads_bounded(raw)
    except BodyError as exc:
        return None, exc
    request._cached_json = (data, data)  # what get_json(silent=...) returns from now on
    return data, None


def install(app: Flask) -> None:
    """Bound every request's body to 1 MiB (413 beyond)."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or raise a 400/422 ApiError."""
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise ApiError(400, "The request body is not valid JSON.", code="malformed_json")
    if not isinstance(data, dict):
        raise ApiError(
            422, "The request body must be a JSON object.", fields={"": "Expected an object."}
        )
    return data
