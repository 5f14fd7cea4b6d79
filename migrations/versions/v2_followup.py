"""Therapy follow-up (SPEC 7.1-7.4): the order's clinical frame, lab results, symptom
reports, reviews and the default reference ranges.

Version-1 orders get the SPEC 7.1 defaults: cause ``unknown``, no neurological symptoms,
monitoring every 3 months with ``b12`` and ``cbc`` plus the extra tests they stored
(``MMA`` -> ``mma``).

Revision ID: v2_followup
Revises: 6bcbaff10ca9
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "v2_followup"
down_revision = "6bcbaff10ca9"
branch_labels = None
depends_on = None

RANGES = (
    ("ref_b12_low_pg_ml", "200"),
    ("ref_b12_high_pg_ml", "900"),
    ("ref_mma_low_nmol_l", "0"),
    ("ref_mma_high_nmol_l", "400"),
    ("ref_homocysteine_low_umol_l", "0"),
    ("ref_homocysteine_high_umol_l", "15"),
    ("ref_hemoglobin_low_g_dl", "12.0"),
    ("ref_hemoglobin_high_g_dl", "17.5"),
    ("ref_mcv_low_fl", "80"),
    ("ref_mcv_high_fl", "100"),
)
TESTS = ("b12", "cbc", "mma", "homocysteine")


def _backfill_monitoring_tests() -> None:
    """Turn version-1 extra tests (``[]``, ``["MMA"]``) into SPEC 7.1 test lists."""
    bind = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("monitoring_tests", sa.JSON))
    default = json.dumps(["b12", "cbc"])
    as_text = sa.cast(orders.c.monitoring_tests, sa.Text)
    # Most version-1 orders stored an empty list: one statement for all of them.
    bind.execute(
        sa.text(
            "UPDATE orders SET monitoring_tests = :v"
            + (" ::json" if bind.dialect.name == "postgresql" else "")
            + " WHERE CAST(monitoring_tests AS TEXT) IN ('[]', 'null')"
        ),
        {"v": default},
    )
    rows = bind.execute(
        sa.select(orders.c.id, orders.c.monitoring_tests).where(
            as_text.notin_(["[]", "null", default, '["b12","cbc"]'])
        )
    ).all()
    for row_id, tests in rows:
        wanted = {str(t).strip().lower() for t in (tests or [])} | {"b12", "cbc"}
        bind.execute(
            orders.update()
            .where(orders.c.id == row_id)
            .values(monitoring_tests=[t for t in TESTS if t in wanted])
        )


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cause", sa.String(length=20), server_default="unknown", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "neurologic_symptoms", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "monitoring_interval_months", sa.Integer(), server_default="3", nullable=False
            )
        )
        batch_op.add_column(sa.Column("therapy_stopped_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("labs_due_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_labs_due_on"), ["labs_due_on"], unique=False)
    _backfill_monitoring_tests()

    with op.batch_alter_table("pharmacy_settings", schema=None) as batch_op:
        for name, default in RANGES:
            batch_op.add_column(
                sa.Column(name, sa.Numeric(10, 2), server_default=default, nullable=False)
            )

    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("test", sa.String(length=20), nullable=False),
        sa.Column("loinc", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Numeric(14, 4), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("given_value", sa.Numeric(18, 4), nullable=False),
        sa.Column("given_unit", sa.String(length=16), nullable=False),
        sa.Column("reference_low", sa.Numeric(14, 4), nullable=False),
        sa.Column("reference_high", sa.Numeric(14, 4), nullable=False),
        sa.Column("range_given", sa.Boolean(), nullable=False),
        sa.Column("flag", sa.String(length=8), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("lab", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_dt", sa.DateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_observations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_observations_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index(
        "ix_observations_patient_date", "observations", ["patient_id", "effective_date"]
    )

    op.create_table(
        "symptom_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("worse", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_dt", sa.DateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_symptom_reports_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_symptom_reports_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_symptom_reports")),
    )
    op.create_index(
        "ix_symptom_reports_patient_date", "symptom_reports", ["patient_id", "report_date"]
    )
    op.create_index(op.f("ix_symptom_reports_worse"), "symptom_reports", ["worse"])

    op.create_table(
        "order_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewed_dt", sa.DateTime(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_reviews_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_order_reviews_reviewed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_reviews")),
    )
    op.create_index(op.f("ix_order_reviews_order_id"), "order_reviews", ["order_id"])


def downgrade():
    op.drop_index(op.f("ix_order_reviews_order_id"), table_name="order_reviews")
    op.drop_table("order_reviews")
    op.drop_index(op.f("ix_symptom_reports_worse"), table_name="symptom_reports")
    op.drop_index("ix_symptom_reports_patient_date", table_name="symptom_reports")
    op.drop_table("symptom_reports")
    op.drop_index("ix_observations_patient_date", table_name="observations")
    op.drop_table("observations")
    with op.batch_alter_table("pharmacy_settings", schema=None) as batch_op:
        for name, _ in RANGES:
            batch_op.drop_column(name)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_labs_due_on"))
        batch_op.drop_column("labs_due_on")
        batch_op.drop_column("therapy_stopped_on")
        batch_op.drop_column("monitoring_interval_months")
        batch_op.drop_column("neurologic_symptoms")
        batch_op.drop_column("cause")
