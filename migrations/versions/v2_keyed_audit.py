"""Key the audit chain with HMAC-SHA-256 and add signed checkpoints (SPEC 8.5).

Every existing event is checked against its version-1 hash (plain SHA-256) and re-hashed with
the app's ``AUDIT_KEY``, in order, in chunks (constant memory), and the chain tip moves to the
new last hash. A version-1 chain that is already broken stops the upgrade: re-keying it would
launder the damage. The hashing is copied here on purpose: a migration must hash as it did
when it was written, whatever the service does later.

Revision ID: v2_keyed_audit
Revises: v2_orders_submitted_index
"""

import hashlib
import hmac
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "v2_keyed_audit"
down_revision = "v2_orders_submitted_index"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
CHUNK = 5000

events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("occurred_dt", sa.DateTime),
    sa.column("actor_id", sa.Integer),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("request_id", sa.String),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
head = sa.table(
    "audit_head",
    sa.column("id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("hash", sa.String),
)


def _canonical(row, prev_hash: str) -> bytes:
    occurred = row.occurred_dt
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=UTC)
    payload = {
        "seq": row.seq,
        "occurred_dt": occurred.isoformat(),
        "actor_id": row.actor_id,
        "actor": row.actor,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "before": row.before,
        "after": row.after,
        "request_id": row.request_id,
        "prev_hash": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _sha256(row, prev_hash: str, _key: bytes) -> str:
    return hashlib.sha256(_canonical(row, prev_hash)).hexdigest()


def _hmac(row, prev_hash: str, key: bytes) -> str:
    return hmac.new(key, _canonical(row, prev_hash), hashlib.sha256).hexdigest()


def _rehash(old, new) -> None:
    """Check each event with ``old`` and chain it again with ``new``, seq by seq."""
    bind = op.get_bind()
    key = current_app.config["AUDIT_KEY"].encode("utf-8")
    old_prev = new_prev = GENESIS_HASH
    expected = 1
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.seq >= expected).order_by(events.c.seq).limit(CHUNK)
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            if (
                row.seq != expected
                or row.prev_hash != old_prev
                or old(row, old_prev, key) != row.hash
            ):
                raise RuntimeError(
                    f"audit event seq {expected} does not match its stored hash: the chain is "
                    "already broken (or AUDIT_KEY differs from the key it was made with); "
                    "restore it from a backup before upgrading"
                )
            new_hash = new(row, new_prev, key)
            updates.append({"row_id": row.id, "new_prev": new_prev, "new_hash": new_hash})
            old_prev, new_prev = row.hash, new_hash
            expected += 1
        bind.execute(
            events.update()
            .where(events.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")),
            updates,
        )
    bind.execute(head.update().where(head.c.id == 1).values(hash=new_prev))


def upgrade():
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("created_dt", sa.DateTime(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_checkpoints_seq"), ["seq"], unique=False)
    _rehash(_sha256, _hmac)


def downgrade():
    _rehash(_hmac, _sha256)
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_seq"))
    op.drop_table("audit_checkpoints")
