from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
