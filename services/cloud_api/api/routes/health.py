from __future__ import annotations

from fastapi import APIRouter

from services.cloud_api.schemas import HealthView

router = APIRouter(tags=["health"])


@router.get("/healthz")
def get_healthz() -> HealthView:
    return HealthView(status="ok")
