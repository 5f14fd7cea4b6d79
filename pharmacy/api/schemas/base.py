"""The one door for API input (SPEC 8.1): strict models, bounded scalars, SPEC-shaped errors.

Every request model derives from :class:`Strict` and uses the bounded types below, so that a
number is checked for its length and range *before* it becomes an ``int`` or ``Decimal``
(``"1e999999"`` never reaches ``int()``), strings carry no NUL or unpaired surrogate and have
a maximum length, and ids stay within 2^31-1 (PostgreSQL's ``integer``).

:func:`validate` turns a body into a model or raises
:class:`~pharmacy.domain.errors.ValidationFailed` whose ``errors`` are keyed by JSON path
(``phases[1].count``): the API answers it with the SPEC's 422, a form shows it on its fields.

:func:`operation` records an operation's request, query and response models on the view, from
which :mod:`pharmacy.api.openapi` builds the OpenAPI 3.1 document::

    @bp.post("/batches")
    @api_roles(TECHNICIAN)
    @operation(request=BatchIn, responses={201: BatchOut}, creates=True)
    def compound_batch():
        body = parse_body(BatchIn)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from pharmacy.api.body import json_body
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.units import MAX_NUMBER_TEXT, NUMBER_PATTERN, NumberError, read_decimal
from pharmacy.idempotency import idempotent

MAX_ID = 2**31 - 1  # PostgreSQL integer; larger ids are unknown, never an overflow
DEFAULT_TEXT = 2000  # characters of free text when a field names no other limit

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every request model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Query(BaseModel):
    """Base of query-string models: unknown parameters are ignored (cache busters...)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


class Out(BaseModel):
    """Base of every response model: it documents the contract's fields and allows more."""

    model_config = ConfigDict(extra="allow")


# --------------------------------------------------------------------------- scalars


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _decimal_of(value: Any) -> Decimal:
    """Return ``value`` as a finite Decimal of bounded size (:func:`read_decimal`)."""
    try:
        return read_decimal(value)
    except NumberError as exc:
        raise _error(exc.kind, exc.message) from None


def _whole(value: Any) -> int:
    """Return a whole number from an int, an integral Decimal or a numeric string."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        return value
    number = _decimal_of(value)
    if number != number.to_integral_value():
        raise _error("int_type", "Enter a whole number.")
    return int(number)  # safe: at most 10^30 by _decimal_of


def _day(value: Any) -> date:
    """Return a date from a strict ``YYYY-MM-DD`` string in the years 1900-2999."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise _error("date_format", "Enter the date as YYYY-MM-DD.")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise _error("date_value", f"{value.strip()} is not a calendar date.") from None
    if not 1900 <= day.year <= 2999:
        raise _error("date_range", "The date must be in the years 1900 to 2999.")
    return day


def clean_text(value: Any) -> str:
    """Return ``value`` trimmed, refusing non-strings, NUL and other control characters,
    and unpaired surrogates (which neither PostgreSQL nor UTF-8 can store)."""
    if not isinstance(value, str):
        raise _error("string_type", "Enter text.")
    if _CONTROL.search(value):
        raise _error("string_control", "The text contains a control character (such as NUL).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _error("string_surrogate", "The text contains an invalid character.") from None
    return value.strip()


def Text(max_length: int = DEFAULT_TEXT, *, min_length: int = 0, **field: Any) -> Any:
    """Return a clean, trimmed string type of at most ``max_length`` characters."""
    # The constraint first, then the validator around it: it runs before the constraint.
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, **field),
        BeforeValidator(clean_text),
    ]


def TextOrList(max_length: int = DEFAULT_TEXT, *, items: int = 50, item_length: int = 200) -> Any:
    """Return a type taking free text or a list of short texts (e.g. ``allergies``)."""

    def check(value: Any) -> str | list[str]:
        # Own error kinds: pydantic's "too_long" kinds carry a context these would lack.
        if isinstance(value, list):
            if len(value) > items:
                raise _error("list_too_long", f"At most {items} entries.")
            cleaned = []
            for i, item in enumerate(value, start=1):
                if not isinstance(item, str):
                    raise _error("entry_type", f"Entry {i} is not text.")
                cleaned.append(clean_text(item))
            if any(len(v) > item_length for v in cleaned):
                raise _error("entry_too_long", f"Each entry has at most {item_length} characters.")
            return cleaned
        text = clean_text(value)
        if len(text) > max_length:
            raise _error("text_too_long", f"At most {max_length:,} characters.")
        return text

    return Annotated[
        str | list[str],
        BeforeValidator(check),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "maxLength": max_length},
                    {
                        "type": "array",
                        "maxItems": items,
                        "items": {"type": "string", "maxLength": item_length},
                    },
                ]
            }
        ),
    ]


def Int(*, ge: int | None = None, le: int | None = None, **field: Any) -> Any:
    """Return a whole-number type within ``ge..le`` (JSON number or numeric string)."""
    return Annotated[int, Field(ge=ge, le=le, **field), BeforeValidator(_whole)]


