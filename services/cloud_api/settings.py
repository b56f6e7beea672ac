from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.client_address import Network, parse_networks


class Settings(BaseSettings):
    """Read from ``CLOUD_API_*`` variables when the app is created, never at import."""

    model_config = SettingsConfigDict(env_prefix="CLOUD_API_", extra="ignore")

    log_format: str = "text"
    """``json``: one JSON object per log line, each with the request id."""

    database_url: str = "sqlite:///cloud_api.db"
    admin_token: SecretStr | None = None
    max_body_bytes: int = 256 * 1024 * 1024
    """Decompressed report size limit: 500,000 users at ~60 bytes each, with room."""
    max_compressed_bytes: int = 64 * 1024 * 1024
    cache_mb: int = Field(default=1024, ge=1)
    """Memory for everything the process keeps between requests (figures, listings, the
    reports they are computed from), all enterprises together. A warm enterprise of a
    million persons takes some 300 MB; an evicted one is computed again from the database."""
    push_signature_max_age_seconds: int = 300
    """A signed push whose ``created`` time is older than this is refused (replayed, or the
    agent's clock is behind)."""
    push_signature_clock_skew_seconds: int = 60
    """How far ahead of the cloud's clock a push's ``created`` time may be."""
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
