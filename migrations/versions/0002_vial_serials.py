"""vial serials: the serials each fill allocation took (SPEC 6.1)

Revision ID: v2_vial_serials
Revises: v2_followup

Existing fills get serials as if serials had always existed: the allocations and voids of
version 1 are replayed in the order they happened (a fill's ``created_dt``, a void's
``voided_dt``), each allocation taking its batch's lowest free serials and each void giving
them back. Live fills therefore hold distinct serials, and what stays free in a batch is
exactly ``vials_available`` serials.
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "v2_vial_serials"
down_revision = "v2_followup"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fill_vials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint("serial >= 1", name=op.f("ck_fill_vials_serial_positive")),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["fill_allocations.id"],
            name=op.f("fk_fill_vials_allocation_id_fill_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_fill_vials_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fill_vials")),
    )
    with op.batch_alter_table("fill_vials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fill_vials_allocation_id"), ["allocation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fill_vials_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "uq_fill_vials_live_serial",
            ["batch_id", "serial"],
            unique=True,
            sqlite_where=sa.text("NOT returned"),
            postgresql_where=sa.text("NOT returned"),
        )
    _backfill()


def _backfill():
    """Replay version 1's allocations and voids to give every allocated vial a serial."""
    bind = op.get_bind()
    sizes = dict(bind.execute(sa.text("SELECT id, vials FROM batches")).all())
    rows = bind.execute(
        sa.text(
            "SELECT a.id, a.batch_id, a.vials, f.id, f.status, f.created_dt, f.voided_dt"
            " FROM fill_allocations a JOIN fills f ON f.id = a.fill_id"
        )
    ).all()
    events = []
    for alloc_id, batch_id, vials, fill_id, status, created, voided in rows:
        events.append((created, 0, fill_id, alloc_id, batch_id, vials))
        if status == "voided":
            events.append((voided or created, 1, fill_id, alloc_id, batch_id, vials))
    events.sort(key=lambda e: (e[0], e[2], e[1], e[3]))
    held: dict[int, set[int]] = defaultdict(set)  # batch id -> serials held by live fills
    taken: dict[int, list[int]] = {}  # allocation id -> its serials
    voided: set[int] = set()
    for _, kind, _, alloc_id, batch_id, vials in events:
        if kind == 1:
            held[batch_id].difference_update(taken.get(alloc_id, ()))
            voided.add(alloc_id)
            continue
        free = [s for s in range(1, sizes[batch_id] + 1) if s not in held[batch_id]]
        if len(free) < vials:
            raise RuntimeError(
                f"fill allocation {alloc_id} holds {vials} vials of batch {batch_id}, but only"
                f" {len(free)} of its {sizes[batch_id]} vials are not held by another fill"
            )
        taken[alloc_id] = free[:vials]
        held[batch_id].update(taken[alloc_id])
    table = sa.table(
        "fill_vials",
        sa.column("allocation_id", sa.Integer),
        sa.column("batch_id", sa.Integer),
        sa.column("serial", sa.Integer),
        sa.column("returned", sa.Boolean),
    )
    batch_of = {e[3]: e[4] for e in events}
    values = [
        {
            "allocation_id": alloc_id,
            "batch_id": batch_of[alloc_id],
            "serial": serial,
            "returned": alloc_id in voided,
        }
        for alloc_id, serials in taken.items()
        for serial in serials
    ]
    if values:
        op.bulk_insert(table, values)


def downgrade():
    with op.batch_alter_table("fill_vials", schema=None) as batch_op:
        batch_op.drop_index("uq_fill_vials_live_serial")
        batch_op.drop_index(batch_op.f("ix_fill_vials_batch_id"))
        batch_op.drop_index(batch_op.f("ix_fill_vials_allocation_id"))
    op.drop_table("fill_vials")
