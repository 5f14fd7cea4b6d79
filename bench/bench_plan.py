"""Time ``plan_options`` on a five-year regimen against regimen expansion alone.

Run from the repo root: ``.venv/bin/python bench/bench_plan.py``. The ratio to a
baseline measured in the same run (expanding the same regimen) keeps results comparable
across machines.
"""

from __future__ import annotations

import sys
import timeit
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

# Runnable as a plain script: put the repo root (this file's parent's parent) on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pharmacy.domain.regimen import PRESETS, expand_regimen
from pharmacy.domain.vials import PlanRequest, VialSpec, plan_options, plan_vials

FILLS = 20
DAYS_SUPPLY = 91  # 20 fills x 91 days = 1,820 days, about five years
OPTIONS = (
    VialSpec(Decimal(1), "single-dose"),
    VialSpec(Decimal(2), "multiple-dose"),
    VialSpec(Decimal(5), "multiple-dose"),
    VialSpec(Decimal(10), "multiple-dose"),
    VialSpec(Decimal(30), "multiple-dose"),
)


def best_ms(func, repeat: int = 3) -> float:
    """Return the best per-call time of ``func`` in milliseconds (autoranged loop count)."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1000


def main() -> None:
    """Print per-plan times and their ratio to the regimen expansion baseline."""
    regimen = PRESETS["high-dose"][1]  # 1,000 mcg daily x7, weekly x4, then monthly
    request = PlanRequest(
        regimen=regimen,
        start_date=date(2026, 12, 1),
        concentration_mcg_per_ml=Decimal(1000),
        vial=OPTIONS[3],
        days_supply=DAYS_SUPPLY,
        fills=FILLS,
    )
    until = request.start_date + timedelta(days=FILLS * DAYS_SUPPLY)
    doses = len(expand_regimen(regimen, request.start_date, until))

    baseline = best_ms(lambda: expand_regimen(regimen, request.start_date, until))
    one = best_ms(lambda: plan_vials(request))
    options = best_ms(lambda: plan_options(request, OPTIONS))

    print(f"regimen: {doses} doses over {FILLS * DAYS_SUPPLY} days")
    print(f"expand_regimen (baseline): {baseline:.3f} ms/expansion")
    print(
        f"plan_vials (10 mL, {FILLS} fills): {one:.2f} ms/plan; {one / baseline:.1f}x"
        " the regimen expansion alone"
    )
    print(
        f"plan_options ({len(OPTIONS)} options, {FILLS} fills): {options:.2f} ms/plan;"
        f" {options / baseline:.1f}x the regimen expansion alone"
    )


if __name__ == "__main__":
    main()
