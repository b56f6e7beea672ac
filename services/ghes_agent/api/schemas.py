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
    error_code: str | None
    """The error's word: ``unreachable``, ``unauthorized``, ``users_unavailable``..."""
    receipt: dict[str, Any] | None


class TriggeredRun(RunView):
    started: bool
    """False: a run was already active, and this is that run."""


class RunList(BaseModel):
    runs: list[RunView]


class StatusView(BaseModel):
    last_success: datetime | None
    last_attempt: datetime | None
    last_run_status: str | None
    last_error: str | None
    advice: str | None
    """What to do about ``last_error``; None when its message says it already."""
    pending_reports: int
    next_retry_at: datetime | None
    undelivered_error: str | None
    next_scheduled_run: str | None
    schedule: str | None
    """The cron expression (UTC)."""
    schedule_in_words: str | None
    """The same, as a person says it: "every Tuesday at 14:37 UTC"."""


class GhesLicenseView(BaseModel):
    seats: int | None
    """None when the license is unlimited."""
    unlimited: bool
    expires_at: datetime | None


class InstanceView(BaseModel):
    server_id: str
    hostname: str
    ghes_version: str
    """As read from the instance when the last report was made; before that, and for a
    users file, the configured ``GHES_AGENT_GHES_VERSION``."""
    license: GhesLicenseView | None
    """The GHES license as last read; None when not known (a users file does not say it)."""
    facts_read_at: datetime | None
    """When the version and license were read; None: no report made yet."""
    public_key: str
    public_key_algorithm: Literal["ed25519"] = "ed25519"
    public_key_fingerprint: str
    """The key's ID as export files and the cloud's refusals name it (``shared.key_id``)."""


class HealthView(BaseModel):
    status: Literal["ok", "unavailable"]


class SampleUser(BaseModel):
    id: int
    login: str | None
    """None when the users report has no login for the ID (it left the instance)."""


class PreviewSamples(BaseModel):
    added: list[SampleUser]
    removed: list[SampleUser]
    email_changed: list[SampleUser]


class PreviewView(BaseModel):
    """What a sync now would send, against the last report the cloud accepted."""

    users: int
    suspended_excluded: int
    invalid_emails: int
    added: int
    removed: int
    email_changed: int
    samples: PreviewSamples
    """Up to 20 users of each kind, by ID, with their logins (never sent to the cloud)."""
    last_accepted_report_id: str | None
    last_accepted_sequence: int | None
    last_accepted_at: datetime | None
