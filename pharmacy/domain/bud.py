"""Beyond-use dates (BUDs) of compounded sterile preparations under USP <797> (2023).

The BUD is the compounding date-time plus the table limit for how the preparation was made
and stored (days x 24 h; Category 1 in hours), never later than the end of the earliest
expiry of any ingredient lot used (SPEC 2.4; domain.md 1.5 and 1.7).

Sources (domain.md section 1), cited per row of :data:`BUD_LIMITS` by the short names:

* ``Phar 15.37(1)(b)`` / ``Phar 15.37(1)(c)``: Wis. Admin. Code Phar 15.37, which reproduces
  the USP <797> Category 1 and Category 2 tables (domain.md 1.2, 1.3).
* ``USP fact sheet``: USP, "USP Compounding Standards and Beyond-Use Dates" (1 Nov 2022), as
  quoted in public BUD tools (domain.md 1.3, 1.4); USP <797> Table 13 per ARL (arlok.com).
* ``brainscape``: brainscape.com flashcards "BUD dates" (domain.md 1.3, 1.4), the verbatim
  source for the Category 3 rows (no regulation text was seen for Category 3).

Date-times are aware and returned in UTC. An ingredient expiry date ends at 23:59:59 local
time in the pharmacy's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pharmacy.domain.errors import DomainError
from pharmacy.domain.lots import parse_expiry_text

CATEGORIES = (1, 2, 3)
STERILIZATION_METHODS = ("aseptic", "terminal")
STORAGES = ("room", "refrigerated", "frozen")

LIMITED_BY_USP797 = "usp797"
"""``Bud.limited_by`` when the USP <797> table, not an ingredient lot, set the BUD."""

BudKey = tuple[int, str | None, bool | None, bool | None, str]
"""(category, sterilization, sterility_tested, nonsterile_components, storage); None = any."""

# USP <797> (2023) maximum BUDs. A None in a key matches any value of that attribute: the
# table only distinguishes nonsterile starting components for aseptic, untested Category 2
# preparations, and Category 1 not at all by method. Missing combinations are refused
# (Category 1 frozen; Category 3 without a passed sterility test).
BUD_LIMITS: dict[BudKey, timedelta] = {
    # Category 1, any method: 12 h room, 24 h refrigerated, no frozen BUD.
    (1, None, None, None, "room"): timedelta(hours=12),  # Phar 15.37(1)(b); USP fact sheet
    (1, None, None, None, "refrigerated"): timedelta(hours=24),  # Phar 15.37(1)(b); fact sheet
    # Category 2, aseptic, not sterility tested, one or more nonsterile starting components.
    (2, "aseptic", False, True, "room"): timedelta(days=1),  # Phar 15.37(1)(c); USP fact sheet
    (2, "aseptic", False, True, "refrigerated"): timedelta(days=4),  # Phar 15.37(1)(c)
    (2, "aseptic", False, True, "frozen"): timedelta(days=45),  # Phar 15.37(1)(c)
    # Category 2, aseptic, not sterility tested, only sterile starting components.
    (2, "aseptic", False, False, "room"): timedelta(days=4),  # Phar 15.37(1)(c); brainscape
    (2, "aseptic", False, False, "refrigerated"): timedelta(days=10),  # Phar 15.37(1)(c)
    (2, "aseptic", False, False, "frozen"): timedelta(days=45),  # Phar 15.37(1)(c)
    # Category 2, aseptic, sterility tested and passed.
    (2, "aseptic", True, None, "room"): timedelta(days=30),  # Phar 15.37(1)(c); USP fact sheet
    (2, "aseptic", True, None, "refrigerated"): timedelta(days=45),  # USP fact sheet
    (2, "aseptic", True, None, "frozen"): timedelta(days=60),  # USP fact sheet
    # Category 2, terminally sterilized, not sterility tested.
    (2, "terminal", False, None, "room"): timedelta(days=14),  # USP fact sheet (Table 13)
    (2, "terminal", False, None, "refrigerated"): timedelta(days=28),  # USP fact sheet
    (2, "terminal", False, None, "frozen"): timedelta(days=45),  # USP fact sheet
    # Category 2, terminally sterilized, sterility tested and passed.
    (2, "terminal", True, None, "room"): timedelta(days=45),  # USP fact sheet (Table 13)
    (2, "terminal", True, None, "refrigerated"): timedelta(days=60),  # USP fact sheet
    (2, "terminal", True, None, "frozen"): timedelta(days=90),  # USP fact sheet
    # Category 3 (sterility testing required), aseptic.
    (3, "aseptic", True, None, "room"): timedelta(days=60),  # brainscape; USP fact sheet
    (3, "aseptic", True, None, "refrigerated"): timedelta(days=90),  # brainscape
    (3, "aseptic", True, None, "frozen"): timedelta(days=120),  # brainscape
    # Category 3 (sterility testing required), terminally sterilized.
    (3, "terminal", True, None, "room"): timedelta(days=90),  # brainscape; USP fact sheet
    (3, "terminal", True, None, "refrigerated"): timedelta(days=120),  # brainscape
    (3, "terminal", True, None, "frozen"): timedelta(days=180),  # brainscape
}

_STORAGE_TEXT = {
    "room": "room temperature (20-25 C)",
    "refrigerated": "refrigerated (2-8 C)",
    "frozen": "frozen (-25 to -10 C)",
}
_METHOD_TEXT = {"aseptic": "aseptically processed", "terminal": "terminally sterilized"}


@dataclass(frozen=True)
class Preparation:
    """How a preparation was compounded and is stored: the inputs of the BUD table."""

    category: int
    sterilization: str  # "aseptic" | "terminal"
    sterility_tested: bool  # True only when a sterility test was performed and passed
    nonsterile_components: bool  # any nonsterile starting component (e.g. USP powder)
    storage: str  # "room" | "refrigerated" | "frozen"


@dataclass(frozen=True)
class BudRule:
    """The USP <797> table row that applies to a preparation."""

    limit: timedelta
    description: str


@dataclass(frozen=True)
class Expiry:
    """An ingredient lot's expiry: the lot number and the last day it may be used."""

    lot: str
    on: date

    @classmethod
    def parse(cls, lot: str, text: str) -> Expiry:
        """Read an expiry given as ``YYYY-MM-DD`` or ``YYYY-MM`` (month-only = last day).

        :raise DomainError: field ``expiry``, the text is not such a date.
        """
        return cls(lot, parse_expiry_text(text))

    def end(self, tz: tzinfo) -> datetime:
        """Return the end of the expiry day (23:59:59 local time in ``tz``) in UTC."""
        return datetime.combine(self.on, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Bud:
    """A beyond-use date-time and what set it.

    ``limited_by`` is ``"usp797"`` when the table limit applies, else the lot number of the
    ingredient whose expiry came first; ``rule`` describes the table row used either way.
    """

    at: datetime
    limited_by: str
    rule: str


def bud_rule(prep: Preparation) -> BudRule:
    """Return the USP <797> table row for ``prep``.

    :raise DomainError: an unknown category, method or storage, a non-boolean flag, or an
        impossible request: Category 1 frozen (field ``storage``), Category 3 without a
        passed sterility test (field ``sterility_tested``).
    """
    _check_preparation(prep)
    if prep.category == 1 and prep.storage == "frozen":
        raise DomainError(
            "storage",
            "Category 1 preparations may not be stored frozen: USP <797> gives them a BUD "
            "only at room temperature (12 hours) or refrigerated (24 hours).",
        )
    if prep.category == 3 and not prep.sterility_tested:
        raise DomainError(
            "sterility_tested",
            "Category 3 preparations must be sterility tested (and pass); without the test, "
            "compound it as Category 2.",
        )
    values = (
        prep.category,
        prep.sterilization,
        prep.sterility_tested,
        prep.nonsterile_components,
        prep.storage,
    )
    for key, limit in BUD_LIMITS.items():
        if all(want is None or want == have for want, have in zip(key, values, strict=True)):
            return BudRule(limit, _describe(key, limit))
    raise DomainError("category", "USP <797> gives no BUD for this preparation.")


def beyond_use(
    prep: Preparation, compounded_dt: datetime, expiries: Sequence[Expiry], tz: tzinfo
) -> Bud:
    """Return the BUD: the USP <797> limit capped by the earliest ingredient expiry.

    :param compounded_dt: when compounding was done (aware).
    :param expiries: the expiry of every ingredient lot used.
    :param tz: the pharmacy's time zone, in which an expiry date ends at 23:59:59.
    :raise DomainError: no table row applies (see :func:`bud_rule`), ``compounded_dt`` is
        naive (field ``compounded_at``), or a lot had already expired when compounding was
        done (field ``ingredient_lots``).
    """
    _require_aware(compounded_dt, "compounded_at")
    rule = bud_rule(prep)
    compounded_utc = compounded_dt.astimezone(UTC)
    by_table = compounded_utc + rule.limit
    if not expiries:
        return Bud(by_table, LIMITED_BY_USP797, rule.description)
    # min() keeps the first of equal expiries, so the label names a stable lot.
    earliest = min(expiries, key=lambda expiry: expiry.end(tz))
    earliest_end = earliest.end(tz)
    if earliest_end <= compounded_utc:
        raise DomainError(
            "ingredient_lots",
            f"Ingredient lot {earliest.lot} expired on {earliest.on.isoformat()}, "
            "before this batch was compounded.",
        )
    if earliest_end < by_table:
        return Bud(earliest_end, earliest.lot, rule.description)
    return Bud(by_table, LIMITED_BY_USP797, rule.description)


def bud_covers(bud_at: datetime, dose_date: date, tz: tzinfo) -> bool:
    """Tell whether a dose on ``dose_date`` is covered by a BUD.

    A dose date is covered when it falls before the BUD's calendar date in the pharmacy's
    time zone (SPEC 2.4): a BUD of 5 March 10:00 covers doses up to 4 March.
    """
    _require_aware(bud_at, "bud")
    return dose_date < bud_at.astimezone(tz).date()


def bud_days_from(bud_at: datetime, dispense_date: date, tz: tzinfo) -> int:
    """Return how many days from ``dispense_date`` the BUD covers (the planner's ``bud_days``).

    That is the local BUD date minus the dispense date, never below 0: with SPEC 2.3's
    "N days from day s means s .. s+N-1", exactly the dates :func:`bud_covers` accepts.
    """
    _require_aware(bud_at, "bud")
    return max(0, (bud_at.astimezone(tz).date() - dispense_date).days)


def _check_preparation(prep: Preparation) -> None:
    """Refuse attribute values the table does not know, naming the field."""
    if isinstance(prep.category, bool) or prep.category not in CATEGORIES:
        raise DomainError("category", f"Category must be 1, 2 or 3, not {prep.category!r}.")
    if prep.sterilization not in STERILIZATION_METHODS:
        raise DomainError(
            "sterilization",
            f"Sterilization must be 'aseptic' or 'terminal', not {prep.sterilization!r}.",
        )
    if prep.storage not in STORAGES:
        raise DomainError(
            "storage",
            f"Storage must be 'room', 'refrigerated' or 'frozen', not {prep.storage!r}.",
        )
    for field in ("sterility_tested", "nonsterile_components"):
        if not isinstance(getattr(prep, field), bool):
            raise DomainError(field, "Must be true or false.")


def _describe(key: BudKey, limit: timedelta) -> str:
    """Describe a table row for people, e.g. for the batch record and the label audit."""
    category, method, tested, nonsterile, storage = key
    parts = [f"USP <797> Category {category}"]
    if method is not None:
        parts.append(_METHOD_TEXT[method])
    if tested is not None:
        parts.append("sterility tested and passed" if tested else "not sterility tested")
    if nonsterile is not None:
        parts.append(
            "one or more nonsterile starting components"
            if nonsterile
            else "only sterile starting components"
        )
    parts.append(_STORAGE_TEXT[storage])
    if limit < timedelta(days=1) or category == 1:
        amount = f"{int(limit.total_seconds() // 3600)} hours"
    else:
        amount = f"{limit.days} days" if limit.days != 1 else "1 day"
    return f"{', '.join(parts)}: {amount}"


def _require_aware(value: datetime, field: str) -> None:
    """Refuse a naive date-time: a BUD is an instant, so its time zone must be known."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise DomainError(field, "A date-time with a time zone is required.")
