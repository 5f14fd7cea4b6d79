"""Server-side sessions, sign-in throttle counters and session timeouts (SPEC 8.4).

The per-user failure counter and lock move to ``login_throttles`` (counted by account and
client address, atomically), so the users' columns for them go.

Revision ID: v2_sessions
Revises: v2_idempotency
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_sessions"
down_revision = "v2_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_dt", sa.DateTime(), nullable=False),
        sa.Column("last_seen_dt", sa.DateTime(), nullable=False),
        sa.Column("ended_dt", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_dt", sa.DateTime(), nullable=False),
        sa.Column("locked_until_dt", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("pharmacy_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_idle_minutes", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("session_max_hours", sa.Integer(), server_default="12", nullable=False)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("last_failed_dt")
        batch_op.drop_column("locked_until_dt")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_failed_dt", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("locked_until_dt", sa.DateTime(), nullable=True))
    with op.batch_alter_table("pharmacy_settings", schema=None) as batch_op:
        batch_op.drop_column("session_max_hours")
        batch_op.drop_column("session_idle_minutes")
    op.drop_table("login_throttles")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
