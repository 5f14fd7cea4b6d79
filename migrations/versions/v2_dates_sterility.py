"""Dates that make sense and sterility results (SPEC 5.3, 5.6).

Revision ID: v2_dates_sterility
Revises: v2_sessions

Settings gain the start-date backdate limit, the compounding-time age limit and the sterility
incubation days; batches gain when the laboratory completed the sterility test, its report
reference and who recorded it. A version-1 result keeps its recording time as its completion.
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_dates_sterility"
down_revision = "v2_sessions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pharmacy_settings") as batch:
        batch.add_column(
            sa.Column("max_backdate_days", sa.Integer(), server_default="7", nullable=False)
        )
        batch.add_column(
            sa.Column("max_compounded_age_days", sa.Integer(), server_default="30", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "sterility_incubation_days", sa.Integer(), server_default="14", nullable=False
            )
        )
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("sterility_completed_dt", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "sterility_reference", sa.String(length=200), server_default="", nullable=False
            )
        )
        batch.add_column(sa.Column("sterility_recorded_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_batches_sterility_recorded_by_id_users"),
            "users",
            ["sterility_recorded_by_id"],
            ["id"],
        )
    op.execute(
        "UPDATE batches SET sterility_completed_dt = sterility_recorded_dt "
        "WHERE sterility_test IN ('passed', 'failed') AND sterility_recorded_dt IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("batches") as batch:
        batch.drop_constraint(
            batch.f("fk_batches_sterility_recorded_by_id_users"), type_="foreignkey"
        )
        batch.drop_column("sterility_recorded_by_id")
        batch.drop_column("sterility_reference")
        batch.drop_column("sterility_completed_dt")
    with op.batch_alter_table("pharmacy_settings") as batch:
        batch.drop_column("sterility_incubation_days")
        batch.drop_column("max_compounded_age_days")
        batch.drop_column("max_backdate_days")
