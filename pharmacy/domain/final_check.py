"""The pharmacist's final check of a fill by scanning its labels (SPEC 2.9).

The pharmacist scans the prescription label and every vial. The check passes only when:

* exactly the one prescription barcode ``RX<rx>-<fill>`` of this fill was scanned (a scan of
  another fill's label, or none at all, fails);
* every vial scan names a lot allocated to this fill. A GS1-128 scan must also carry the
  GTIN of the lot's formulation and a (17) date equal to the lot's BUD date; a plain Code 128
  lot scan is accepted for a lot whose formulation has no GTIN, and also for one that has a
  GTIN (a batch label or an older vial label carries the bare lot);
* no scanned lot is past its BUD or recalled (or otherwise not released);
* the number of vial scans equals the fill's vial count, and per lot equals what was
  allocated from it (two vials of lot A are not one of A and one of B).

Scans that cannot be read are reasons too, never exceptions: a check must always answer.
Pure: no clock (``now`` is passed in), no database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pharmacy.domain.errors import DomainError
from pharmacy.domain.scan import Gs1Scan, LotScan, RxScan, parse_scan


@dataclass(frozen=True)
class AllocatedLot:
    """Hold what the check needs about one batch allocated to the fill.

    :param vials: how many vials of this lot were allocated to the fill.
    :param bud_at: the batch BUD (aware datetime); the lot is past BUD from that instant.
    :param bud_date: the BUD's date in the pharmacy's zone (what a GS1 (17) encodes).
    :param status: the batch status (``released``, ``recalled``, ``rejected`` ...).
    :param gtin: the formulation's GTIN, or None when it has none.
    :param serials: the serials of this lot allocated to the fill (SPEC 6.1).
    :param batch_vials: how many vials the batch was made with (serials run 1..this).
    """

    lot: str
    vials: int
    bud_at: datetime
    bud_date: date
    status: str = "released"
    gtin: str | None = None
    serials: tuple[int, ...] = ()
    batch_vials: int | None = None


@dataclass(frozen=True)
class ScanOutcome:
    """Say how one scan was read: ``kind`` is ``rx``, ``vial`` or ``unreadable``."""

    position: int  # 1-based, as the pharmacist counts scans
    text: str
    kind: str
    lot: str | None
    ok: bool
    message: str


@dataclass(frozen=True)
class CheckResult:
    """Hold the verdict: ``ok`` only when ``reasons`` is empty."""

    reasons: tuple[str, ...]
    scans: tuple[ScanOutcome, ...]
    rx_scanned: bool
    vials_scanned: int

    @property
    def ok(self) -> bool:
        """Return True when the check passed."""
        return not self.reasons


def _printable(text: str) -> str:
    """Return a scan as the pharmacist should see it (GS shown as <GS>)."""
    return text.replace("\x1d", "<GS>").strip()


def final_check(
    *,
    expected_rx: str,
    lots: Sequence[AllocatedLot],
    expected_vials: int,
    now: datetime,
    scans: Sequence[str],
) -> CheckResult:
    """Check the scans of a fill's labels; return every reason it fails (none when it passes).

    :param expected_rx: this fill's prescription payload, ``RX<rx_number>-<fill_number>``.
    :param lots: the batches allocated to the fill.
    :param expected_vials: the fill's vial count.
    :param now: the check's time (aware), to compare with each lot's BUD.
    :param scans: what the scanner typed, one entry per scan (blank entries are skipped).
    """
    by_lot: Mapping[str, AllocatedLot] = {lot.lot.upper(): lot for lot in lots}
    reasons: list[str] = []
    outcomes: list[ScanOutcome] = []
    rx_ok = False
    rx_seen = 0
    vial_counts: Counter[str] = Counter()
    flagged_lots: set[str] = set()
    position = 0
    for raw in scans:
        if not isinstance(raw, str) or not raw.strip(" \t\r\n\x1d"):
            continue
        position += 1
        shown = _printable(raw)
        try:
            scan = parse_scan(raw)
        except DomainError as exc:
            message = f"scan {position} could not be read: {exc.message}"
            reasons.append(message)
            outcomes.append(ScanOutcome(position, shown, "unreadable", None, False, message))
            continue
        if isinstance(scan, RxScan):
            rx_seen += 1
            payload = f"RX{scan.rx_number}-{scan.fill_number}"
            if payload == expected_rx:
                rx_ok = True
                outcomes.append(ScanOutcome(position, shown, "rx", None, True, f"Rx {payload} ok"))
            else:
                message = (
                    f"scan {position} is prescription label {payload}, not this fill's "
                    f"{expected_rx}"
                )
                reasons.append(message)
                outcomes.append(ScanOutcome(position, shown, "rx", None, False, message))
            continue
        lot_number = scan.lot.upper()
        problems = _vial_problems(scan, by_lot.get(lot_number), now)
        vial_counts[lot_number] += 1
        if problems:
            message = f"scan {position} (lot {scan.lot}): " + "; ".join(problems)
            if lot_number not in flagged_lots or not _lot_level(problems):
                reasons.append(message)
            flagged_lots.add(lot_number)
            outcomes.append(ScanOutcome(position, shown, "vial", scan.lot, False, message))
        else:
            outcomes.append(
                ScanOutcome(position, shown, "vial", scan.lot, True, f"vial lot {scan.lot} ok")
            )
    if rx_seen == 0:
        reasons.insert(0, f"the prescription label {expected_rx} was not scanned")
    scanned = sum(vial_counts.values())
    if scanned != expected_vials:
        reasons.append(
            f"{scanned} vial{'s' if scanned != 1 else ''} scanned, but the fill has "
            f"{expected_vials} vial{'s' if expected_vials != 1 else ''}"
        )
    else:
        for lot in lots:
            got = vial_counts.get(lot.lot.upper(), 0)
            if got != lot.vials:
                reasons.append(
                    f"lot {lot.lot}: {got} vial{'s' if got != 1 else ''} scanned, "
                    f"{lot.vials} allocated"
                )
    return CheckResult(tuple(reasons), tuple(outcomes), rx_ok, scanned)


_LOT_LEVEL_PREFIXES = ("not allocated", "past its BUD", "recalled", "batch is ")


def _lot_level(problems: Sequence[str]) -> bool:
    """Tell whether every problem is about the lot itself (said once, not per vial)."""
    return all(p.startswith(_LOT_LEVEL_PREFIXES) for p in problems)


def _vial_problems(scan: Gs1Scan | LotScan, lot: AllocatedLot | None, now: datetime) -> list[str]:
    """Return what is wrong with one vial scan against the allocated lot (empty when fine)."""
    if lot is None:
        return ["not allocated to this fill"]
    problems: list[str] = []
    if isinstance(scan, Gs1Scan):
        if lot.gtin is None:
            problems.append(f"GTIN {scan.gtin} scanned, but this lot's formulation has no GTIN")
        elif scan.gtin != lot.gtin:
            problems.append(f"GTIN {scan.gtin} does not match the formulation's {lot.gtin}")
        if scan.expiry != lot.bud_date:
            problems.append(
                f"label date (17) {scan.expiry.isoformat()} does not match the batch BUD "
                f"{lot.bud_date.isoformat()}"
            )
    if lot.status == "recalled":
        problems.append("recalled")
    elif lot.status != "released":
        problems.append(f"batch is {lot.status}, not released")
    if now >= lot.bud_at:
        problems.append(f"past its BUD ({lot.bud_date.isoformat()})")
    return problems
