"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 17:56:19.572616
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
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("seats_purchased", sa.Integer(), nullable=False),
        sa.Column("saml_enabled", sa.Boolean(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("slug", name=op.f("uq_enterprises_slug")),
    )
    op.create_table(
        "cloud_account_keys",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_cloud_account_keys_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "kind", "key", "account_id", name=op.f("pk_cloud_account_keys")
        ),
    )
    op.create_table(
        "cloud_accounts",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("consuming", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_cloud_accounts_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "account_id", name=op.f("pk_cloud_accounts")),
    )
    op.create_table(
        "server_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=True),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("public_key", sa.String(length=128), nullable=True),
        sa.Column("upload_only", sa.Boolean(), nullable=False),
        sa.Column("current_report_pk", sa.Integer(), nullable=True),
        sa.Column("current_sequence", sa.BigInteger(), nullable=True),
        sa.Column("current_source", sa.String(length=16), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_status", sa.String(length=64), nullable=True),
        sa.Column("last_sync_error", sa.String(length=1000), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_server_instances_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_instances")),
        sa.UniqueConstraint(
            "enterprise_id", "server_id", name=op.f("uq_server_instances_enterprise_id")
        ),
    )
    with op.batch_alter_table("server_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_server_instances_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("server_instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_credentials_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_instance_id"],
            ["server_instances.id"],
            name=op.f("fk_credentials_server_instance_id_server_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_credentials_token_hash")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("server_instance_pk", sa.Integer(), nullable=True),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ghes_version", sa.String(length=64), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_count", sa.Integer(), nullable=False),
        sa.Column("suspended_excluded", sa.Integer(), nullable=False),
        sa.Column("license_seats", sa.Integer(), nullable=True),
        sa.Column("license_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumed_after", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_reports_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_instance_pk"],
            ["server_instances.id"],
            name=op.f("fk_reports_server_instance_pk_server_instances"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("report_id", name=op.f("uq_reports_report_id")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reports_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reports_server_instance_pk"), ["server_instance_pk"], unique=False
        )

    op.create_table(
        "server_users",
        sa.Column("report_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_pk"],
            ["reports.id"],
            name=op.f("fk_server_users_report_pk_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_pk", "user_id", name=op.f("pk_server_users")),
    )


def downgrade() -> None:

    op.drop_table("server_users")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_server_instance_pk"))
        batch_op.drop_index(batch_op.f("ix_reports_enterprise_id"))

    op.drop_table("reports")
    op.drop_table("credentials")
    with op.batch_alter_table("server_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_server_instances_enterprise_id"))

    op.drop_table("server_instances")
    op.drop_table("cloud_accounts")
    op.drop_table("cloud_account_keys")
    op.drop_table("enterprises")
