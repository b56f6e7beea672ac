"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 18:00:39.309182
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "agent_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state")),
    )
    op.create_table(
        "outbox_reports",
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("body_gzip", sa.LargeBinary(), nullable=False),
        sa.Column("user_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_outbox_reports")),
    )
    with op.batch_alter_table("outbox_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_reports_sequence"), ["sequence"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_reports_state"), ["state"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_id", sa.String(length=36), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("users_sent", sa.Integer(), nullable=True),
        sa.Column("suspended_excluded", sa.Integer(), nullable=True),
        sa.Column("invalid_emails", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_status"), ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_status"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("outbox_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_reports_state"))
        batch_op.drop_index(batch_op.f("ix_outbox_reports_sequence"))

    op.drop_table("outbox_reports")
    op.drop_table("agent_state")
