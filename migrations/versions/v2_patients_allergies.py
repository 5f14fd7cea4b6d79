"""Patients seen by several prescribers (SPEC 5.7): what each prescriber entered, and the
patient's phone and address on the pharmacy's record.

Version-1 data: every (patient, prescriber) pair that has an order gets an entry. The
prescriber of the patient's first order is taken to have entered the MRN and allergies on
record (they were copied from that first order); the others get the name and birth date
only, so no prescriber is shown what another entered.

Revision ID: v2_patients_allergies
Revises: v2_keyed_audit
"""

import sqlalchemy as sa
from alembic import op

revision = "v2_patients_allergies"
down_revision = "v2_keyed_audit"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone", sa.String(length=40), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("address", sa.String(length=500), server_default="", nullable=False)
        )
    op.create_table(
        "patient_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("prescriber_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=False),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("mrn", sa.String(length=40), nullable=True),
        sa.Column("allergies", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("created_dt", sa.DateTime(), nullable=False),
        sa.Column("updated_dt", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_entries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"], ["users.id"], name=op.f("fk_patient_entries_prescriber_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_entries")),
        sa.UniqueConstraint(
            "patient_id", "prescriber_id", name=op.f("uq_patient_entries_patient_id")
        ),
    )
    with op.batch_alter_table("patient_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_entries_mrn"), ["mrn"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patient_entries_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_entries_prescriber_id"), ["prescriber_id"], unique=False
        )
    # One entry per (patient, prescriber) with orders; the first order's prescriber keeps
    # the MRN and allergies on record.
    op.execute(
        """
        INSERT INTO patient_entries (patient_id, prescriber_id, first_name, last_name, dob, mrn,
            allergies, phone, address, created_dt, updated_dt)
        SELECT p.id, g.prescriber_id, p.first_name, p.last_name, p.dob,
            CASE WHEN g.first_order = f.first_order THEN p.mrn ELSE NULL END,
            CASE WHEN g.first_order = f.first_order THEN p.allergies ELSE '' END,
            '', '', p.created_dt, p.created_dt
        FROM (SELECT patient_id, prescriber_id, MIN(id) AS first_order
              FROM orders GROUP BY patient_id, prescriber_id) g
        JOIN (SELECT patient_id, MIN(id) AS first_order FROM orders GROUP BY patient_id) f
            ON f.patient_id = g.patient_id
        JOIN patients p ON p.id = g.patient_id
        """
    )


def downgrade():
    with op.batch_alter_table("patient_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_entries_prescriber_id"))
        batch_op.drop_index(batch_op.f("ix_patient_entries_patient_id"))
        batch_op.drop_index(batch_op.f("ix_patient_entries_mrn"))
    op.drop_table("patient_entries")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("phone")
