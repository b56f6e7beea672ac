"""visual studio subscribers

The Visual Studio subscribers with GitHub Enterprise an owner imports (SPEC 7.4).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visual_studio_subscribers",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("upn_key", sa.String(length=254), nullable=False),
        sa.Column("upn", sa.String(length=320), nullable=False),
        sa.Column("subscription", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_visual_studio_subscribers_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "upn_key", name=op.f("pk_visual_studio_subscribers")
        ),
    )


def downgrade() -> None:
    op.drop_table("visual_studio_subscribers")
