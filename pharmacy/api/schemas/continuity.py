"""Models of the continuity endpoints (SPEC 5.4, 7.5, 7.6): renewals and the follow-up list."""

from __future__ import annotations

from typing import Literal

from pharmacy.api.schemas.base import Day, Int, Out, Strict, Text

FollowUpKind = Literal[
    "lapsed",
    "fill_overdue",
    "symptoms_worse",
    "labs_overdue",
    "renewal_requested",
    "renewal_needed",
    "fill_due",
]


class RenewalRequestIn(Strict):
    """``POST /orders/<rx>/renewal-request``: an optional note for the prescriber."""

    note: Text(2000) | None = None


class RenewIn(Strict):
    """``POST /orders/<rx>/renew``: the renewal's refills, days supply (default: the old
    order's) and note."""

    refills: Int(ge=0, le=12)
    days_supply: Int(ge=1, le=365) | None = None
    note: Text(2000) | None = None


class FollowUpQuery(Strict):
    """``GET /follow-up``: one kind of item only, and the page (positions from the links)."""

    kind: FollowUpKind | None = None
    after: Text(64) | None = None
    before: Text(64) | None = None
    limit: Int(ge=1, le=200) | None = None


class NextFillOut(Out):
    """SPEC 5.4 ``next_fill`` of an order."""

    fill_number: int | None
    due_by: Day
    allowed_from: Day | None
    status: Literal["not_yet", "due", "overdue", "none_left", "expired"]


class FollowUpPatientOut(Out):
    """The patient of an item (the phone only for pharmacy roles)."""

    id: int
    first_name: str
    last_name: str
    dob: Day


class FollowUpItemOut(Out):
    """One item of the continuity list."""

    kind: FollowUpKind
    rx_number: str
    patient: FollowUpPatientOut
    since: Day


class FollowUpListOut(Out):
    """``GET /follow-up``: a page of items, most urgent first, how many of each kind (each
    count stops at ``counts_capped_at``), and the links to the neighbouring pages."""

    items: list[FollowUpItemOut]
    counts: dict[str, int]
    counts_capped_at: int
    limit: int
    next: str | None
    prev: str | None
