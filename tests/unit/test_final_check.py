"""The final check's rule, one row per reason (SPEC 2.9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pharmacy.domain.final_check import AllocatedLot, final_check
from pharmacy.domain.scan import gs1_element_string

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
GTIN = "09501101530003"
BAD_CHECK_DIGIT = "09501101530004"
BUD_A = date(2026, 5, 1)
BUD_B = date(2026, 5, 3)
LOT_A = "CY260301-01"
LOT_B = "CY260302-01"
RX = "RX100023-0"


def _lot(lot=LOT_A, vials=2, bud=BUD_A, status="released", gtin=GTIN, bud_at=None):
    return AllocatedLot(
        lot=lot,
        vials=vials,
        status=status,
        gtin=gtin,
        bud_date=bud,
        bud_at=bud_at or datetime.combine(bud, datetime.min.time(), UTC) + timedelta(hours=16),
    )


def gs1(lot=LOT_A, bud=BUD_A, gtin=GTIN) -> str:
    return "]C1" + gs1_element_string(gtin, bud, lot)


def check(scans, lots=None, vials=3, now=NOW):
    lots = lots if lots is not None else [_lot(), _lot(LOT_B, 1, BUD_B)]
    return final_check(expected_rx=RX, lots=lots, expected_vials=vials, now=now, scans=scans)


GOOD = [RX, gs1(), gs1(), gs1(LOT_B, BUD_B)]


def test_pass_with_gs1_scans():
    result = check(GOOD)
    assert result.ok and result.reasons == ()
    assert [s.kind for s in result.scans] == ["rx", "vial", "vial", "vial"]
    assert result.vials_scanned == 3 and result.rx_scanned


def test_pass_with_plain_lot_scans_any_order_and_parenthesised_gs1():
    lots = [_lot(gtin=None), _lot(LOT_B, 1, BUD_B)]
    scans = [LOT_A.lower(), "(01)" + GTIN + "(17)260503(10)" + LOT_B, "", RX, LOT_A]
    assert check(scans, lots).ok


@pytest.mark.parametrize(
    "scans, expected",
    [
        pytest.param(
            [*GOOD[1:], "RX100023-1"],
            "scan 4 is prescription label RX100023-1, not this fill's RX100023-0",
            id="wrong-rx",
        ),
        pytest.param(
            GOOD[1:], "the prescription label RX100023-0 was not scanned", id="rx-missing"
        ),
        pytest.param(
            [RX, gs1(), gs1(), gs1("CY260399-01", BUD_B)],
            "scan 4 (lot CY260399-01): not allocated to this fill",
            id="lot-not-allocated",
        ),
        pytest.param(
            [RX, gs1(), gs1(), "CY260399-01"],
            "scan 4 (lot CY260399-01): not allocated to this fill",
            id="plain-not-allocated",
        ),
        pytest.param(
            [RX, gs1(), gs1()], "2 vials scanned, but the fill has 3 vials", id="count-short"
        ),
        pytest.param([*GOOD, gs1()], "4 vials scanned, but the fill has 3 vials", id="count-over"),
        pytest.param(
            [RX, gs1(), gs1(LOT_B, BUD_B), gs1(LOT_B, BUD_B)],
            f"lot {LOT_A}: 1 vial scanned, 2 allocated",
            id="per-lot-count",
        ),
        pytest.param(
            [RX, gs1(), gs1(), "%%%garbage"],
            "scan 4 could not be read: '%%%garbage' is not a barcode this pharmacy prints",
            id="garbage",
        ),
        pytest.param(
            [RX, gs1(), gs1(), gs1(LOT_B, BUD_B).replace(GTIN, BAD_CHECK_DIGIT)],
            "scan 4 could not be read: The GTIN 09501101530004 has a wrong check digit",
            id="gs1-bad-check-digit",
        ),
        pytest.param(
            [RX, gs1(), gs1(), gs1(LOT_B, BUD_B, "00012345600012")],
            "does not match the formulation's 09501101530003",
            id="gs1-wrong-gtin",
        ),
        pytest.param(
            [RX, gs1(), gs1(), gs1(LOT_B, date(2026, 5, 4))],
            "label date (17) 2026-05-04 does not match the batch BUD 2026-05-03",
            id="gs1-wrong-bud",
        ),
    ],
)
def test_each_failure_reason(scans, expected):
    result = check(scans)
    assert not result.ok
    assert any(expected in reason for reason in result.reasons), result.reasons


def test_past_bud():
    lots = [_lot(), _lot(LOT_B, 1, BUD_B)]
    result = check(GOOD, lots, now=datetime(2026, 5, 2, 12, tzinfo=UTC))
    assert not result.ok
    assert result.reasons == (f"scan 2 (lot {LOT_A}): past its BUD (2026-05-01)",)


def test_bud_is_an_instant():
    lot = _lot(bud_at=NOW + timedelta(minutes=1))
    assert check([RX, gs1(), gs1()], [lot], vials=2).ok
    lot = _lot(bud_at=NOW)
    assert not check([RX, gs1(), gs1()], [lot], vials=2).ok


@pytest.mark.parametrize(
    "status, words", [("recalled", "recalled"), ("rejected", "batch is rejected, not released")]
)
def test_recalled_or_not_released(status, words):
    lots = [_lot(status=status), _lot(LOT_B, 1, BUD_B)]
    result = check(GOOD, lots)
    assert not result.ok
    assert result.reasons == (f"scan 2 (lot {LOT_A}): {words}",)  # said once per lot
    assert [s.ok for s in result.scans] == [True, False, False, True]


def test_gs1_scan_of_a_lot_without_gtin():
    lots = [_lot(gtin=None), _lot(LOT_B, 1, BUD_B)]
    result = check(GOOD, lots)
    assert any("this lot's formulation has no GTIN" in r for r in result.reasons)


def test_every_reason_reported_at_once():
    result = check(["junk!", RX.replace("0", "9"), gs1("CY260399-01")])
    assert len(result.reasons) == 4
    assert result.reasons[0].startswith("scan 1 could not be read")
    assert result.reasons[1].startswith("scan 2 is prescription label RX199923-9")
    assert result.reasons[2] == "scan 3 (lot CY260399-01): not allocated to this fill"
    assert result.reasons[3] == "1 vial scanned, but the fill has 3 vials"


def test_scans_are_described_for_the_pharmacist():
    result = check(GOOD)
    assert result.scans[0].message == "Rx RX100023-0 ok"
    assert result.scans[1].message == f"vial lot {LOT_A} ok"
    assert result.scans[1].position == 2
