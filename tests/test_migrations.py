"""The migrations build exactly the schema the models describe, on both databases, and
running them again (a restart, a second replica) changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from services.cloud_api.db.migrate import VERSION_TABLE as CLOUD_VERSIONS
from services.cloud_api.db.migrate import migrate as migrate_cloud
from services.cloud_api.db.models import Base as CloudBase
from services.common.db import make_engine
from services.ghes_agent.db.migrate import VERSION_TABLE as AGENT_VERSIONS
from services.ghes_agent.db.migrate import migrate as migrate_agent
from services.ghes_agent.db.models import Base as AgentBase


@pytest.mark.parametrize(
    ("migrate", "metadata", "version_table"),
    [
        (migrate_cloud, CloudBase.metadata, CLOUD_VERSIONS),
        (migrate_agent, AgentBase.metadata, AGENT_VERSIONS),
    ],
    ids=["cloud_api", "ghes_agent"],
)
def test_migrations_match_the_models_and_are_idempotent(
    new_database_url: Callable[[], str],
    migrate: Callable[..., None],
    metadata: MetaData,
    version_table: str,
) -> None:
    engine = make_engine(new_database_url())
    try:
        migrate(engine)
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": version_table})
            differences = [
                diff
                for diff in compare_metadata(context, metadata)
                # SQLite's migration lock table (see run_migrations) belongs to no model.
                if not (diff[0] == "remove_table" and diff[1].name == "migration_lock")
            ]
            assert differences == []
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        engine.dispose()
