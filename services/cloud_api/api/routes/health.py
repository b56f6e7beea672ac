from __future__ import annotations

from fastapi import APIRouter

from services.cloud_api.schemas import HealthView
from shared.errors import error_responses

router = APIRouter(tags=["health"], responses=error_responses())


@router.get("/healthz")
def get_healthz() -> HealthView:
    return HealthView(status="ok")
