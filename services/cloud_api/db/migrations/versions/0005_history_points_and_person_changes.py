"""history points and person changes

Every change of what the figure is computed from becomes a history point (until now only
applied reports were, as rows of ``reports``), with the persons who started or stopped
consuming at it. Points are filled in from the reports applied so far, without counts:
who changed at those was never recorded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "history_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("report_pk", sa.Integer(), nullable=True),
        sa.Column("server_id", sa.String(length=64), nullable=True),
        sa.Column("hostname", sa.String(length=253), nullable=True),
        sa.Column("instances", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("started", sa.Integer(), nullable=True),
        sa.Column("stopped", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_history_points_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_pk"],
            ["reports.id"],
            name=op.f("fk_history_points_report_pk_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_points")),
    )
    with op.batch_alter_table("history_points", schema=None) as batch_op:
        batch_op.create_index(
            "ix_history_points_enterprise_time", ["enterprise_id", "recorded_at"], unique=False
        )
    op.create_table(
        "person_changes",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.SmallInteger(), nullable=False),
        sa.Column("person", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("accounts", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["history_points.id"],
            name=op.f("fk_person_changes_point_id_history_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("point_id", "delta", "person", name=op.f("pk_person_changes")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO history_points (enterprise_id, recorded_at, cause, report_pk, server_id, "
        "hostname, instances, total) "
        "SELECT enterprise_id, received_at, 'report', id, server_id, hostname, '[]', "
        "consumed_after "
        "FROM reports WHERE consumed_after IS NOT NULL ORDER BY received_at, id"
    )


def downgrade() -> None:
    op.drop_table("person_changes")
    with op.batch_alter_table("history_points", schema=None) as batch_op:
        batch_op.drop_index("ix_history_points_enterprise_time")
    op.drop_table("history_points")
