"""Index each patient's followed orders: ``symptoms_worse`` names the newest (SPEC 7.5, 9).

Revision ID: v2_followed_patient_index
Revises: v2_scale_state
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_followed_patient_index"
down_revision = "v2_scale_state"
branch_labels = None
depends_on = None

FOLLOWED_ORDER = "status = 'verified' AND therapy_stopped_on IS NULL"


def upgrade():
    op.create_index(
        "ix_orders_followed_patient",
        "orders",
        ["patient_id", "id"],
        sqlite_where=sa.text(FOLLOWED_ORDER),
        postgresql_where=sa.text(FOLLOWED_ORDER),
    )


def downgrade():
    op.drop_index("ix_orders_followed_patient", table_name="orders")
