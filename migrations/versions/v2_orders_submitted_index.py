"""Index the orders' submission time: the orders list filters by submission date (SPEC 9).

Revision ID: v2_orders_submitted_index
Revises: v2_dates_sterility
"""

from alembic import op

revision = "v2_orders_submitted_index"
down_revision = "v2_dates_sterility"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_orders_submitted_dt", "orders", ["submitted_dt"])


def downgrade():
    op.drop_index("ix_orders_submitted_dt", table_name="orders")
