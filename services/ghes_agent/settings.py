from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.client_address import Network, parse_networks


class AgentSettings(BaseSettings):
    """Read from ``GHES_AGENT_*`` variables when the app is created, never at import."""

    model_config = SettingsConfigDict(env_prefix="GHES_AGENT_", extra="ignore")

    log_format: str = "text"
    """``json``: one JSON object per log line, each with the request id."""

    data_dir: Path = Path("ghes-agent-data")
    database_url: str | None = None
    """Default: ``agent.db`` (SQLite) in the data directory."""
    cloud_url: str | None = None
    instance_token: SecretStr | None = None
    cloud_ca_bundle: Path | None = None
    """CA certificates (PEM) that issue the cloud's certificate as the agent sees it: a
    TLS-inspecting proxy's CA, or an internal CA. They replace the default trust store for
    the cloud connection only. The proxy itself comes from ``HTTPS_PROXY``/``HTTP_PROXY``,
    with ``NO_PROXY`` for hosts reached directly (the cloud connection only: GHES is always
    reached directly)."""
    users_csv: Path | None = None
    advanced_security_csv: Path | None = None
    """With ``users_csv``: GHES's Advanced Security license report (CSV), whose committers
    are reported (schema version 2)."""
    ghes_url: str | None = None
    """The GHES instance to read users from (its https:// address); takes precedence over
    ``users_csv``."""
    ghes_token: SecretStr | None = None
    """A site administrator's personal access token (scope ``site_admin``)."""
    ghes_ca_bundle: Path | None = None
    """CA certificates (PEM) for an instance whose certificate an internal CA issued."""
    ghes_verify_tls: bool = True
    """Turning this off is logged loudly at every use: only for a first test."""
    ghes_enterprise: str | None = None
    """The instance's enterprise slug (its ``/enterprises/SLUG`` address): set, the GitHub
    Advanced Security active committers are read and reported (schema version 2). The
    token then also needs ``manage_billing:enterprise``."""
    ghes_report_max_wait_seconds: float = 600.0
    ghes_report_poll_seconds: float = 5.0
    hostname: str = socket.getfqdn()
    ghes_version: str = "unknown"
    """Reported when users come from a file, which does not say the GHES version."""
    admin_token: SecretStr | None = None
    """Default: generated on first start and kept in the data directory."""
    sync_cron: str | None = None
    """Default: weekly, at a day, hour and minute derived from the server_id."""
    scheduler_enabled: bool = True
    http_timeout_seconds: float = 120.0
    retry_base_seconds: float = 60.0
    """First retry after up to this long; doubling per attempt (full jitter)."""
    retry_cap_seconds: float = 3600.0
    """Longest wait between two attempts, and the cap on a Retry-After."""
    retry_give_up_days: float = 8.0
    """A report undelivered this long is given up (it is a week old by then)."""

    auth_failure_limit: int = Field(default=20, ge=1)
    """Failed authentications (401 answers to requests with credentials) allowed from one
    client address per window; beyond it, the address is answered 429 until the window
    ends, valid credentials included."""
    auth_failure_window_seconds: int = Field(default=60, ge=1)
    trusted_proxies: str = ""
    """Reverse proxies (addresses or networks, comma-separated) whose ``X-Forwarded-For``
    names the client. Empty: the client is the socket peer."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a wrong entry stops the start, saying which
        return value

    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'agent.db').resolve()}"
