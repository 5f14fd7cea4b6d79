"""Formulation procedure steps and equipment for the batch worksheet (SPEC 6.5)

Revision ID: v2_formulation_worksheet
Revises: v2_printers

Existing formulations get empty lists: their worksheets print blank lines to write the
procedure and equipment in until a pharmacist edits the formulation.
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_formulation_worksheet"
down_revision = "v2_printers"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("formulations") as batch:
        batch.add_column(
            sa.Column("procedure", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch.add_column(
            sa.Column("equipment", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("formulations") as batch:
        batch.drop_column("equipment")
        batch.drop_column("procedure")
