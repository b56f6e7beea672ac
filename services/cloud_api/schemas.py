"""Request and response bodies of the cloud API (pydantic only, no web framework)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from shared.report import ServerId

Slug = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnterpriseCreate(_Request):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=255)]
    seats_purchased: Annotated[StrictInt, Field(ge=0, le=10_000_000)]
    saml_enabled: StrictBool = False


class EnterpriseCreated(BaseModel):
    slug: str
    name: str
    seats_purchased: int
    saml_enabled: bool
    owner_token: str
    """Shown once: only its hash is kept."""


class InstanceConnect(_Request):
    hostname: Annotated[str, Field(min_length=1, max_length=253)]
    server_id: ServerId | None = None
    public_key: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    upload_only: StrictBool = False


class InstanceConnected(BaseModel):
    server_id: str | None
    hostname: str
    upload_only: bool
    instance_token: str | None
    """Shown once: only its hash is kept. None for an upload-only instance, which has no
    network path and so no token."""


class AccountsImported(BaseModel):
    accounts: int
    consuming: int
    total_seats_consumed: int


class LastSync(BaseModel):
    date: datetime | None
    status: str
    error: str


class InstanceStatus(BaseModel):
    server_id: str | None
    hostname: str
    source: Literal["connect", "upload"] | None
    """Where the current report came from; ``None``: the instance never synced."""
    upload_only: bool
    last_sync: LastSync | None
    current_sequence: int | None
    accounts_reported: int
    suspended_excluded: int
    persons_only_here: int
    """How far the figure would drop without this instance."""
    advanced_security_committers: int | None = None
    """The Advanced Security committers its current report names; ``None`` when that
    report (schema version 1) says nothing about committers."""


class Breakdown(BaseModel):
    cloud_only: int
    server_only: int
    both: int


class AdvancedSecurity(BaseModel):
    """Unique GitHub Advanced Security active committers, persons matched as for
    licenses, by where they commit."""

    total_committers: int
    cloud_only: int
    server_only: int
    both: int


class CloudAccountRef(BaseModel):
    id: int
    login: str
    consuming: bool


class ServerAccountRef(BaseModel):
    server_id: str | None
    hostname: str
    user_id: int
    email: str | None


# A person's accounts as they are now, with what only the current state knows (a history
# of changes shows the references alone: it keeps no committers of the past).
class CloudAccountView(CloudAccountRef):
    advanced_security_committer: bool
    """Imported as an Advanced Security active committer on the cloud."""


class ServerAccountView(ServerAccountRef):
    advanced_security_committer: bool
    """Its instance's current report names it an Advanced Security active committer."""


class VisualStudioSubscriberInput(_Request):
    upn: Annotated[str, Field(min_length=1, max_length=320)]
    """The subscriber's User Principal Name (an e-mail address)."""
    subscription: Annotated[str, Field(min_length=1, max_length=200)]
    """The subscription level, as the Visual Studio admin portal names it."""


class VisualStudioSubscriptionsImport(_Request):
    subscribers: list[VisualStudioSubscriberInput]


class VisualStudioImported(BaseModel):
    subscribers: int
    matched: int
    unmatched: int
    total_seats_consumed: int


class VisualStudioSubscriberView(BaseModel):
    upn: str
    subscription: str
    visual_studio_license_status: Literal["Matched"] | None
    """``Matched`` when matched to a person, else ``None`` (consumes nothing)."""
    cloud_account: CloudAccountRef | None
    server_accounts: list[ServerAccountRef]
    """The matched person's accounts (empty when unmatched)."""


class VisualStudioSubscribersView(BaseModel):
    total: int
    matched: int
    unmatched: int
    subscribers: list[VisualStudioSubscriberView]


class IdentityLinkCreate(BaseModel):
    """``cloud_account_id`` joins the GHES account to it; ``separate: true`` keeps it out of
    every automatic merge. Exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    server_id: str = Field(min_length=1, max_length=64)
    user_id: int = Field(ge=1, le=2**63 - 1)
    cloud_account_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    separate: bool = False


class IdentityLinkView(BaseModel):
    id: int
    server_id: str
    user_id: int
    cloud_account_id: int | None
    separate: bool
    state: Literal["applied", "dangling"]
    dangling_reason: str | None
    """Which named account is gone, in words (``None`` when applied)."""
    created_at: datetime


class IdentityLinksView(BaseModel):
    links: list[IdentityLinkView]


class PersonView(BaseModel):
    cloud_account: CloudAccountView | None
    server_accounts: list[ServerAccountView]
    total_user_accounts: int
    match_rule: str
    matched_attribute: str | None
    ambiguous: bool
    candidate_cloud_account_ids: list[int]
    advanced_security_committer: bool = False
    """Consumes an Advanced Security license (through any of its accounts)."""
    identity_links: list[IdentityLinkView] = Field(default_factory=list)
    """The owners' links naming one of its GHES accounts (applied or dangling)."""
    license_type: Literal["Enterprise", "Visual Studio subscription"] = "Enterprise"
    visual_studio_subscription_email: str | None = None
    """The UPN of the Visual Studio subscriber matched to it (the first, when several)."""


