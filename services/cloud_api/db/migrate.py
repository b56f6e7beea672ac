from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from services.common.db import run_migrations

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_cloud_api"


def migrate(engine: Engine) -> None:
    run_migrations(engine, MIGRATIONS, VERSION_TABLE)
