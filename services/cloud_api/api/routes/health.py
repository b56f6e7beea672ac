from __future__ import annotations

from fastapi import APIRouter, Response

from services.cloud_api.api.deps import StateDep
from services.cloud_api.schemas import HealthView
from services.common.observability import database_ready
from shared.errors import error_responses

router = APIRouter(tags=["health"], responses=error_responses())


@router.get("/healthz")
def get_healthz() -> HealthView:
    return HealthView(status="ok")


@router.get("/readyz", responses={503: {"model": HealthView}})
def get_readyz(state: StateDep, response: Response) -> HealthView:
    """Ready while the database answers; a load balancer takes the replica out otherwise."""
    if database_ready(state.engine):
        return HealthView(status="ok")
    response.status_code = 503
    return HealthView(status="unavailable")
