"""Stored, indexed state for the work lists and the continuity list at ten years (SPEC 9).

- Partial indexes over the orders the pharmacy still follows (verified, not stopped, not
  replaced by a renewal) replace the (status, date) indexes, which held every verified
  order of the history.
- ``symptom_reports.awaiting_review``: the report is worse, the patient's latest, and no
  review came on or after it; filled in here from the reports and reviews already stored.
- Fills of one status, newest first: ``(status, id)`` replaces the index on status alone.

Revision ID: v2_scale_state
Revises: v2_patients_allergies
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_scale_state"
down_revision = "v2_patients_allergies"
branch_labels = None
depends_on = None

OPEN_ORDER = (
    "status = 'verified' AND therapy_stopped_on IS NULL"
    " AND (renewal_state IS NULL OR renewal_state <> 'replaced')"
)
FOLLOWED_ORDER = "status = 'verified' AND therapy_stopped_on IS NULL"
ORDER_INDEXES = (
    (
        "ix_orders_open_next_fill",
        "next_fill_allowed_from",
        OPEN_ORDER + " AND next_fill_number IS NOT NULL",
    ),
    ("ix_orders_open_undispensed", "undispensed_from", OPEN_ORDER),
    ("ix_orders_open_renewal", "renewal_from", OPEN_ORDER + " AND renewal_state IS NULL"),
    (
        "ix_orders_renewal_requested",
        "renewal_requested_dt",
        OPEN_ORDER + " AND renewal_state = 'requested'",
    ),
    ("ix_orders_open_expires", "expires_on", OPEN_ORDER),
    ("ix_orders_followed_labs", "labs_due_on", FOLLOWED_ORDER),
)
OLD_ORDER_INDEXES = (
    ("ix_orders_status_next_fill_allowed_from", ["status", "next_fill_allowed_from"]),
    ("ix_orders_status_undispensed_from", ["status", "undispensed_from"]),
    ("ix_orders_status_renewal_from", ["status", "renewal_from"]),
    ("ix_orders_labs_due_on", ["labs_due_on"]),
)

# A worse report that is the patient's latest and that no review of the patient's orders
# followed (the same rule as services.followup.mark_awaiting_review).
BACKFILL = """
UPDATE symptom_reports SET awaiting_review = TRUE
WHERE worse
  AND NOT EXISTS (
    SELECT 1 FROM symptom_reports later
    WHERE later.patient_id = symptom_reports.patient_id
      AND (later.report_date > symptom_reports.report_date
           OR (later.report_date = symptom_reports.report_date AND later.id > symptom_reports.id)))
  AND NOT EXISTS (
    SELECT 1 FROM order_reviews JOIN orders ON orders.id = order_reviews.order_id
    WHERE orders.patient_id = symptom_reports.patient_id
      AND order_reviews.reviewed_on >= symptom_reports.report_date)
"""


def upgrade():
    with op.batch_alter_table("symptom_reports") as batch_op:
        batch_op.add_column(
            sa.Column("awaiting_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(BACKFILL)
    op.create_index(
        "ix_symptom_reports_awaiting_review",
        "symptom_reports",
        ["report_date", "id"],
        sqlite_where=sa.text("awaiting_review"),
        postgresql_where=sa.text("awaiting_review"),
    )
    for name, _columns in OLD_ORDER_INDEXES:
        op.drop_index(name, table_name="orders")
    for name, column, where in ORDER_INDEXES:
        op.create_index(
            name,
            "orders",
            [column, "id"],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    op.drop_index("ix_fills_status", table_name="fills")
    op.create_index("ix_fills_status_id", "fills", ["status", "id"])


def downgrade():
    op.drop_index("ix_fills_status_id", table_name="fills")
    op.create_index("ix_fills_status", "fills", ["status"])
    for name, _column, _where in ORDER_INDEXES:
        op.drop_index(name, table_name="orders")
    for name, columns in OLD_ORDER_INDEXES:
        op.create_index(name, "orders", columns)
    op.drop_index("ix_symptom_reports_awaiting_review", table_name="symptom_reports")
    with op.batch_alter_table("symptom_reports") as batch_op:
        batch_op.drop_column("awaiting_review")
