"""instance facts and run error codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ghes_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("license", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("facts_read_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("error_code")
    with op.batch_alter_table("agent_state", schema=None) as batch_op:
        batch_op.drop_column("facts_read_at")
        batch_op.drop_column("license")
        batch_op.drop_column("ghes_version")
