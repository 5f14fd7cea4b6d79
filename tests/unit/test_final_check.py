"""The final check's rule, one row per reason (SPEC 2.9, 6.3: vials counted by serial)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from labels.gs1 import GS
from pharmacy.domain.final_check import AllocatedLot, final_check
from pharmacy.domain.scan import gs1_element_string

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
GTIN = "09501101530003"
OTHER_GTIN = "00012345600012"  # another pharmacy's product (valid check digit)
BAD_CHECK_DIGIT = "09501101530004"
BUD_A = date(2026, 5, 1)
BUD_B = date(2026, 5, 3)
LOT_A = "CY260301-01"
LOT_B = "CY260302-01"
RX = "RX100023-0"


def _lot(
    lot=LOT_A,
    vials=2,
    bud=BUD_A,
    status="released",
    gtin=GTIN,
    bud_at=None,
    serials=None,
    batch_vials=20,
):
    return AllocatedLot(
        lot=lot,
        vials=vials,
        status=status,
        gtin=gtin,
        bud_date=bud,
        bud_at=bud_at or datetime.combine(bud, datetime.min.time(), UTC) + timedelta(hours=16),
        serials=tuple(serials if serials is not None else range(1, vials + 1)),
        batch_vials=batch_vials,
    )


def dm(serial, lot=LOT_A, bud=BUD_A, gtin=GTIN) -> str:
    """Return what a 2D scanner sends for a vial's GS1 DataMatrix."""
    return "]d2" + gs1_element_string(gtin, bud, lot) + GS + f"21{serial}"


def gs1(lot=LOT_A, bud=BUD_A, gtin=GTIN) -> str:
    """Return a GS1-128 scan without serial (a batch label, a version-1 vial label)."""
    return "]C1" + gs1_element_string(gtin, bud, lot)


def check(scans, lots=None, vials=3, now=NOW, gtins=None):
    lots = lots if lots is not None else [_lot(), _lot(LOT_B, 1, BUD_B)]
    return final_check(
        expected_rx=RX,
        lots=lots,
        expected_vials=vials,
        now=now,
        scans=scans,
        pharmacy_gtins=gtins,
    )


GOOD = [RX, dm(1), dm(2), dm(1, LOT_B, BUD_B)]


def test_pass_with_datamatrix_scans():
    result = check(GOOD)
    assert result.ok and result.reasons == ()
    assert [s.kind for s in result.scans] == ["rx", "vial", "vial", "vial"]
    assert result.vials_scanned == 3 and result.rx_scanned


def test_pass_with_plain_serial_scans_any_order_and_parenthesised_gs1():
    lots = [_lot(gtin=None), _lot(LOT_B, 1, BUD_B)]
    scans = [f"{LOT_A.lower()}/2", f"(01){GTIN}(17)260503(10){LOT_B}(21)1", "", RX, f"{LOT_A}/1"]
    assert check(scans, lots).ok


def test_one_vial_scanned_twice_fails_with_its_serial():
    result = check([RX, dm(1), dm(1), dm(1, LOT_B, BUD_B)])
    assert not result.ok
    assert f"{LOT_A}/1 scanned twice" in result.reasons
    assert f"not scanned: {LOT_A}/2" in result.reasons
    assert [s.ok for s in result.scans] == [True, True, False, True]