def Num(
    *,
    gt: Decimal | int | None = None,
    ge: Decimal | int | None = None,
    le: Decimal | int | None = None,
    decimal_places: int | None = None,
    **field: Any,
) -> Any:
    """Return a finite decimal type within its bounds (JSON number or numeric string)."""

    def plain(bound: Decimal | int) -> int | float:
        return int(bound) if bound == int(bound) else float(bound)

    schema: dict[str, Any] = {"type": "number"}
    if gt is not None:
        schema["exclusiveMinimum"] = plain(gt)
    if ge is not None:
        schema["minimum"] = plain(ge)
    if le is not None:
        schema["maximum"] = plain(le)
    # A JSON number, or the same number as a string of at most 40 characters.
    text = {"type": "string", "maxLength": MAX_NUMBER_TEXT, "pattern": f"^{NUMBER_PATTERN}$"}
    return Annotated[
        Decimal,
        Field(gt=gt, ge=ge, le=le, decimal_places=decimal_places, **field),
        BeforeValidator(_decimal_of),
        WithJsonSchema({"anyOf": [schema, text]}),
    ]


Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole)]
Day = Annotated[
    date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
]


# --------------------------------------------------------------------------- errors

_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "model_type": "Expected an object.",
    "dict_type": "Expected an object.",
    "list_type": "Expected a list.",
    "bool_type": "Enter true or false.",
    "bool_parsing": "Enter true or false.",
    "string_type": "Enter text.",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """Return a pydantic location as the SPEC's JSON path: ``("phases", 1, "count")`` ->
    ``phases[1].count``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    ctx = error.get("ctx") or {}
    if kind == "too_long":
        return f"At most {ctx.get('max_length')} items or characters."
    if kind == "string_too_long":
        return f"At most {ctx.get('max_length'):,} characters."
    if kind in ("string_too_short", "too_short"):
        return "This field is required." if ctx.get("min_length") == 1 else error["msg"]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return str(error["msg"]).replace("Input should be", "Must be")
    if kind == "literal_error":
        return str(error["msg"]).replace("Input should be", "Use")
    return str(error["msg"])


def errors_to_fields(exc: ValidationError) -> dict[str, str]:
    """Return ``{json_path: message}`` for a pydantic error; the first error per path wins."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        fields.setdefault(field_path(tuple(error["loc"])), _message(error))
    return fields or {"": "The body is not valid."}


class SchemaFailed(ValidationFailed):
    """A body that does not fit its schema; ``locs`` are pydantic's error locations."""

    def __init__(self, errors: dict[str, str], locs: list[tuple[int | str, ...]]) -> None:
        super().__init__(errors)
        self.locs = locs


def validate(model: type[M], data: Any, *, domain: Callable[[Any], object] | None = None) -> M:
    """Return ``data`` (a decoded JSON body or a form's values) as ``model``.

    :param domain: a pure check of the domain's rules (no writes). When the schema fails,
        it runs on ``data`` without the values the schema refused, so every error comes
        back at once (the schema's message wins for a path both name).
    :raise ValidationFailed: every field error, keyed by JSON path (the API's 422 ``fields``,
        a form's field errors).
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed({"": "The request body must be a JSON object."})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        locs = [tuple(e["loc"]) for e in exc.errors(include_url=False, include_input=False)]
        fields = errors_to_fields(exc)
    if domain is not None:
        try:
            domain(_without(data, locs))
        except ValidationFailed as more:
            for path, message in more.errors.items():
                fields.setdefault(path, message)
        except Exception:  # noqa: BLE001, S110 - the schema's errors are the answer anyway
            pass
    raise SchemaFailed(fields, locs)


def _without(data: Any, locs: list[tuple[int | str, ...]]) -> Any:
    """Return a deep copy of ``data`` without the values at ``locs`` (lists keep their length,
    a refused item becomes None)."""

    def copy(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: copy(v) for k, v in value.items()}
        if isinstance(value, list):
            return [copy(v) for v in value]
        return value

    pruned = copy(data)
    for loc in locs:
        node = pruned
        for part in loc[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if node is None or not loc:
            continue
        last = loc[-1]
        if isinstance(node, dict) and last in node:
            del node[last]
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = None
    return pruned


def parse_body(model: type[M]) -> M:
    """Return the current request's JSON body as ``model`` (400 malformed, 422 invalid)."""

    return validate(model, json_body())


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one view beyond its route and roles."""

    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, type[BaseModel] | str | None] = field(default_factory=dict)
    summary: str | None = None
    creates: bool = False  # takes an Idempotency-Key (SPEC 8.3)
    request_media: str = "application/json"
    body_required: bool = True
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


OPENAPI_ATTR = "__openapi__"


def operation(
    *,
    request: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: Mapping[int, type[BaseModel] | str | None] | None = None,
    summary: str | None = None,
    creates: bool = False,
    request_media: str = "application/json",
    body_required: bool = True,
    links: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[Callable], Callable]:
    """Record a view's request/query/response models for ``/api/v1/openapi.json``.

    Put it under the route and role decorators (``functools.wraps`` carries it up).
    ``responses`` maps a status to a response model, or to a media type string for files
    (``"application/pdf"``). ``creates`` marks a creating POST that takes an
    ``Idempotency-Key``.
    """
    spec = Operation(
        request=request,
        query=query,
        responses=dict(responses or {}),
        summary=summary,
        creates=creates,
        request_media=request_media,
        body_required=body_required,
        links=dict(links or {}),
    )

    def decorator(view: Callable) -> Callable:
        if creates:  # SPEC 8.3: a creating POST honours Idempotency-Key
            view = idempotent(view)
        setattr(view, OPENAPI_ATTR, spec)
        return view

    return decorator


def operation_of(view: Callable) -> Operation | None:
    """Return the :class:`Operation` recorded on ``view`` (or on what it wraps)."""
    seen = 0
    current: Callable | None = view
    while current is not None and seen < 10:
        spec = getattr(current, OPENAPI_ATTR, None)
        if spec is not None:
            return spec
        current = getattr(current, "__wrapped__", None)
        seen += 1
    return None
