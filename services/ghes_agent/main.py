"""``uvicorn --factory services.ghes_agent.main:create_app``"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.ghes_agent.api.deps import AgentAppState
from services.ghes_agent.api.errors import install_error_handlers
from services.ghes_agent.api.routes import router
from services.ghes_agent.clients.cloud import CloudClient
from services.ghes_agent.db.migrate import migrate
from services.ghes_agent.domain.keys import load_or_create_admin_token, load_or_create_key
from services.ghes_agent.domain.runs import abandon_interrupted_runs, ensure_identity
from services.ghes_agent.domain.schedule import default_cron
from services.ghes_agent.domain.sync import SyncConfigError, SyncContext
from services.ghes_agent.domain.users_csv import UsersSnapshot, read_users_file
from services.ghes_agent.jobs import SyncRunner, WeeklySchedule
from services.ghes_agent.settings import AgentSettings
from shared import public_key_text

log = logging.getLogger(__name__)


def create_app(
    settings: AgentSettings | None = None,
    *,
    cloud_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``cloud_transport`` lets a test put the real cloud app behind the agent's client."""
    settings = settings or AgentSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        identity = ensure_identity(sessions)
        abandon_interrupted_runs(sessions)
        signing_key = load_or_create_key(settings.data_dir)
        public_key = public_key_text(signing_key)
        ctx = SyncContext(
            sessions=sessions,
            hostname=settings.hostname,
            ghes_version=settings.ghes_version,
            public_key=public_key,
            read_users=users_reader(settings),
            cloud_client=cloud_client_factory(settings, cloud_transport),
        )
        runner = SyncRunner(ctx)
        schedule = None
        if settings.scheduler_enabled:
            schedule = WeeklySchedule(
                runner, settings.sync_cron or default_cron(identity.server_id), sessions
            )
            await schedule.start()
        app.state.agent = AgentAppState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            server_id=identity.server_id,
            public_key=public_key,
            signing_key=signing_key,
            admin_token=admin_token(settings),
            runner=runner,
            schedule=schedule,
        )
        try:
            yield
        finally:
            if schedule is not None:
                schedule.shutdown()
            await runner.stop()
            engine.dispose()

    app = FastAPI(title="license-sync GHES agent", version="1", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(router)
    return app


def admin_token(settings: AgentSettings) -> str:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    token = load_or_create_admin_token(settings.data_dir)
    log.warning("GHES_AGENT_ADMIN_TOKEN is not set; using %s", settings.data_dir / "admin_token")
    return token


def users_reader(settings: AgentSettings) -> Callable[[], UsersSnapshot]:
    path = settings.users_csv

    def read() -> UsersSnapshot:
        if path is None:
            raise SyncConfigError(
                "no users source: set GHES_AGENT_USERS_CSV (an all_users.csv file)"
            )
        return read_users_file(path)

    return read


def cloud_client_factory(
    settings: AgentSettings, transport: httpx.AsyncBaseTransport | None = None
) -> Callable[[], CloudClient]:
    def make() -> CloudClient:
        if not settings.cloud_url or settings.instance_token is None:
            raise SyncConfigError(
                "not connected: set GHES_AGENT_CLOUD_URL and GHES_AGENT_INSTANCE_TOKEN"
            )
        return CloudClient(
            settings.cloud_url,
            settings.instance_token.get_secret_value(),
            timeout=settings.http_timeout_seconds,
            transport=transport,
        )

    return make
