"""Time fill allocation from a 500-vial batch with serials against the same without them.

SPEC 6.1 gives every vial a serial; a 500-vial batch must allocate as fast as before serials.
Two migrated SQLite databases each hold one released 500-vial batch and 250 verified orders of
two single-dose vials. Every order is filled through ``services.fills.allocate_fill`` (what the
API calls), so each batch goes from 500 free serials to none. In the "without" database the
serial step is switched off (no serials looked up, no ``fill_vials`` rows): that is the
allocation as it was before serials. Fills alternate between the two databases, so a busy
machine slows both alike. The bench prints the mean time of a fill for each, the ratio, and
the ratio over the last 50 fills (the slowest case for serials: 450 taken, the free ones last).

Run from the repository root: ``.venv/bin/python bench/bench_allocation.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VIALS = 500
PER_FILL = 2
WINDOW = 50
GOAL = 1.3
TWO_DAILY = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": PER_FILL}]


def _app(folder: Path):
    from pharmacy.app import create_app

    return create_app(
        {
            "TESTING": True,
            "PHARMACY_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "WTF_CSRF_ENABLED": False,
            "PHARMACY_INSTANCE": str(folder),
        }
    )


def _prepare(app) -> tuple[int, list[str]]:
    """Migrate, add the users, the batch and the orders; return the technician id and Rx."""
    from flask_migrate import upgrade

    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from tests.factories import make_user
    from tests.factories_fills import make_batch, make_formulation, make_verified_order

    with app.app_context():
        upgrade()
        with write_intent():
            make_user("prescriber", "prescriber", full_name="Dr. Maya Chen", npi="1234567893")
            technician = make_user("technician", "technician", full_name="Tom Alvarez").id
            make_batch(make_formulation(), vials=VIALS)
            orders = [
                make_verified_order(phases=TWO_DAILY).rx_number for _ in range(VIALS // PER_FILL)
            ]
        db.session.remove()
    return technician, orders


def _fill_once(app, technician_id: int, rx: str, serials: bool) -> float:
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.models import User
    from pharmacy.services import fills

    real = fills._free_serials
    if not serials:
        fills._free_serials = lambda batch, wanted: []
    try:
        with app.app_context(), write_intent():
            order = fills.get_order(rx)
            technician = db.session.get(User, technician_id)
            start = time.perf_counter()
            fill = fills.allocate_fill(order, technician, today=fills.local_today())
            elapsed = time.perf_counter() - start
            assert fill.vials == PER_FILL, fill.vials
            db.session.remove()
    finally:
        fills._free_serials = real
    return elapsed


def main() -> int:
    """Fill every order in both databases, alternating; print timings; 1 when over the goal."""
    base = Path(tempfile.mkdtemp(prefix="bench-alloc-"))
    with_dir, without_dir = base / "with", base / "without"
    with_dir.mkdir()
    without_dir.mkdir()
    os.environ["PHARMACY_INSTANCE"] = str(with_dir)
    app_with, app_without = _app(with_dir), _app(without_dir)
    tech_with, orders_with = _prepare(app_with)
    tech_without, orders_without = _prepare(app_without)
    timed_with: list[float] = []
    timed_without: list[float] = []
    for rx_with, rx_without in zip(orders_with, orders_without, strict=True):
        timed_without.append(_fill_once(app_without, tech_without, rx_without, serials=False))
        timed_with.append(_fill_once(app_with, tech_with, rx_with, serials=True))
    mean_with = statistics.mean(timed_with) * 1000
    mean_without = statistics.mean(timed_without) * 1000
    last_ratio = statistics.mean(timed_with[-WINDOW:]) / statistics.mean(timed_without[-WINDOW:])
    ratio = mean_with / mean_without
    print(
        f"allocation from a {VIALS}-vial batch, {len(timed_with)} fills of {PER_FILL} vials:"
        f" with serials {mean_with:.2f} ms a fill, without {mean_without:.2f} ms,"
        f" ratio {ratio:.2f}; last {WINDOW} fills ratio {last_ratio:.2f} (goal <= {GOAL})"
    )
    return 0 if max(ratio, last_ratio) <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
