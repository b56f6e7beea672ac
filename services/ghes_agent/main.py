"""``uvicorn --factory services.ghes_agent.main:create_app``"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_route import declare_audit_actions
from services.common.auth_limit_http import install_auth_limit
from services.common.db import make_engine, make_sessions
from services.common.log_redaction import install_redaction
from services.common.observability import configure_logging, install_observability
from services.ghes_agent.api import dashboard
from services.ghes_agent.api.deps import AgentAppState
from services.ghes_agent.api.errors import install_error_handlers
from services.ghes_agent.api.routes import router
from services.ghes_agent.clients.cloud import cloud_client_factory, is_connected
from services.ghes_agent.db.migrate import migrate
from services.ghes_agent.db.models import auth_failures
from services.ghes_agent.domain.delivery import Delivery, RetryPolicy
from services.ghes_agent.domain.keys import load_or_create_admin_token, load_or_create_key
from services.ghes_agent.domain.runs import abandon_interrupted_runs, ensure_identity
from services.ghes_agent.domain.schedule import default_cron
from services.ghes_agent.domain.sources import users_source
from services.ghes_agent.domain.sync import SyncContext
from services.ghes_agent.jobs import DeliveryWorker, SyncRunner, WeeklySchedule
from services.ghes_agent.metrics import SyncCollector
from services.ghes_agent.settings import AgentSettings
from shared import public_key_text

log = logging.getLogger(__name__)


def create_app(
    settings: AgentSettings | None = None,
    *,
    cloud_transport: httpx.AsyncBaseTransport | None = None,
    ghes_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The transports let a test put real apps behind the agent's clients."""
    settings = settings or AgentSettings()
    configure_logging(settings.log_format)
    install_redaction()
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_agent(
            settings, registry, cloud_transport=cloud_transport, ghes_transport=ghes_transport
        ) as state:
            app.state.agent = state
            auth_limit.bind(state.sessions)
            try:
                yield
            finally:
                auth_limit.bind(None)

    app = FastAPI(title="license-sync GHES agent", version="1", lifespan=lifespan)
    install_error_handlers(app)
    auth_limit = install_auth_limit(app, registry, "license_sync_agent", auth_failures, settings)
    install_observability(app, registry, "license_sync_agent")
    app.include_router(router)
    app.include_router(dashboard.router)
    declare_audit_actions(app)
    return app


@asynccontextmanager
async def running_agent(
    settings: AgentSettings,
    registry: CollectorRegistry,
    *,
    cloud_transport: httpx.AsyncBaseTransport | None,
    ghes_transport: httpx.AsyncBaseTransport | None,
) -> AsyncIterator[AgentAppState]:
    """The database, the keys and the background work: each stopped in reverse order of
    starting, also when a later one fails to start."""
    async with AsyncExitStack() as started:
        engine, sessions = open_database(settings)
        started.callback(engine.dispose)
        with sessions.begin() as session:
            identity = ensure_identity(session)
            abandon_interrupted_runs(session)
        signing_key = load_or_create_key(settings.data_dir)
        public_key = public_key_text(signing_key)
        cloud_client = cloud_client_factory(settings, signing_key, cloud_transport)
        delivery = Delivery(
            sessions, cloud_client, retry_policy(settings), connected=is_connected(settings)
        )
        runner = SyncRunner(
            SyncContext(users_source(settings, ghes_transport), settings.hostname, delivery)
        )
        started.push_async_callback(runner.stop)
        worker = DeliveryWorker(runner)
        worker.start()
        started.push_async_callback(worker.stop)
        schedule = None
        if settings.scheduler_enabled:
            cron = settings.sync_cron or default_cron(identity.server_id)
            schedule = WeeklySchedule(runner, cron, sessions)
            started.callback(schedule.shutdown)
            await schedule.start()
        collector = SyncCollector(sessions)
        registry.register(collector)
        started.callback(registry.unregister, collector)
        yield AgentAppState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            server_id=identity.server_id,
            public_key=public_key,
            signing_key=signing_key,
            admin_token=admin_token(settings),
            runner=runner,
            worker=worker,
            schedule=schedule,
        )


def open_database(settings: AgentSettings) -> tuple[Engine, sessionmaker[Session]]:
    """Migrated to the current schema before anything reads it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    return engine, make_sessions(engine)


def retry_policy(settings: AgentSettings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings.retry_base_seconds,
        cap_seconds=settings.retry_cap_seconds,
        give_up=timedelta(days=settings.retry_give_up_days),
    )


def admin_token(settings: AgentSettings) -> str:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    token = load_or_create_admin_token(settings.data_dir)
    log.warning("GHES_AGENT_ADMIN_TOKEN is not set; using %s", settings.data_dir / "admin_token")
    return token
