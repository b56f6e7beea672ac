from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
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

    # Owners signing in with the company's OpenID Connect provider (README, "Signing in
    # with your identity provider"). Unset issuer: owner tokens only.
    oidc_issuer: str | None = None
    """The provider's issuer URL: https, or http on a loopback address (tests, a laptop)."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = "groups"
    """The claim (in the ID token or the userinfo answer) that lists the person's groups."""
    oidc_session_lifetime_seconds: int = Field(default=8 * 3600, ge=10, le=7 * 86400)
    """A dashboard session ends this long after sign-in, whatever happens in between."""
    public_url: str | None = None
    """The dashboard's address as browsers see it (``https://licenses.example.com``): the
    redirect URI given to the provider, and the one origin whose changing requests a
    session may make. Unset: the address each request came to."""

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer is None:
            return self
        missing = [
            f"CLOUD_API_OIDC_{name.upper()}"
            for name in ("client_id", "client_secret")
            if not getattr(self, f"oidc_{name}")
        ]
        if missing:
            raise ValueError(f"CLOUD_API_OIDC_ISSUER is set, so set {' and '.join(missing)}")
        check_provider_url(self.oidc_issuer, "CLOUD_API_OIDC_ISSUER")
        if self.public_url is not None:
            check_provider_url(self.public_url, "CLOUD_API_PUBLIC_URL")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("CLOUD_API_OIDC_SCOPES must include openid")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def check_provider_url(url: str, name: str) -> None:
    """https, or plain http on a loopback address only: an ID token, a code or a session
    cookie must never cross a network in the clear."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ValueError(f"{name} must be an https URL (http only on a loopback address): {url!r}")
