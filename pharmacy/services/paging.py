"""Keyset pagination: every list reads one page by its key, never by OFFSET or a count.

A page is read newest first by an integer key (the row id, or the audit sequence).
``before=<key>`` reads the page of older rows, ``after=<key>`` the page of newer ones. Each
read asks for one row more than it shows, so whether a further page exists is known without
counting the table (counting six million audit rows to show fifty cost most of a request).
Lists ordered by a date, oldest first (the work lists), page by a :class:`DateKey`; so do a
patient's records ordered by the date they describe, newest first (:func:`read_dated_page`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, literal, tuple_

from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_KEY = 2**31 - 1
_DATE_KEY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{1,10}")


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (newer than) or before (older than) a key, and its size."""

    before: int | None = None
    after: int | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, newest first, and the keys that open its neighbours.

    ``older`` is the ``before=`` key of the next (older) page, ``newer`` the ``after=`` key of
    the previous (newer) page; ``None`` when there is no such page.
    """

    items: list[T]
    older: int | None
    newer: int | None
    limit: int


def read_page(
    stmt: Select[Any],
    key_column: Any,
    cursor: Cursor,
    *,
    key: Callable[[Any], int] = lambda row: row.id,
    scalars: bool = True,
) -> Page[Any]:
    """Run ``stmt`` for one page ordered by ``key_column`` descending.

    :param stmt: the filtered query, without ORDER BY, LIMIT or OFFSET.
    :param key_column: the indexed integer column the list is ordered by.
    :param key: reads that key back from a row.
    """
    limit = cursor.limit
    if cursor.after is not None:
        query = stmt.where(key_column > cursor.after).order_by(key_column.asc()).limit(limit + 1)
        rows = _run(query, scalars)
        more_newer = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        # We came from an older page, so older rows exist past the last one shown.
        older = key(rows[-1]) if rows else cursor.after + 1
        return Page(rows, older, key(rows[0]) if more_newer and rows else None, limit)
    query = stmt
    if cursor.before is not None:
        query = query.where(key_column < cursor.before)
    rows = _run(query.order_by(key_column.desc()).limit(limit + 1), scalars)
    more_older = len(rows) > limit
    rows = rows[:limit]
    older_key = key(rows[-1]) if more_older else None
    newer = key(rows[0]) if cursor.before is not None and rows else None
    if cursor.before is not None and not rows:
        newer = cursor.before - 1
    return Page(rows, older_key, newer, limit)


def _run(query: Select[Any], scalars: bool) -> list[Any]:
    result = db.session.execute(query)
    return list(result.scalars() if scalars else result)


@dataclass(frozen=True, order=True)
class DateKey:
    """A keyset position in a list ordered by a date, then the row id (oldest date first).

    Written in links as ``YYYY-MM-DD.<id>``; comparisons follow the list's order.
    """

    on: date
    id: int

    def __str__(self) -> str:
        return f"{self.on.isoformat()}.{self.id}"

    @classmethod
    def parse(cls, raw: str, name: str) -> DateKey:
        """Read a key from the query string argument ``name``.

        :raise ValidationFailed: not a key written as above (422, naming the argument).
        """
        if _DATE_KEY.fullmatch(raw.strip()):
            day, _, ident = raw.strip().partition(".")
            try:
                if int(ident) <= MAX_KEY:
                    return cls(date.fromisoformat(day), int(ident))
            except ValueError:
                pass
        raise ValidationFailed({name: "Must be a list position from a next or prev link."})

    def successor_bound(self) -> DateKey:
        """Return the smallest key above this one: ``before`` it includes this row."""
        return DateKey(self.on, self.id + 1)

    def predecessor_bound(self) -> DateKey:
        """Return the largest key below this one: ``after`` it includes this row."""
        return DateKey(self.on, self.id - 1)


_MOMENT_KEY = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?)Z\.([0-9]{1,10})"
)


@dataclass(frozen=True, order=True)
class MomentKey:
    """A keyset position in a list ordered by a UTC timestamp, then the row id (a batch's BUD).

    Written in links as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z.<id>``, to the microsecond the column
    holds, so no row is skipped or shown twice at a page boundary.
    """

    at: datetime
    id: int

    def __str__(self) -> str:
        moment = self.at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="auto")
        return f"{moment}Z.{self.id}"

    @classmethod
    def parse(cls, raw: str, name: str) -> MomentKey:
        """Read a key from the query string argument ``name``.

        :raise ValidationFailed: not a key written as above (422, naming the argument).
        """
        found = _MOMENT_KEY.fullmatch(raw.strip())
        if found and int(found.group(2)) <= MAX_KEY:
            try:
                at = datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC)
            except ValueError:
                pass
            else:
                return cls(at, int(found.group(2)))
        raise ValidationFailed({name: "Must be a list position from a next or prev link."})

    def successor_bound(self) -> MomentKey:
        """Return the smallest key above this one: ``before`` it includes this row."""
        return MomentKey(self.at, self.id + 1)

    def predecessor_bound(self) -> MomentKey:
        """Return the largest key below this one: ``after`` it includes this row."""
        return MomentKey(self.at, self.id - 1)


K = TypeVar("K", DateKey, MomentKey)


@dataclass(frozen=True)
class DatedCursor:
    """Where a page of a newest-first dated list starts: before (older than) or after (newer
    than) a position, and its size."""

    before: DateKey | None = None
    after: DateKey | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class DatedPage(Generic[T]):
    """One page of a list ordered by a date then the row id, newest first.

    ``older`` is the ``before=`` position of the next (older) page, ``newer`` the ``after=``
    position of the previous (newer) page; ``None`` when there is no such page.
    """

    items: list[T]
    older: DateKey | None
    newer: DateKey | None
    limit: int


def read_dated_page(
    stmt: Select[Any],
    date_column: Any,
    id_column: Any,
    cursor: DatedCursor,
    *,
    key: Callable[[Any], DateKey],
) -> DatedPage[Any]:
    """Run ``stmt`` for one page ordered by ``date_column``, then ``id_column``, newest first.

    A lab result entered late for an old date takes its place by that date, which an id
    order would not give. One statement, reading one row more than it shows.

    :param stmt: the filtered query of whole rows, without ORDER BY or LIMIT.
    :param key: reads a row's position back from it.
    """
    position = tuple_(date_column, id_column)
    limit = cursor.limit
    if cursor.after is not None:
        after = cursor.after
        query = (
            stmt.where(position > tuple_(after.on, after.id))
            .order_by(date_column.asc(), id_column.asc())
            .limit(limit + 1)
        )
        rows = list(db.session.execute(query).scalars())
        more_newer = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        # We came from an older page, so older rows exist past the last one shown.
        older = key(rows[-1]) if rows else _bound(after, after.successor_bound())
        return DatedPage(rows, older, key(rows[0]) if more_newer and rows else None, limit)
    query = stmt
    if cursor.before is not None:
        query = query.where(position < tuple_(cursor.before.on, cursor.before.id))
    query = query.order_by(date_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list(db.session.execute(query).scalars())
    more_older = len(rows) > limit
    rows = rows[:limit]
    newer = None
    if cursor.before is not None:
        newer = key(rows[0]) if rows else _bound(cursor.before, cursor.before.predecessor_bound())
    return DatedPage(rows, key(rows[-1]) if more_older else None, newer, limit)


def _bound(given: K, bound: K) -> K:
    """Return ``bound`` when a link can carry it (ids run 0..MAX_KEY), else ``given``."""
    return bound if 0 <= bound.id <= MAX_KEY else given


@dataclass(frozen=True)
class Stretch(Generic[T, K]):
    """One page of a list read in its own order (a date or time, then the row id) from the
    start: ``next`` is the ``after=`` position of the following page, ``prev`` the ``before=``
    position of the preceding one; ``None`` when there is no such page."""

    items: list[T]
    next: K | None
    prev: K | None


def read_stretch(
    stmt: Select[Any],
    order_column: Any,
    id_column: Any,
    *,
    after: K | None,
    before: K | None,
    limit: int,
    key: Callable[[Any], K],
    scalars: bool = True,
) -> Stretch[Any, K]:
    """Run ``stmt`` for one page ordered by ``order_column``, then ``id_column``, first first.

    One statement reading one row more than it shows. Reading back (``before``) it reads
    the rows before the position last first and turns them round.

    :param stmt: the filtered query, without ORDER BY or LIMIT: of whole rows, or of the
        columns a page shows (``scalars=False``, rows come back as they are).
    :param key: reads a row's position back from it (a :class:`DateKey` or :class:`MomentKey`).
    """
    position = tuple_(order_column, id_column)

    def bound(given: K) -> Any:
        at = given.at if isinstance(given, MomentKey) else given.on
        return tuple_(literal(at, order_column.type), literal(given.id, id_column.type))

    if before is not None:
        query = stmt.where(position < bound(before)).order_by(order_column.desc(), id_column.desc())
        rows = _run(query.limit(limit + 1), scalars)
        more = len(rows) > limit
        rows = rows[:limit]
        rows.reverse()
        # We came from a later page, so later rows exist from the position on.
        onward = key(rows[-1]) if rows else _bound(before, before.predecessor_bound())
        return Stretch(rows, onward, key(rows[0]) if more else None)
    query = stmt
    if after is not None:
        query = query.where(position > bound(after))
    query = query.order_by(order_column.asc(), id_column.asc()).limit(limit + 1)
    rows = _run(query, scalars)
    more = len(rows) > limit
    rows = rows[:limit]
    back = None
    if after is not None:
        back = key(rows[0]) if rows else _bound(after, after.successor_bound())
    return Stretch(rows, key(rows[-1]) if more else None, back)
