"""outbox reports may come from an export

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:26:47.511000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("outbox_reports", schema=None) as batch_op:
        batch_op.alter_column("run_id", existing_type=sa.VARCHAR(length=36), nullable=True)


def downgrade() -> None:

    with op.batch_alter_table("outbox_reports", schema=None) as batch_op:
        batch_op.alter_column("run_id", existing_type=sa.VARCHAR(length=36), nullable=False)
