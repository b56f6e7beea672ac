"""``uvicorn --factory services.cloud_api.main:create_app``"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.cloud_api.api.deps import CloudState
from services.cloud_api.api.errors import install_error_handlers
from services.cloud_api.api.fast_lane import SummaryFastLane
from services.cloud_api.api.routes import (
    admin,
    audit_log,
    dashboard,
    enterprises,
    github,
    health,
    hooks,
    identity_links,
    licenses,
    owner_identities,
    sign_in,
    uploads,
    usage,
    visual_studio,
)
from services.cloud_api.db.migrate import migrate
from services.cloud_api.db.models import auth_failures
from services.cloud_api.domain.access.identity_provider import IdentityProvider
from services.cloud_api.domain.events.deliveries import RetryPolicy
from services.cloud_api.domain.events.worker import HookWorker, WorkerConfig
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.reporting.summary import SummaryCache
from services.cloud_api.metrics import CloudMetrics, FiguresCollector
from services.cloud_api.settings import Settings
from services.common.audit_route import declare_audit_actions
from services.common.auth_limit_http import install_auth_limit
from services.common.db import make_engine, make_sessions
from services.common.log_redaction import install_redaction
from services.common.observability import configure_logging, install_observability
from services.common.probe import ProbeConnections


def identity_provider(settings: Settings) -> IdentityProvider | None:
    if settings.oidc_issuer is None:
        return None
    assert settings.oidc_client_id
    assert settings.oidc_client_secret
    return IdentityProvider(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        scopes=settings.oidc_scopes,
        groups_claim=settings.oidc_groups_claim,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_format)
    install_redaction()
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        migrate(engine)
        sessions = make_sessions(engine)
        # One budget: the summaries take a sixteenth, the license engine the rest.
        budget = settings.cache_mb * 2**20
        cache = LicenseEngine(budget - budget // 16)
        summaries = SummaryCache(budget // 16)
        probe = ProbeConnections(engine)
        await probe.warm_up()
        app.state.cloud = CloudState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            cache=cache,
            summaries=summaries,
            metrics=metrics,
            probe=probe,
            identity_provider=identity_provider(settings),
        )
        collector = FiguresCollector(sessions, cache, summaries)
        registry.register(collector)
        auth_limit.bind(sessions)
        worker = HookWorker(sessions, worker_config(settings), metrics.count_hook_attempt)
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            auth_limit.bind(None)
            registry.unregister(collector)
            await probe.aclose()
            cache.close()
            engine.dispose()

    metrics = CloudMetrics(registry)
    app = FastAPI(title="license-sync cloud API", version="1", lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(SummaryFastLane)  # inside observability: its answers are counted too
    # Outside the fast lane, whose answers authenticate too.
    auth_limit = install_auth_limit(app, registry, "license_sync_cloud", auth_failures, settings)
    install_observability(app, registry, "license_sync_cloud")
    for module in (
        health,
        admin,
        enterprises,
        identity_links,
        visual_studio,
        usage,
        uploads,
        licenses,
        github,
        hooks,
        audit_log,
        owner_identities,
        sign_in,
        dashboard,
    ):
        app.include_router(module.router)
    declare_audit_actions(app)
    return app


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        timeout=settings.hooks_timeout_seconds,
        lease=timedelta(seconds=settings.hooks_lease_seconds),
        poll_seconds=settings.hooks_poll_seconds,
        allow_private=settings.hooks_allow_private,
        send=settings.hooks_delivery_enabled,
        retry=RetryPolicy(
            base_seconds=settings.hooks_retry_base_seconds,
            cap_seconds=settings.hooks_retry_cap_seconds,
            retry_for=timedelta(hours=settings.hooks_retry_for_hours),
        ),
        period=timedelta(seconds=settings.periodic_check_seconds),
        stale_after=timedelta(days=settings.stale_after_days),
    )
