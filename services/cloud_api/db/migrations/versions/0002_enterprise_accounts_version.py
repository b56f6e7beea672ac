"""enterprise accounts version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:52:06.198539
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accounts_version", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("accounts_version")
