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

    # Webhooks (SPEC 7.3). Durations are floats so that tests can make them short.
    hooks_allow_private: bool = False
    """Allow hook URLs in loopback, link-local and private ranges (tests, closed networks)."""
    hooks_timeout_seconds: float = 10.0
    """How long a receiver has to answer, as on github.com."""
    hooks_retry_base_seconds: float = 30.0
    hooks_retry_cap_seconds: float = 3600.0
    hooks_retry_for_hours: float = 72.0
    """A delivery that keeps failing (5xx, timeouts, no connection) is retried this long."""
    hooks_lease_seconds: float = 60.0
    """How long a replica holds a delivery it is sending; at least twice the timeout, plus 1 s."""
    hooks_poll_seconds: float = 5.0
    """How often each replica looks for deliveries stored by the others."""
    hooks_delivery_enabled: bool = True
    """``false``: deliveries are stored but this process sends none (the fuzz tests)."""
    stale_after_days: float = 8.0
    """``server_instance.stale``: no applied report for longer than this."""
    periodic_check_seconds: float = 60.0
    """How often the periodic checks (stale instances, old deliveries) run, once across
    all replicas."""
