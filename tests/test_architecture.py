"""The pure core and the label renderer never load Flask or the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, pkgutil, sys
import pharmacy.domain, labels
for package in (pharmacy.domain, labels):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules
                if m.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug")
                or m.startswith(("pharmacy.models", "pharmacy.services", "pharmacy.app")))
print(",".join(loaded))
"""


def test_domain_and_labels_import_without_flask_or_sqlalchemy():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"loaded: {result.stdout.strip()}"


def test_labels_package_imports_nothing_from_pharmacy():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "labels").rglob("*.py")
        if any(
            line.lstrip().startswith(("import pharmacy", "from pharmacy"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []


# Spelled in pieces so this file does not match itself.
CLOCK_READS = (
    "date.today" + "()",
    "datetime.now" + "(",
    "datetime.utcnow" + "(",
    "time.time" + "()",
)


def test_no_test_reads_the_real_clock():
    """Tests take "today" from tests.clock (the app's clock, moved by --today) or fix it."""
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in (ROOT / "tests").rglob("*.py")
        for needle in CLOCK_READS
        if needle in path.read_text()
    ]
    assert offenders == []
