"""Dispensing checks again (SPEC 5.5): the final check's stock rules at the moment of dispensing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pharmacy.domain.final_check import final_check, recheck
from tests.unit.test_final_check import BUD_A, LOT_A, LOT_B, NOW, RX, _lot, dm

BUD_B = BUD_A + timedelta(days=2)

# The passing check's scans: the Rx label, two vials of lot A and one of lot B.
SCANS = [RX, dm(1), dm(2), dm(1, LOT_B, BUD_B)]


def lots(status_a="released", status_b="released", serials_a=(1, 2), **changes):
    return [
        _lot(LOT_A, 2, BUD_A, status=status_a, serials=serials_a, **changes),
        _lot(LOT_B, 1, BUD_B, status=status_b),
    ]


def run(allocated, now=NOW, since=()):
    return recheck(
        expected_rx=RX,
        lots=allocated,
        expected_vials=3,
        now=now,
        checked_scans=SCANS,
        since_check=since,
    )


def test_the_scans_passed_their_check():
    assert final_check(expected_rx=RX, lots=lots(), expected_vials=3, now=NOW, scans=SCANS).ok


@pytest.mark.parametrize(
    ("case", "allocated", "now", "since", "expected"),
    [
        ("nothing changed", lots(), NOW, (), []),
        (
            "a batch recalled after the check",
            lots(status_a="recalled"),
            NOW,
            (),
            [f"batch {LOT_A} was recalled after the final check"],
        ),
        (
            "a batch rejected after the check",
            lots(status_b="rejected"),
            NOW,
            (),
            [f"batch {LOT_B} was rejected after the final check"],
        ),
        (
            "a batch back in quarantine",
            lots(status_a="quarantine"),
            NOW,
            (),
            [f"batch {LOT_A} is quarantine, not released"],
        ),
        (
            "lot A passed its BUD by the time of dispensing",
            lots(),
            NOW + timedelta(days=61),
            (),
            [f"batch {LOT_A} is past its BUD ({BUD_A.isoformat()})"],
        ),
        (
            "both lots past BUD and one recalled: every reason, once per batch",
            lots(status_b="recalled"),
            NOW + timedelta(days=90),
            (),
            [
                f"batch {LOT_A} is past its BUD ({BUD_A.isoformat()})",
                f"batch {LOT_B} was recalled after the final check",
                f"batch {LOT_B} is past its BUD ({BUD_B.isoformat()})",
            ],
        ),
        (
            "labels reprinted after the check",
            lots(),
            NOW,
            ("the labels were reprinted after the final check (torn)",),
            ["the labels were reprinted after the final check (torn)"],
        ),
    ],
)
def test_recheck_reasons(case, allocated, now, since, expected):
    assert list(run(allocated, now, since)) == expected, case


def test_vials_changed_after_the_check():
    """A fill now holding serial 3 instead of 2 no longer matches the scans that passed."""
    reasons = run(lots(serials_a=(1, 3)))
    assert len(reasons) == 1
    assert reasons[0].startswith("the fill's vials no longer match its final check")
    assert f"{LOT_A}/2" in reasons[0]
