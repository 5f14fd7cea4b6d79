"""``flask --app wsgi`` commands: users add, demo load, audit verify, backup."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from pharmacy.database import write_intent
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.extensions import db
from pharmacy.roles import ALL_ROLES
from pharmacy.services.audit import verify_chain
from pharmacy.services.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from pharmacy.services.history import generate_history
from pharmacy.services.users import create_user


def _fail_on(exc: DomainError) -> None:
    errors = exc.errors if isinstance(exc, ValidationFailed) else {exc.field: exc.message}
    for field, message in errors.items():
        click.echo(f"error: {field}: {message}" if field else f"error: {message}", err=True)
    raise SystemExit(2)


users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ALL_ROLES))
@click.option("--password", required=True)
@click.option("--full-name", default="")
@click.option("--npi", default="")
@click.option("--clinic", default="")
@click.option("--phone", default="")
def users_add(username, role, password, full_name, npi, clinic, phone) -> None:
    """Add a user with a role."""

    with write_intent():
        try:
            user = create_user(
                {
                    "username": username,
                    "role": role,
                    "password": password,
                    "full_name": full_name,
                    "npi": npi,
                    "clinic": clinic,
                    "phone": phone,
                },
                actor=None,
            )
        except DomainError as exc:
            db.session.rollback()
            _fail_on(exc)
    click.echo(f"Added {user.role} {user.username}.")


demo_cli = AppGroup("demo", help="The demo pharmacy.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demo pharmacy (idempotent: only what is missing is added)."""

    with write_intent():
        added = load_demo()
    click.echo("Demo pharmacy: " + (", ".join(added) if added else "already loaded") + ".")
    click.echo(
        "Demo logins (password " + DEMO_PASSWORD + "): " + ", ".join(u[0] for u in DEMO_USERS)
    )


@demo_cli.command("history")
@click.option("--years", type=click.FloatRange(0.01, 30), default=10.0, show_default=True)
@click.option("--orders-per-day", type=click.IntRange(1, 2000), default=200, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
def demo_history(years: float, orders_per_day: int, seed: int) -> None:
    """Fill the database with YEARS of a busy pharmacy's history, ending now."""
    from datetime import UTC, datetime

    with write_intent():
        load_demo()
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = click.progressbar(length=total, label=f"{stage:>8}")
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    with write_intent():
        counts = generate_history(
            years,
            now=datetime.now(UTC),
            orders_per_day=orders_per_day,
            seed=seed,
            progress=progress,
        )
    click.echo("")
    click.echo("History written: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()) + ".")


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option(
    "--full",
    is_flag=True,
    help="Check the whole chain from its first event, not only what came after the last "
    "verified checkpoint.",
)
def audit_verify(full: bool) -> None:
    """Check the HMAC chain from the last verified checkpoint (or all of it with --full).

    Streams the events in chunks, so memory stays flat however long the chain; a progress
    bar shows on a terminal. Exits 1 and names the first broken event if the chain is broken.
    """

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label="Verifying", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        report = verify_chain(full=full, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    scope = "full check" if full else f"from checkpoint at event {report.from_seq}"
    if report.ok:
        click.echo(
            f"Audit chain OK: {report.checked} events checked ({scope}, "
            f"intact through event {report.through_seq})."
        )
        return
    click.echo(
        f"Audit chain BROKEN at event seq {report.broken_seq} (id {report.broken_id}): "
        f"{report.reason}. {report.checked} events before it are intact ({scope}).",
        err=True,
    )
    raise SystemExit(1)


@click.command("backup")
@with_appcontext
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
def backup(target: str) -> None:
    """Copy the database to TARGET (SQLite online backup, or pg_dump for PostgreSQL)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(url.database or ":memory:")
        dest = sqlite3.connect(target)
        with dest:
            source.backup(dest)
        dest.close()
        source.close()
        click.echo(f"Backed up SQLite database to {target}.")
        return
    if shutil.which("pg_dump") is None:
        click.echo(
            "pg_dump is not installed: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) and run again.",
            err=True,
        )
        raise SystemExit(1)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    cmd = [
        "pg_dump",
        "--format=custom",
        f"--file={target}",
        "--host",
        url.host or "localhost",
        "--port",
        str(url.port or 5432),
        "--username",
        url.username or "postgres",
        url.database or "postgres",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        click.echo(f"pg_dump failed: {result.stderr.strip()}", err=True)
        raise SystemExit(result.returncode)
    click.echo(f"Backed up PostgreSQL database {url.database} to {target} (pg_dump custom format).")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app's CLI."""
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup)
