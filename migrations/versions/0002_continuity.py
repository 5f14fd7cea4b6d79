"""Continuity: stored next-fill state, expiry and renewals on orders (SPEC 5.4, 7.5-7.7)

Revision ID: v2_continuity
Revises: v2_vial_serials

Existing orders get ``expires_on`` = the day they were submitted + 365 days, and every
verified order's next-fill state is computed once here with the domain core from its
live fills, so the work lists see version-1 orders right after the upgrade.
"""

from datetime import UTC, date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "v2_continuity"
down_revision = "v2_vial_serials"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pharmacy_settings") as batch:
        batch.add_column(
            sa.Column("rx_valid_days", sa.Integer(), server_default="365", nullable=False)
        )
        batch.add_column(
            sa.Column("lapse_grace_days", sa.Integer(), server_default="7", nullable=False)
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_fill_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("next_fill_allowed_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_fill_due_by", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_fill_vials", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("undispensed_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("renewal_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("renews_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("renewal_state", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("renewal_requested_dt", sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_orders_renews_id_orders"), "orders", ["renews_id"], ["id"]
        )
        batch.create_index(batch.f("ix_orders_renews_id"), ["renews_id"], unique=False)
        batch.create_index(
            "ix_orders_status_next_fill_allowed_from",
            ["status", "next_fill_allowed_from"],
            unique=False,
        )
        batch.create_index(
            "ix_orders_status_undispensed_from", ["status", "undispensed_from"], unique=False
        )
        batch.create_index(
            "ix_orders_status_renewal_from", ["status", "renewal_from"], unique=False
        )
    _backfill(op.get_bind())


def _backfill(conn):
    """Give version-1 orders their expiry and next-fill state (nothing is lost if one fails)."""
    from pharmacy.domain import coverage as core
    from pharmacy.domain.errors import DomainError
    from pharmacy.domain.plan_input import parse_phases
    from pharmacy.domain.vials import VialSpec

    settings = conn.execute(
        sa.text("SELECT timezone, refill_elapsed_percent FROM pharmacy_settings WHERE id = 1")
    ).first()
    zone = ZoneInfo(settings.timezone if settings else "America/New_York")
    percent = settings.refill_elapsed_percent if settings else 75

    def local(moment):
        if moment is None:
            return None
        if isinstance(moment, str):  # SQLite hands back text
            from datetime import datetime

            moment = datetime.fromisoformat(moment)
        return moment.replace(tzinfo=UTC).astimezone(zone).date()

    orders = conn.execute(
        sa.text(
            "SELECT id, status, phases, start_date, concentration_mcg_per_ml, vial_volume_ml,"
            " container, route, days_supply, refills, submitted_dt, verified_dt FROM orders"
        )
    ).all()
    fills = conn.execute(
        sa.text(
            "SELECT f.id, f.order_id, f.fill_number, f.status, f.vials, f.dispense_date,"
            " f.dispensed_dt, b.bud_dt, fo.in_use_days FROM fills f"
            " LEFT JOIN fill_allocations a ON a.fill_id = f.id"
            " LEFT JOIN batches b ON b.id = a.batch_id"
            " LEFT JOIN formulations fo ON fo.id = b.formulation_id"
            " WHERE f.status != 'voided'"
        )
    ).all()
    by_order = {}
    for row in fills:
        made = by_order.setdefault(row.order_id, {}).setdefault(
            row.id, {"row": row, "buds": [], "in_use": []}
        )
        if row.bud_dt is not None:
            made["buds"].append(local(row.bud_dt) - timedelta(days=1))
        if row.in_use_days:
            made["in_use"].append(row.in_use_days)
    for order in orders:
        values = {"expires_on": local(order.submitted_dt) + timedelta(days=365)}
        if order.status == "verified":
            try:
                import json

                phases = (
                    order.phases if not isinstance(order.phases, str) else json.loads(order.phases)
                )
                start = order.start_date
                if isinstance(start, str):
                    start = date.fromisoformat(start)
                terms = core.OrderTerms(
                    regimen=parse_phases(phases),
                    start_date=start,
                    concentration_mcg_per_ml=Decimal(str(order.concentration_mcg_per_ml)),
                    vial=VialSpec(
                        Decimal(str(order.vial_volume_ml)).quantize(Decimal("0.01")),
                        order.container,
                    ),
                    days_supply=order.days_supply,
                    fills=1 + order.refills,
                    route=order.route,
                )
                made = []
                for item in by_order.get(order.id, {}).values():
                    row = item["row"]
                    first = row.dispense_date
                    if isinstance(first, str):
                        first = date.fromisoformat(first)
                    made.append(
                        core.MadeFill(
                            row.fill_number,
                            first,
                            row.vials,
                            min(item["buds"], default=date.max),
                            min(item["in_use"], default=28),
                            local(row.dispensed_dt) if row.status == "dispensed" else None,
                        )
                    )
                result = core.coverage(
                    terms,
                    made,
                    verified_on=local(order.verified_dt),
                    refill_percent=percent,
                    expires_on=values["expires_on"],
                )
            except (DomainError, ValueError, TypeError):
                result = None
            if result is not None:
                upcoming = result.next_fill
                values.update(
                    next_fill_number=upcoming.fill_number if upcoming else None,
                    next_fill_allowed_from=upcoming.allowed_from if upcoming else None,
                    next_fill_due_by=upcoming.due_by if upcoming else None,
                    undispensed_from=result.undispensed_from,
                    renewal_from=result.renewal_from,
                )
                if upcoming is not None and upcoming.fill_number is not None:
                    stock = core.NewStock(upcoming.fill_number, upcoming.due_by, terms.days_supply)
                    values["next_fill_vials"] = core.walk(terms, made, stock).new_vials
        assignments = ", ".join(f"{key} = :{key}" for key in values)
        conn.execute(
            sa.text(f"UPDATE orders SET {assignments} WHERE id = :id"), {**values, "id": order.id}
        )


def downgrade():
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_status_renewal_from")
        batch.drop_index("ix_orders_status_undispensed_from")
        batch.drop_index("ix_orders_status_next_fill_allowed_from")
        batch.drop_index(batch.f("ix_orders_renews_id"))
        batch.drop_constraint(batch.f("fk_orders_renews_id_orders"), type_="foreignkey")
        for column in (
            "renewal_requested_dt",
            "renewal_state",
            "renews_id",
            "renewal_from",
            "undispensed_from",
            "next_fill_vials",
            "next_fill_due_by",
            "next_fill_allowed_from",
            "next_fill_number",
            "expires_on",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("pharmacy_settings") as batch:
        batch.drop_column("lapse_grace_days")
        batch.drop_column("rx_valid_days")
