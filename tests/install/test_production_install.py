"""A production install (``pip install .``, no extras) serves pages and renders every label.

The test copies the project (without its tests and virtualenv) to a temporary folder, builds a
fresh virtualenv there, runs ``pip install .`` with the real runtime dependencies (pip's mirror
works offline here) and then, with that interpreter only, migrates a SQLite database, loads the
demo pharmacy, fills the demo order through the JSON API and renders its labels. Test-only
packages (pypdfium2, zxing-cpp, ...) are absent from that venv, so any production import of them
fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("pyproject.toml", "wsgi.py", "pharmacy", "labels", "migrations", "templates", "static")

pytestmark = pytest.mark.install

# Run by the install's own interpreter from the copied project folder.
SCRIPT = r"""
import base64, importlib.util, re
from wsgi import app

for test_only in ("pypdfium2", "zxingcpp", "pytest", "hypothesis", "playwright"):
    assert importlib.util.find_spec(test_only) is None, f"{test_only} is installed"

client = app.test_client()

def call(method, url, user=None, token=None, **kw):
    headers = {}
    if user:
        raw = base64.b64encode(f"{user}:b12-demo-pass".encode()).decode()
        headers["Authorization"] = f"Basic {raw}"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = client.open(url, method=method, headers=headers, base_url="https://localhost", **kw)
    return response

def token(user):
    response = call("POST", "/api/v1/tokens", user=user)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]

pharmacist, technician = token("pharmacist"), token("technician")
# The demo's order waiting for verification (other demo orders are already verified).
orders = call("GET", "/api/v1/orders?status=submitted", token=pharmacist).get_json()["orders"]
waiting = next(o for o in orders if not any(a["level"] == "stop" for a in o["alerts"]))
rx = waiting["rx_number"]
# SPEC 5.2: every warning is approved with a reason.
acks = {a["code"]: "Checked with the prescriber" for a in waiting["alerts"] if a["level"] == "warning"}
response = call(
    "POST",
    f"/api/v1/orders/{rx}/verify",
    token=pharmacist,
    json={"decision": "approve", "acknowledgements": acks},
)
assert response.status_code == 200, response.get_data(as_text=True)
response = call("POST", f"/api/v1/orders/{rx}/fills", token=technician)
assert response.status_code == 201, response.get_data(as_text=True)
fill_id = response.get_json()["id"]

for path, kind in (
    (f"/api/v1/fills/{fill_id}/label.pdf", "application/pdf"),
    (f"/api/v1/fills/{fill_id}/label.zpl?reason=ZPL+printer", "text/plain"),
    (f"/api/v1/fills/{fill_id}/calendar.pdf", "application/pdf"),
):
    response = call("GET", path, token=technician)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
    assert response.mimetype.startswith(kind.split(";")[0]), (path, response.mimetype)
    body = response.get_data()
    if kind == "application/pdf":
        assert body.startswith(b"%PDF"), path
        pages = len(re.findall(rb"/Type /Page\b(?!s)", body))
        # The label PDF mixes stocks: the prescription label, then one page per vial.
        assert pages >= (2 if "label" in path else 1), (path, pages)
    else:
        assert b"^XA" in body, path

for page, status in (("/login", 200), ("/favicon.ico", 200), ("/static/css/app.css", 200)):
    response = call("GET", page)
    assert response.status_code == status, (page, response.status_code)
print("ok")
"""


def _run(args, cwd, env, timeout=600):
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_pip_install_without_extras_serves_pages_and_renders_fill_labels(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
    _run([str(python), "-m", "pip", "install", "--quiet", "."], project, env, timeout=900)

    env.update(
        PHARMACY_ENV="production",
        SECRET_KEY="install-test-secret",
        AUDIT_KEY="install-test-audit-key",
        PHARMACY_INSTANCE=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'pharmacy.sqlite3'}",
    )
    env.pop("TEST_DATABASE_URL", None)
    flask = [str(env_dir / "bin" / "flask"), "--app", "wsgi"]
    _run([*flask, "db", "upgrade"], project, env)
    assert "1 order awaiting verification" in _run([*flask, "demo", "load"], project, env)
    assert "Audit chain OK" in _run([*flask, "audit", "verify"], project, env)
    out = _run([str(python), "-c", SCRIPT], project, env)
    assert out.strip().endswith("ok"), out
