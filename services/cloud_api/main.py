"""``uvicorn --factory services.cloud_api.main:create_app``"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from services.cloud_api.api.deps import CloudState
from services.cloud_api.api.errors import install_error_handlers
from services.cloud_api.api.routes import (
    admin,
    enterprises,
    github,
    health,
    licenses,
    uploads,
    usage,
)
from services.cloud_api.db.migrate import migrate
from services.cloud_api.domain.license_data import LicenseCache
from services.cloud_api.domain.license_report import SummaryCache
from services.cloud_api.settings import Settings
from services.common.db import make_engine
from services.common.log_redaction import install_redaction


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    install_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        migrate(engine)
        app.state.cloud = CloudState(
            settings=settings,
            engine=engine,
            sessions=sessionmaker(engine, expire_on_commit=False),
            cache=LicenseCache(),
            summaries=SummaryCache(),
        )
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="license-sync cloud API", version="1", lifespan=lifespan)
    install_error_handlers(app)
    for module in (health, admin, enterprises, usage, uploads, licenses, github):
        app.include_router(module.router)
    return app
