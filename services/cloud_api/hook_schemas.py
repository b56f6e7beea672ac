"""Request and response bodies of the hooks API (SPEC 7.3), shaped like GitHub's hook and
hook-delivery objects where GitHub has the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Threshold = Annotated[StrictInt, Field(ge=1, le=1000, description="a percentage of seats")]
EventName = Annotated[str, Field(max_length=64)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Secret = Annotated[str, Field(min_length=1, max_length=256)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HookConfigInput(_Request):
    thresholds: Annotated[list[Threshold], Field(max_length=10)] | None = None
    """Percentages of purchased seats; ``[90, 100]`` when not given."""


class HookCreate(_Request):
    url: Url
    secret: Secret
    """Signs every delivery (``X-Hub-Signature-256``); never shown again."""
    events: Annotated[list[EventName], Field(min_length=1, max_length=10)] | None = None
    """``license.threshold_crossed``, ``server_instance.stale``, ``server_usage.refused``,
    ``ping`` or ``*``; all three events when not given."""
    active: StrictBool = True
    config: HookConfigInput | None = None


class HookUpdate(_Request):
    url: Url | None = None
    secret: Secret | None = None
    events: Annotated[list[EventName], Field(min_length=1, max_length=10)] | None = None
    active: StrictBool | None = None
    config: HookConfigInput | None = None


class HookConfigView(BaseModel):
    url: str
    content_type: Literal["json"]
    insecure_ssl: Literal["0"]
    secret: Literal["********"]
    """Always masked, as GitHub masks it."""
    thresholds: list[int]


class HookLastResponse(BaseModel):
    code: int | None
    status: str
    message: str | None


class HookView(BaseModel):
    id: int
    type: Literal["Enterprise"]
    name: Literal["web"]
    active: bool
    events: list[str]
    url: str
    """Where deliveries go (also ``config.url``)."""
    config: HookConfigView
    thresholds_reached: list[int]
    """The thresholds the figure is at or above now."""
    created_at: datetime
    updated_at: datetime
    last_response: HookLastResponse
    ping_url: str
    deliveries_url: str


class AttemptView(BaseModel):
    attempted_at: datetime
    status_code: int | None
    """``None`` when no answer came (timeout, no connection, address refused)."""
    duration: float
    """Seconds."""
    error: str | None


DeliveryState = Literal["pending", "delivered", "failed"]


class DeliveryView(BaseModel):
    id: int
    guid: str
    """``X-GitHub-Delivery``; the same on a redelivery."""
    delivered_at: datetime | None
    """When the last attempt was made; ``None`` before the first."""
    redelivery: bool
    duration: float | None
    status: str
    status_code: int
    """The last attempt's HTTP status, 0 when none (as GitHub reports it)."""
    event: str
    action: str | None
    installation_id: None = None
    repository_id: None = None
    throttled_at: None = None
    state: DeliveryState
    next_attempt_at: datetime | None
    """When a pending delivery is tried next."""
    attempts: list[AttemptView]


class DeliveryRequest(BaseModel):
    headers: dict[str, str]
    payload: dict[str, Any]


class DeliveryDetail(DeliveryView):
    url: str
    request: DeliveryRequest
