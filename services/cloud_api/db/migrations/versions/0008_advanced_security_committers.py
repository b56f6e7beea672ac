"""advanced security committers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_advanced_security_users",
        sa.Column("report_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "report_pk", "user_id", name=op.f("pk_server_advanced_security_users")
        ),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("advanced_security_committers", sa.Integer(), nullable=True))
    with op.batch_alter_table("cloud_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "advanced_security_committer",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("cloud_accounts", schema=None) as batch_op:
        batch_op.drop_column("advanced_security_committer")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("advanced_security_committers")
    op.drop_table("server_advanced_security_users")
