"""server_users without a per-row foreign key

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:01:15.246315
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("server_users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_server_users_report_pk_reports"), type_="foreignkey"
        )


def downgrade() -> None:

    with op.batch_alter_table("server_users", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_server_users_report_pk_reports"),
            "reports",
            ["report_pk"],
            ["id"],
            ondelete="CASCADE",
        )
