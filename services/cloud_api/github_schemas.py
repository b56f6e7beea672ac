"""Response bodies shaped like GitHub's own REST API (``/enterprises/{enterprise}/…``), so
that existing GitHub API clients read them unchanged. Field names, types and value
conventions follow real GitHub responses where they differ from the published schema."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ConsumedLicenseUser(BaseModel):
    github_com_login: str
    """``""`` for a person with no cloud account (a plain-string field in GitHub's schema)."""
    github_com_name: str | None
    enterprise_server_user_ids: list[str]
    """``"<hostname>:<id>"`` per GHES account."""
    github_com_user: bool
    enterprise_server_user: bool | None
    visual_studio_subscription_user: bool
    license_type: Literal["Enterprise", "Visual Studio subscription"]
    github_com_profile: str | None
    github_com_member_roles: list[str]
    github_com_enterprise_roles: list[str]
    github_com_verified_domain_emails: list[str]
    github_com_saml_name_id: str | None
    github_com_orgs_with_pending_invites: list[str]
    github_com_two_factor_auth: bool | None
    github_com_advanced_security_license_user: bool
    """Consumes a GitHub Advanced Security license on the cloud (GitHub's CSV column)."""
    enterprise_server_emails: list[str]
    """The name in GitHub's published schema."""
    enterprise_server_primary_emails: list[str]
    """The name in real GitHub responses and client libraries: same content."""
    enterprise_server_advanced_security_user_ids: list[str]
    """``"<hostname>:<id>"`` per GHES account that is an Advanced Security committer."""
    visual_studio_license_status: str | None
    visual_studio_subscription_email: str | None
    total_user_accounts: int


class ConsumedLicenses(BaseModel):
    total_seats_consumed: int
    total_seats_purchased: int
    users: list[ConsumedLicenseUser]


class SyncState(BaseModel):
    date: str
    """ISO 8601; ``""`` for an instance that never synced."""
    status: str
    """``success``, an error word, or ``never_synced``."""
    error: str
    """``""`` on success."""


class ServerInstanceSync(BaseModel):
    server_id: str
    hostname: str
    last_sync: SyncState
    source: Literal["connect", "upload", "never_synced"]
    """Where the instance's current report came from (not in GitHub's schema; additive)."""


class LicenseSyncStatus(BaseModel):
    server_instances: list[ServerInstanceSync]
