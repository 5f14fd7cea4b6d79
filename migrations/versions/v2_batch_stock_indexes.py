"""Batches read by product in BUD order, and the batches with vials on hand (SPEC 9).

The work lists and the allocation read a product's batches by BUD: ``(formulation_id,
bud_dt)`` replaces the index on ``formulation_id`` alone (each product had 20,000 batches
after ten years to scan for the few in date). The stock page lists batches with vials on
hand, first BUD first: a partial index over those.

Revision ID: v2_batch_stock_indexes
Revises: v2_followed_patient_index
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_batch_stock_indexes"
down_revision = "v2_followed_patient_index"
branch_labels = None
depends_on = None

BATCH_ON_HAND = "vials_available > 0 AND status IN ('quarantine', 'released')"


def upgrade():
    op.drop_index("ix_batches_formulation_id", table_name="batches")
    op.create_index("ix_batches_formulation_bud", "batches", ["formulation_id", "bud_dt"])
    op.create_index(
        "ix_batches_on_hand",
        "batches",
        ["bud_dt", "id"],
        sqlite_where=sa.text(BATCH_ON_HAND),
        postgresql_where=sa.text(BATCH_ON_HAND),
    )


def downgrade():
    op.drop_index("ix_batches_on_hand", table_name="batches")
    op.drop_index("ix_batches_formulation_bud", table_name="batches")
    op.create_index("ix_batches_formulation_id", "batches", ["formulation_id"])
