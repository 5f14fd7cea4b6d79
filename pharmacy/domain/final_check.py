"""The pharmacist's final check of a fill by scanning its labels (SPEC 2.9).

The pharmacist scans the prescription label and every vial. The check passes only when:

* exactly the one prescription barcode ``RX<rx>-<fill>`` of this fill was scanned (a scan of
  another fill's label, or none at all, fails);
* every vial scan is a vial label's DataMatrix (SPEC 6.2, 6.3): ``<lot>/<serial>``, or GS1
  with (21) serial, whose GTIN must be the lot's formulation's (another GTIN is another
  pharmacy's product) and whose (17) date must equal the lot's BUD date. A scan without a
  serial (a batch label, a version-1 GS1-128 vial label) does not count as a vial;
* each serial allocated to the fill is scanned exactly once: a second scan of one vial is
  ``<lot>/<serial> scanned twice``, a serial the fill does not hold is ``not allocated``, a
  serial beyond the batch's vial count is no vial at all;
* no scanned lot is past its BUD or recalled (or otherwise not released);
* the number of vial scans equals the fill's vial count.

Scans that cannot be read are reasons too, never exceptions: a check must always answer.
Pure: no clock (``now`` is passed in), no database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from pharmacy.domain.errors import ConflictError, DomainError
from pharmacy.domain.scan import RxScan, VialScan, parse_scan


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
    pharmacy_gtins: Collection[str] | None = None,
) -> CheckResult:
    """Check the scans of a fill's labels; return every reason it fails (none when it passes).

    Vials are told apart by serial (SPEC 6.3): each allocated serial must be scanned exactly
    once. A serial scanned again fails with ``<lot>/<serial> scanned twice``, a serial of this
    fill's lots that the fill does not hold with ``<lot>/<serial> not allocated to this fill``,
    and a scan without a serial (a batch label, an old GS1-128 vial label) is not a vial.

    :param expected_rx: this fill's prescription payload, ``RX<rx_number>-<fill_number>``.
    :param lots: the batches allocated to the fill, with their serials.
    :param expected_vials: the fill's vial count.
    :param now: the check's time (aware), to compare with each lot's BUD.
    :param scans: what the scanner typed, one entry per scan (blank entries are skipped).
    :param pharmacy_gtins: every GTIN this pharmacy labels with; a GS1 scan of another GTIN
        is another pharmacy's product. Default: the allocated lots' GTINs.
    """
    by_lot: Mapping[str, AllocatedLot] = {lot.lot.upper(): lot for lot in lots}
    ours = (
        frozenset(pharmacy_gtins)
        if pharmacy_gtins is not None
        else frozenset(lot.gtin for lot in lots if lot.gtin)
    )
    reasons: list[str] = []
    outcomes: list[ScanOutcome] = []
    rx_ok = False
    rx_seen = 0
    seen: set[tuple[str, int]] = set()
    matched: set[tuple[str, int]] = set()
    vial_scans = 0
    flagged_lots: set[str] = set()
    position = 0
    for raw in scans:
        if not isinstance(raw, str) or not raw.strip(" \t\r\n\x1d"):
            continue
        position += 1
        shown = _printable(raw)
        try:
            scan = parse_scan(raw, known_lots=by_lot)
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
        vial_scans += 1
        if not isinstance(scan, VialScan):
            message = (
                f"scan {position} (lot {scan.lot}) has no serial: scan the DataMatrix on each"
                " vial label, not a batch label"
            )
            reasons.append(message)
            outcomes.append(ScanOutcome(position, shown, "vial", scan.lot, False, message))
            continue
        lot_number = scan.lot.upper()
        key = (lot_number, scan.serial)
        lot = by_lot.get(lot_number)
        if scan.gtin is not None and scan.gtin not in ours:
            message = (
                f"scan {position} ({scan.name}): GTIN {scan.gtin} is not a product of this pharmacy"
            )
            reasons.append(message)
            outcomes.append(ScanOutcome(position, shown, "vial", scan.lot, False, message))
            continue
        if key in seen:
            message = f"{scan.name} scanned twice"
            reasons.append(message)
            outcomes.append(ScanOutcome(position, shown, "vial", scan.lot, False, message))
            continue
        seen.add(key)
        problems = _vial_problems(scan, lot, now)
        if problems:
            message = f"{scan.name}: " + "; ".join(problems)
            if lot_number not in flagged_lots or not _lot_level(problems):
                reasons.append(message)
            if lot is not None and _lot_level(problems):
                flagged_lots.add(lot_number)
            outcomes.append(ScanOutcome(position, shown, "vial", scan.lot, False, message))
            continue
        matched.add(key)
        outcomes.append(ScanOutcome(position, shown, "vial", scan.lot, True, f"{scan.name} ok"))
    if rx_seen == 0:
        reasons.insert(0, f"the prescription label {expected_rx} was not scanned")
    if vial_scans != expected_vials:
        reasons.append(
            f"{vial_scans} vial{'s' if vial_scans != 1 else ''} scanned, but the fill has "
            f"{expected_vials} vial{'s' if expected_vials != 1 else ''}"
        )
    missing = [
        f"{lot.lot}/{serial}"
        for lot in lots
        for serial in lot.serials
        if (lot.lot.upper(), serial) not in seen
    ]
    if missing:
        reasons.append(f"not scanned: {', '.join(missing)}")
    return CheckResult(tuple(reasons), tuple(outcomes), rx_ok, vial_scans)


_LOT_LEVEL_PREFIXES = ("past its BUD", "recalled", "batch is ")


def _lot_level(problems: Sequence[str]) -> bool:
    """Tell whether every problem is about the lot itself (said once, not per vial)."""
    return all(p.startswith(_LOT_LEVEL_PREFIXES) for p in problems)


def _vial_problems(scan: VialScan, lot: AllocatedLot | None, now: datetime) -> list[str]:
    """Return what is wrong with one vial scan against the allocated lot (empty when fine)."""
    if lot is None:
        return ["not allocated to this fill (its lot is not this fill's)"]
    if lot.batch_vials is not None and scan.serial > lot.batch_vials:
        return [f"no such vial: batch {lot.lot} has {lot.batch_vials} vials"]
    problems: list[str] = []
    if scan.serial not in lot.serials:
        problems.append("not allocated to this fill")
    if scan.gtin is not None:
        if lot.gtin is None:
            problems.append(f"GTIN {scan.gtin} scanned, but this lot's formulation has no GTIN")
        elif scan.gtin != lot.gtin:
            problems.append(f"GTIN {scan.gtin} does not match the formulation's {lot.gtin}")
    if scan.expiry is not None and scan.expiry != lot.bud_date:
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


class RecheckFailed(ConflictError):
    """A checked fill that can no longer be dispensed (SPEC 5.5); ``reasons`` say why."""

    def __init__(self, fill_id: int, reasons: Sequence[str]) -> None:
        super().__init__(
            "fill",
            f"Fill {fill_id} cannot be dispensed: "
            + "; ".join(reasons)
            + ". Void it and fill the order again.",
        )
        self.reasons = tuple(reasons)


def recheck(
    *,
    expected_rx: str,
    lots: Sequence[AllocatedLot],
    expected_vials: int,
    now: datetime,
    checked_scans: Sequence[str],
    pharmacy_gtins: Collection[str] | None = None,
    since_check: Sequence[str] = (),
) -> tuple[str, ...]:
    """Return why a checked fill can no longer be dispensed at ``now``; empty when it can.

    Dispensing re-runs the stock rules of the final check at that moment (SPEC 5.5):

    * every allocated batch is still released (not recalled, rejected or otherwise held) and
      before its BUD at ``now``;
    * the fill still holds exactly the vials the passing check scanned: the check is run
      again on its own scans with the stock rules set aside (they are reported above, once
      per batch), so a changed allocation shows as the scans no longer matching;
    * nothing happened to the fill after the passing check (``since_check``: what the caller
      found, e.g. a label reprint), each a reason of its own.

    :param lots: the batches allocated to the fill now, with their current status and BUD.
    :param checked_scans: the scans of the fill's latest, passing, final check.
    :param since_check: what happened to the fill after that check, in words.
    """
    reasons: list[str] = []
    for lot in lots:
        if lot.status == "recalled":
            reasons.append(f"batch {lot.lot} was recalled after the final check")
        elif lot.status == "rejected":
            reasons.append(f"batch {lot.lot} was rejected after the final check")
        elif lot.status != "released":
            reasons.append(f"batch {lot.lot} is {lot.status}, not released")
        if now >= lot.bud_at:
            reasons.append(f"batch {lot.lot} is past its BUD ({lot.bud_date.isoformat()})")
    steady = [replace(lot, status="released", bud_at=now + _FAR) for lot in lots]
    again = final_check(
        expected_rx=expected_rx,
        lots=steady,
        expected_vials=expected_vials,
        now=now,
        scans=checked_scans,
        pharmacy_gtins=pharmacy_gtins,
    )
    if not again.ok:
        reasons.append(
            "the fill's vials no longer match its final check (" + "; ".join(again.reasons) + ")"
        )
    reasons.extend(since_check)
    return tuple(reasons)


# "Never past its BUD", for re-running the check with the stock rules set aside.
_FAR = timedelta(days=365 * 100)
