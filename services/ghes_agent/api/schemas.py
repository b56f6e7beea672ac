from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class RunView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    trigger: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    report_id: str | None
    sequence: int | None
    users_sent: int | None
    suspended_excluded: int | None
    invalid_emails: int | None
    attempts: int
    error: str | None
    receipt: dict[str, Any] | None


class RunList(BaseModel):
    runs: list[RunView]


class StatusView(BaseModel):
    last_success: datetime | None
    last_attempt: datetime | None
    last_run_status: str | None
    last_error: str | None
    pending_reports: int
    next_retry_at: datetime | None
    undelivered_error: str | None
    next_scheduled_run: str | None
    schedule: str | None


class InstanceView(BaseModel):
    server_id: str
    hostname: str
    ghes_version: str
    public_key: str
    public_key_algorithm: Literal["ed25519"] = "ed25519"


class HealthView(BaseModel):
    status: Literal["ok", "unavailable"]
