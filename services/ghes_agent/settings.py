from __future__ import annotations

import socket
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AgentSettings(BaseSettings):
    """Read from ``GHES_AGENT_*`` variables when the app is created, never at import."""

    model_config = SettingsConfigDict(env_prefix="GHES_AGENT_", extra="ignore")

    data_dir: Path = Path("ghes-agent-data")
    database_url: str | None = None
    """Default: ``agent.db`` (SQLite) in the data directory."""
    cloud_url: str | None = None
    instance_token: SecretStr | None = None
    users_csv: Path | None = None
    ghes_url: str | None = None
    ghes_token: SecretStr | None = None
    hostname: str = socket.getfqdn()
    ghes_version: str = "unknown"
    """Reported when users come from a file, which does not say the GHES version."""
    admin_token: SecretStr | None = None
    """Default: generated on first start and kept in the data directory."""
    sync_cron: str | None = None
    """Default: weekly, at a day, hour and minute derived from the server_id."""
    scheduler_enabled: bool = True
    http_timeout_seconds: float = 120.0

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'agent.db').resolve()}"
