"""cloud accounts and their keys without a per-row foreign key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("cloud_accounts", "cloud_account_keys")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_enterprise_id_enterprises"), type_="foreignkey"
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_enterprise_id_enterprises"),
                "enterprises",
                ["enterprise_id"],
                ["id"],
                ondelete="CASCADE",
            )