def test_a_serial_of_another_fill_is_not_allocated():
    lots = [_lot(serials=[3, 4]), _lot(LOT_B, 1, BUD_B, serials=[5])]
    result = check([RX, dm(3), dm(1), dm(5, LOT_B, BUD_B)], lots)
    assert not result.ok
    assert f"{LOT_A}/1: not allocated to this fill" in result.reasons
    assert f"not scanned: {LOT_A}/4" in result.reasons


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
            [RX, dm(1), dm(2), dm(1, "CY260399-01", BUD_B)],
            "CY260399-01/1: not allocated to this fill (its lot is not this fill's)",
            id="lot-not-allocated",
        ),
        pytest.param(
            [RX, dm(1), dm(2), "CY260399-01/1"],
            "CY260399-01/1: not allocated to this fill",
            id="plain-not-allocated",
        ),
        pytest.param(
            [RX, dm(1), dm(2), gs1(LOT_B, BUD_B)],
            f"scan 4 (lot {LOT_B}) has no serial",
            id="batch-label-without-serial",
        ),
        pytest.param(
            [RX, dm(1), dm(2), LOT_B],
            f"scan 4 (lot {LOT_B}) has no serial",
            id="plain-lot-without-serial",
        ),
        pytest.param(
            [RX, dm(1), dm(2)], "2 vials scanned, but the fill has 3 vials", id="count-short"
        ),
        pytest.param([RX, dm(1), dm(2)], f"not scanned: {LOT_B}/1", id="missing-serial-named"),
        pytest.param([*GOOD, dm(3)], f"{LOT_A}/3: not allocated to this fill", id="count-over"),
        pytest.param(
            [RX, dm(1), dm(2), dm(21, LOT_B, BUD_B)],
            f"{LOT_B}/21: no such vial: batch {LOT_B} has 20 vials",
            id="serial-beyond-batch",
        ),
        pytest.param(
            [RX, dm(1), dm(2), "%%%garbage"],
            "scan 4 could not be read: '%%%garbage' is not a barcode this pharmacy prints",
            id="garbage",
        ),
        pytest.param(
            [RX, dm(1), dm(2), dm(1, LOT_B, BUD_B).replace(GTIN, BAD_CHECK_DIGIT)],
            "scan 4 could not be read: The GTIN 09501101530004 has a wrong check digit",
            id="gs1-bad-check-digit",
        ),
        pytest.param(
            [RX, dm(1), dm(2), dm(1, LOT_B, BUD_B)[:20]],
            "scan 4 could not be read: The GS1 data ends inside an application identifier",
            id="gs1-truncated-in-ai",
        ),
        pytest.param(
            [RX, dm(1), dm(2), dm(1, LOT_B, BUD_B)[:23]],
            "scan 4 could not be read: GS1 (17) expiry date needs 6 digits, got '26' (the scan",
            id="gs1-truncated-in-date",
        ),
        pytest.param(
            [RX, dm(1), dm(2), dm(1, LOT_B, BUD_B, OTHER_GTIN)],
            f"scan 4 ({LOT_B}/1): GTIN {OTHER_GTIN} is not a product of this pharmacy",
            id="another-pharmacys-gtin",
        ),
        pytest.param(
            [RX, dm(1), dm(2), dm(1, LOT_B, date(2026, 5, 4))],
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
    assert result.reasons == (f"{LOT_A}/1: past its BUD (2026-05-01)",)


def test_bud_is_an_instant():
    lot = _lot(bud_at=NOW + timedelta(minutes=1))
    assert check([RX, dm(1), dm(2)], [lot], vials=2).ok
    lot = _lot(bud_at=NOW)
    assert not check([RX, dm(1), dm(2)], [lot], vials=2).ok


@pytest.mark.parametrize(
    "status, words", [("recalled", "recalled"), ("rejected", "batch is rejected, not released")]
)
def test_recalled_or_not_released(status, words):
    lots = [_lot(status=status), _lot(LOT_B, 1, BUD_B)]
    result = check(GOOD, lots)
    assert not result.ok
    assert result.reasons == (f"{LOT_A}/1: {words}",)  # said once per lot
    assert [s.ok for s in result.scans] == [True, False, False, True]


def test_gtin_of_a_formulation_that_has_none():
    lots = [_lot(gtin=None), _lot(LOT_B, 1, BUD_B)]
    result = check(GOOD, lots, gtins={GTIN})
    assert any("this lot's formulation has no GTIN" in r for r in result.reasons)


def test_another_of_our_gtins_on_the_wrong_lot():
    result = check([RX, dm(1), dm(2), dm(1, LOT_B, BUD_B, OTHER_GTIN)], gtins={GTIN, OTHER_GTIN})
    assert any("does not match the formulation's 09501101530003" in r for r in result.reasons)


def test_every_reason_reported_at_once():
    result = check(["junk!", RX.replace("0", "9"), dm(1, "CY260399-01")])
    assert result.reasons[0].startswith("scan 1 could not be read")
    assert result.reasons[1].startswith("scan 2 is prescription label RX199923-9")
    assert (
        result.reasons[2]
        == "CY260399-01/1: not allocated to this fill (its lot is not this fill's)"
    )
    assert result.reasons[3] == "1 vial scanned, but the fill has 3 vials"
    assert result.reasons[4] == f"not scanned: {LOT_A}/1, {LOT_A}/2, {LOT_B}/1"
    assert len(result.reasons) == 5


def test_scans_are_described_for_the_pharmacist():
    result = check(GOOD)
    assert result.scans[0].message == "Rx RX100023-0 ok"
    assert result.scans[1].message == f"{LOT_A}/1 ok"
    assert result.scans[1].position == 2
