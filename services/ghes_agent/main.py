"""``uvicorn --factory services.ghes_agent.main:create_app``"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.log_redaction import install_redaction
from services.common.observability import configure_logging, install_observability
from services.ghes_agent.api.deps import AgentAppState
from services.ghes_agent.api.errors import install_error_handlers
from services.ghes_agent.api.routes import router
from services.ghes_agent.clients.cloud import CloudClient
from services.ghes_agent.clients.ghes import GhesClient
from services.ghes_agent.db.migrate import migrate
from services.ghes_agent.domain.delivery import Delivery, RetryPolicy
from services.ghes_agent.domain.errors import NotConnectedError, SourceError
from services.ghes_agent.domain.keys import load_or_create_admin_token, load_or_create_key
from services.ghes_agent.domain.runs import abandon_interrupted_runs, ensure_identity
from services.ghes_agent.domain.schedule import default_cron
from services.ghes_agent.domain.sources import InstanceFacts, UsersSource, csv_source, no_source
from services.ghes_agent.domain.sync import SyncContext
from services.ghes_agent.domain.users_csv import Progress
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
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        identity = ensure_identity(sessions)
        abandon_interrupted_runs(sessions)
        signing_key = load_or_create_key(settings.data_dir)
        public_key = public_key_text(signing_key)
        delivery = Delivery(
            sessions=sessions,
            cloud_client=cloud_client_factory(settings, cloud_transport),
            public_key=public_key,
            retry=RetryPolicy(
                base_seconds=settings.retry_base_seconds,
                cap_seconds=settings.retry_cap_seconds,
                give_up=timedelta(days=settings.retry_give_up_days),
            ),
        )
        ctx = SyncContext(
            collect=users_source(settings, ghes_transport),
            hostname=settings.hostname,
            delivery=delivery,
        )
        runner = SyncRunner(ctx)
        worker = DeliveryWorker(runner)
        worker.start()
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
        collector = SyncCollector(sessions)
        registry.register(collector)
        try:
            yield
        finally:
            registry.unregister(collector)
            if schedule is not None:
                schedule.shutdown()
            await worker.stop()
            await runner.stop()
            engine.dispose()

    app = FastAPI(title="license-sync GHES agent", version="1", lifespan=lifespan)
    install_error_handlers(app)
    install_observability(app, registry, "license_sync_agent")
    app.include_router(router)
    return app


def admin_token(settings: AgentSettings) -> str:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    token = load_or_create_admin_token(settings.data_dir)
    log.warning("GHES_AGENT_ADMIN_TOKEN is not set; using %s", settings.data_dir / "admin_token")
    return token


def users_source(
    settings: AgentSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
) -> UsersSource:
    if settings.ghes_url:
        return ghes_source(settings, transport)
    if settings.users_csv is not None:
        return csv_source(settings.users_csv, settings.ghes_version, progress)
    return no_source()


def ghes_source(
    settings: AgentSettings, transport: httpx.AsyncBaseTransport | None = None
) -> UsersSource:
    url, token = settings.ghes_url or "", settings.ghes_token

    async def collect() -> InstanceFacts:
        if token is None:
            raise SourceError("GHES_AGENT_GHES_URL is set but GHES_AGENT_GHES_TOKEN is not")
        client = GhesClient(
            url,
            token.get_secret_value(),
            verify=tls_verification(settings),
            timeout=settings.http_timeout_seconds,
            report_max_wait=settings.ghes_report_max_wait_seconds,
            report_poll_interval=settings.ghes_report_poll_seconds,
            transport=transport,
        )
        async with client:
            return await client.collect()

    return collect


def tls_verification(settings: AgentSettings) -> ssl.SSLContext | bool:
    if not settings.ghes_verify_tls:
        log.warning(
            "TLS VERIFICATION OF %s IS OFF (GHES_AGENT_GHES_VERIFY_TLS=false): anyone on the "
            "network path can read the site-admin token and forge the users report",
            settings.ghes_url,
        )
        return False
    if settings.ghes_ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ghes_ca_bundle))
    return True


def cloud_client_factory(
    settings: AgentSettings, transport: httpx.AsyncBaseTransport | None = None
) -> Callable[[], CloudClient]:
    def make() -> CloudClient:
        if not settings.cloud_url or settings.instance_token is None:
            raise NotConnectedError(
                "not connected: set GHES_AGENT_CLOUD_URL and GHES_AGENT_INSTANCE_TOKEN"
            )
        return CloudClient(
            settings.cloud_url,
            settings.instance_token.get_secret_value(),
            timeout=settings.http_timeout_seconds,
            transport=transport,
        )

    return make