class ForecastView(BaseModel):
    seats_exhausted_on: date | None
    """When consumption reaches the purchased seats at the recent trend (the day it did,
    when it already has); None when flat, falling, or with too little history."""
    per_week: float | None
    """The trend: the median week-over-week change over the weeks observed."""
    weeks_observed: int


class LicensesView(BaseModel):
    enterprise: str
    name: str
    total_seats_purchased: int
    total_seats_consumed: int
    computed_at: datetime
    breakdown: Breakdown
    advanced_security: AdvancedSecurity
    server_instances: list[InstanceStatus]
    forecast: ForecastView
    users: list[PersonView] | None = None
    page: int | None = None
    per_page: int | None = None
    total_persons: int | None = None


class HealthView(BaseModel):
    status: Literal["ok", "unavailable"]


class HistoryEntry(BaseModel):
    received_at: datetime
    """When the change took effect: the time ``/enterprise/licenses/changes`` takes as
    ``since`` and ``until`` (strictly increasing from one entry to the next)."""
    cause: Literal[
        "report",
        "accounts_import",
        "saml_changed",
        "instance_disconnected",
        "identity_link_created",
        "identity_link_deleted",
        "visual_studio_import",
    ]
    report_id: str | None
    server_id: str | None
    """The instance a report or a disconnect concerned."""
    hostname: str | None
    sequence: int | None
    source: str | None
    users_reported: int | None
    suspended_excluded: int | None
    total_seats_consumed: int | None
    """The enterprise's figure right after this change."""
    started: int | None
    """Persons who started consuming at this change (None: from before changes were
    recorded)."""
    stopped: int | None


class HistoryView(BaseModel):
    entries: list[HistoryEntry]


class AccountCarrying(BaseModel):
    id: int
    login: str
    attribute: str
    """How the account carries the address: ``verified_email``, ``unverified_email``, or a
    linked identity attribute (``saml_name_id``, ``scim_username``, ``scim_email``,
    ``name_claim``, ``email_claim``)."""


class NearMiss(BaseModel):
    reason: Literal["unverified_email", "tag_or_dot_variant", "saml_disabled", "ambiguous"]
    detail: str
    cloud_account_id: int | None = None
    address: str | None = None


class ExplainView(BaseModel):
    email: str
    normalized: str
    saml_enabled: bool
    server_accounts: list[ServerAccountView]
    cloud_accounts: list[AccountCarrying]
    persons: list[PersonView]
    """The persons the accounts carrying this address belong to, after matching."""
    merged: bool
    """True when every account carrying the address is part of one person."""
    near_misses: list[NearMiss]
    notes: list[str]


class EnterpriseUpdate(_Request):
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    seats_purchased: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    saml_enabled: StrictBool | None = None


class EnterpriseView(BaseModel):
    slug: str
    name: str
    seats_purchased: int
    saml_enabled: bool


class OwnerTokenIssued(BaseModel):
    slug: str
    owner_token: str
    """Shown once: only its hash is kept."""


class TokenRevoke(_Request):
    token: Annotated[str, Field(min_length=1, max_length=200)]


class PersonChangeView(BaseModel):
    cloud_account: CloudAccountRef | None
    server_accounts: list[ServerAccountRef]
    """The person's accounts when it started (or, stopped, before it stopped)."""
    reason: str
    """``server_account_added``, ``server_account_removed``, ``cloud_account_added``,
    ``cloud_account_removed``, ``accounts_merged``, ``accounts_split``,
    ``affiliation_changed``, ``instance_disconnected`` or ``email_changed``."""
    changed_at: datetime
    """The history entry at which it last started or stopped in the range."""


class ChangesView(BaseModel):
    since: datetime | None
    """None: from before the first history entry (nothing consumed)."""
    until: datetime
    from_total: int
    to_total: int
    entries: int
    """History entries in the range (after ``since``, up to ``until``)."""
    total_started: int
    total_stopped: int
    started: list[PersonChangeView]
    stopped: list[PersonChangeView]
    page: int
    per_page: int


class OwnerIdentitiesReplace(_Request):
    emails: Annotated[list[Annotated[str, Field(max_length=320)]], Field(max_length=500)] = []
    """Verified e-mail addresses of the provider that are owners (any case)."""
    groups: Annotated[list[Annotated[str, Field(max_length=255)]], Field(max_length=500)] = []
    """Values of the provider's groups claim whose members are owners."""


class OwnerIdentitiesView(BaseModel):
    emails: list[str]
    groups: list[str]


class SessionPerson(BaseModel):
    subject: str
    email: str | None
    name: str | None


class SessionView(BaseModel):
    """``GET /auth/session``: whether this browser is signed in, and as whom."""

    signed_in: bool
    identity_provider: bool
    """Whether sign-in through an identity provider is configured here."""
    enterprise: str | None = None
    person: SessionPerson | None = None
    expires_at: datetime | None = None
    csrf_token: str | None = None
    """Send it back as ``X-CSRF-Token`` with every changing request of this session."""
