"""Ten years of history against the demo: every page and API list, side by side (SPEC 9).

``make bench-scale`` runs this. It builds two scratch PostgreSQL databases next to the one
in ``BENCH_DATABASE_URL`` (default: the local ``test`` database's server): one with the demo
pharmacy only, one with the demo plus ``--years`` of generated history. Then it requests
every page and API list on both, alternating, ``--repeat`` times each, signed in as the
role that uses the page, and prints the median and p95 of each, their ratio, and the SQL
statements each request ran. The budgets of SPEC 9 are checked in the last column.

Then it times ``audit verify`` over the whole chain in a child process and prints its peak
memory. ``--keep`` leaves the databases in place (``--reuse`` skips rebuilding them).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

BUDGET_MS = 100.0
TRACE_BUDGET_MS = 300.0

PAGES = (
    ("pharmacist", "/home"),
    ("technician", "/home"),
    ("prescriber", "/home"),
    ("pharmacist", "/orders/"),
    ("pharmacist", "/orders/?status=verified"),
    ("pharmacist", "/orders/queue"),
    ("pharmacist", "/patients/?q=smith"),
    ("pharmacist", "/compounding/stock"),
    ("pharmacist", "/compounding/batches"),
    ("pharmacist", "/compounding/trace"),
    ("pharmacist", "/compounding/trace?batch_lot={batch_lot}"),
    ("technician", "/compounding/worklist"),
    ("pharmacist", "/fills/"),
    ("pharmacist", "/admin/audit"),
    ("pharmacist", "/orders/{rx_number}"),
    ("pharmacist", "/fills/{fill_id}"),
    ("pharmacist", "/api/v1/orders"),
    ("pharmacist", "/api/v1/orders?before={deep_order_id}"),
    ("pharmacist", "/api/v1/batches"),
    ("pharmacist", "/api/v1/ingredient-lots"),
    ("pharmacist", "/api/v1/audit"),
    ("pharmacist", "/api/v1/audit/verify"),
    ("pharmacist", "/api/v1/orders/{rx_number}"),
    ("pharmacist", "/api/v1/fills/{fill_id}"),
    ("pharmacist", "/api/v1/trace?batch_lot={batch_lot}"),
    ("pharmacist", "/api/v1/trace?ingredient_lot={busy_lot}"),
    ("pharmacist", "/api/v1/trace?ingredient_lot={busy_lot}&format=csv"),
    ("pharmacist", "/follow-up/"),
    ("pharmacist", "/api/v1/follow-up"),
    ("pharmacist", "/patients/{patient_id}"),
    ("pharmacist", "/api/v1/patients/{patient_id}/observations"),
    ("pharmacist", "/api/v1/patients/{patient_id}/symptom-reports"),
    ("pharmacist", "/api/v1/orders/{rx_number}/follow-up"),
    ("pharmacist", "/compounding/batches/{batch_lot}"),
    ("pharmacist", "/api/v1/batches/{batch_lot}"),
    ("pharmacist", "/compounding/lots/{busy_lot}"),
    ("pharmacist", "/api/v1/ingredient-lots/{busy_lot}"),
    ("pharmacist", "/formulations/"),
    ("pharmacist", "/api/v1/formulations"),
)


def _flask(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=url, PHARMACY_ENV="development")
    return subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=check,
        text=True,
        capture_output=not args or args[0] != "demo" or args[1] != "history",
    )


def _fresh_database(base_url: str, name: str) -> str:
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _build(base_url: str, years: float, reuse: bool) -> tuple[str, str]:
    names = ("b12_bench_demo", "b12_bench_history")
    urls = tuple(make_url(base_url).set(database=n).render_as_string(False) for n in names)
    if reuse:
        return urls  # type: ignore[return-value]
    demo_url = _fresh_database(base_url, names[0])
    _flask(demo_url, "db", "upgrade")
    _flask(demo_url, "demo", "load")
    history_url = _fresh_database(base_url, names[1])
    _flask(history_url, "db", "upgrade")
    started = time.perf_counter()
    _flask(history_url, "demo", "history", "--years", str(years))
    print(f"history of {years:g} years built in {time.perf_counter() - started:.0f} s\n")
    return demo_url, history_url


def _app(url: str):
    os.environ["PHARMACY_ENV"] = "development"
    from pharmacy.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "PHARMACY_ENV": "development",
            "WTF_CSRF_ENABLED": False,
        }
    )


def _targets(app) -> dict[str, str]:
    from pharmacy.extensions import db
    from pharmacy.models import (
        Batch,
        BatchComponent,
        Fill,
        FillAllocation,
        Observation,
        Order,
        Patient,
    )

    with app.app_context():
        busy_batch = db.session.execute(
            select(FillAllocation.batch_id)
            .group_by(FillAllocation.batch_id)
            .order_by(db.func.count().desc())
            .limit(1)
        ).scalar()
        batch_lot = (
            db.session.execute(select(Batch.lot_number).where(Batch.id == busy_batch)).scalar()
            or db.session.execute(select(Batch.lot_number).limit(1)).scalar()
        )
        # SPEC 9's budget row: the ingredient lot that reached nearest 2,000 fills (the
        # busiest lot of ten years reaches several times that: PAGES may use it as busiest_lot).
        reached = db.session.execute(
            select(
                BatchComponent.ingredient_lot_id,
                db.func.count(FillAllocation.fill_id.distinct()),
            )
            .join(FillAllocation, FillAllocation.batch_id == BatchComponent.batch_id)
            .group_by(BatchComponent.ingredient_lot_id)
        ).all()
        busy_lot = min(reached, key=lambda row: (abs(row[1] - 2000), row[0]), default=(None,))[0]
        busiest_lot = min(reached, key=lambda row: (-row[1], row[0]), default=(None,))[0]
        last_order = db.session.execute(select(db.func.max(Order.id))).scalar() or 1
        rx_number = db.session.execute(select(Order.rx_number).order_by(Order.id).limit(1)).scalar()
        fill_id = db.session.execute(select(db.func.min(Fill.id))).scalar()
        # The patient with the most lab results (the trend picture and its lists).
        patient_id = (
            db.session.execute(
                select(Observation.patient_id)
                .group_by(Observation.patient_id)
                .order_by(db.func.count().desc())
                .limit(1)
            ).scalar()
            or db.session.execute(select(db.func.min(Patient.id))).scalar()
        )
        return {
            "patient_id": str(patient_id),
            "batch_lot": batch_lot,
            "busy_lot": str(busy_lot),
            "busiest_lot": str(busiest_lot),
            "rx_number": rx_number,
            "fill_id": str(fill_id),
            # A page of orders half-way back through history (OFFSET used to make it slow).
            "deep_order_id": str(max(1, last_order // 2)),
        }


class _Timer:
    """Time requests to one app and count the SQL statements each runs."""

    def __init__(self, app) -> None:
        from pharmacy.extensions import db
        from tests.conftest import issue_token, login_as

        self.app = app
        self.statements = 0
        with app.app_context():
            engine = db.engine

        def count(*_args) -> None:
            self.statements += 1

        event.listen(engine, "before_cursor_execute", count)
        self.clients = {}
        for role in ("pharmacist", "technician", "prescriber"):
            client = app.test_client()
            login_as(client, role)
            client.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + issue_token(app, role)
            self.clients[role] = client
        self.targets = _targets(app)
        gc.freeze()  # as wsgi.py does once a worker has built the app

    def get(self, role: str, url: str) -> tuple[float, int, int, int]:
        """Return (milliseconds, SQL statements, status, bytes) of one request."""
        self.statements = 0
        started = time.perf_counter()
        response = self.clients[role].get(url.format(**self.targets))
        body = response.get_data()
        return (
            (time.perf_counter() - started) * 1000,
            self.statements,
            response.status_code,
            len(body),
        )


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# Runs ``audit verify --full`` as its only child and prints that child's peak memory (the
# benchmark's own children, such as the history generator, would otherwise count).
_PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(((done.stdout or done.stderr).strip().splitlines() or [''])[-1])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _verify_memory(url: str) -> str:
    """Run the full ``audit verify`` in a child and report its time and peak memory."""
    env = dict(os.environ, DATABASE_URL=url, PHARMACY_ENV="development")
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "audit", "verify", "--full"]
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, *flask],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    lines = result.stdout.strip().splitlines()
    last, peak_kb = (lines[-2], lines[-1]) if len(lines) >= 2 else (result.stderr, "0")
    peak_mb = int(peak_kb) / 1024 if peak_kb.isdigit() else 0
    return f"audit verify: {seconds:.1f} s, peak {peak_mb:.0f} MB ({last.strip()})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="use the databases already built")
    args = parser.parse_args()
    base = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
    demo_url, history_url = _build(base, args.years, args.reuse)
    demo, history = _Timer(_app(demo_url)), _Timer(_app(history_url))
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.repeat} requests each, alternating\n")
    header = (
        f"{'request':58} {'demo p50':>8} {'p95':>7} {'years p50':>9} {'p95':>7} "
        f"{'ratio':>6} {'SQL demo':>8} {'years':>6} {'KB':>6}  budget"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for role, url in PAGES:
        small: list[float] = []
        large: list[float] = []
        for _ in range(args.repeat):
            t, n_small, _, _ = demo.get(role, url)
            small.append(t)
            t, n_large, status_large, size = history.get(role, url)
            large.append(t)
        budget = TRACE_BUDGET_MS if "ingredient_lot" in url else BUDGET_MS
        p95 = _p95(large)
        worst = max(worst, p95 / budget)
        ok = "ok" if p95 <= budget and status_large == 200 else f"OVER ({status_large})"
        name = f"{role[:5]} {url}"[:58]
        print(
            f"{name:58} {statistics.median(small):8.1f} {_p95(small):7.1f} "
            f"{statistics.median(large):9.1f} {p95:7.1f} "
            f"{statistics.median(large) / max(statistics.median(small), 0.01):6.2f} "
            f"{n_small:8d} {n_large:6d} {size / 1024:6.0f}  {ok} (<= {budget:.0f} ms)"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nworst p95 / budget: {worst:.2f}; this process peaked at {rss:.0f} MB")
    print(_verify_memory(history_url))


if __name__ == "__main__":
    main()
