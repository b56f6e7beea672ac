"""Cloud tables. Only the current report's users are kept; every applied report stays as a
row of ``reports`` so that trends can be drawn and retries answered from stored results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.audit_log import AuditColumns, append_only
from services.common.auth_limit import auth_failures_table
from services.common.db import NAMING_CONVENTION, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}  # noqa: RUF012


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    seats_purchased: Mapped[int] = mapped_column(Integer)
    saml_enabled: Mapped[bool] = mapped_column(Boolean)
    # Bumped by every change that can move the figure, in the same transaction, so that any
    # replica can tell whether what it computed earlier is still current.
    data_version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped when the cloud accounts or the matching rules (SAML) change: the person keys
    # cached per report are valid for one accounts version.
    accounts_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime]


class Credential(Base):
    """A bearer token, stored only as its SHA-256 (tokens are 256-bit random, so a plain
    hash suffices: there is nothing to brute-force)."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "owner" or "instance"
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    server_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("server_instances.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ServerInstance(Base):
    __tablename__ = "server_instances"
    __table_args__ = (UniqueConstraint("enterprise_id", "server_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    # None until the first report binds it (when the owner connected without one).
    server_id: Mapped[str | None] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(253))
    public_key: Mapped[str | None] = mapped_column(String(128))
    upload_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Deliberately no foreign key: reports and server_instances point at each other, and a
    # cycle would need ALTER TABLE ADD CONSTRAINT, which SQLite lacks. Ingest keeps it right.
    current_report_pk: Mapped[int | None] = mapped_column(Integer)
    current_sequence: Mapped[int | None] = mapped_column(BigInteger)
    current_source: Mapped[str | None] = mapped_column(String(16))  # "connect" / "upload"
    last_sync_at: Mapped[datetime | None]
    last_sync_status: Mapped[str | None] = mapped_column(String(64))
    last_sync_error: Mapped[str | None] = mapped_column(String(1000))
    # Written first by every ingest: a portable row lock (SELECT FOR UPDATE does nothing on
    # SQLite, where the UPDATE takes the database write lock instead).
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    # When ``server_instance.stale`` was last published for it: a stale period is announced
    # once, and a new one starts only with a report applied after this time.
    stale_event_at: Mapped[datetime | None]


class Report(Base):
    """One applied report: the history entry and the stored result for retries."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(String(36), unique=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    server_instance_pk: Mapped[int | None] = mapped_column(
        ForeignKey("server_instances.id", ondelete="SET NULL"), index=True
    )
    server_id: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(253))
    sequence: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    ghes_version: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime]
    received_at: Mapped[datetime]
    user_count: Mapped[int] = mapped_column(Integer)
    suspended_excluded: Mapped[int] = mapped_column(Integer)
    license_seats: Mapped[int | None] = mapped_column(Integer)
    license_expires_at: Mapped[datetime | None]
    consumed_after: Mapped[int | None] = mapped_column(Integer)
    # How many Advanced Security committers the report named; None: a schema version 1
    # report, which says nothing about committers.
    advanced_security_committers: Mapped[int | None] = mapped_column(Integer)


class ServerUser(Base):
    """A GHES account of an instance's current report."""

    __tablename__ = "server_users"

    # No foreign key, deliberately: checking one per row made bulk ingest three times
    # slower on PostgreSQL. Rows are written and deleted only by ingest and disconnect,
    # always together with the report they belong to.
    report_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254))


class ServerCommitter(Base):
    """A GHES account of an instance's current report that is a GitHub Advanced Security
    active committer. Apart from ``server_users`` so that ingesting a report without
    committers (the usual case) costs nothing more per user."""

    __tablename__ = "server_advanced_security_users"

    # No foreign key, like server_users: written and deleted with the report's users.
    report_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class CloudAccount(Base):
    """A cloud account as last imported. Like ``server_users``, no foreign key: checking
    one per row tripled a bulk import's store on PostgreSQL. Enterprises are never deleted,
    and accounts are written and deleted only by the import, for one enterprise at once."""

    __tablename__ = "cloud_accounts"

    enterprise_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    login: Mapped[str] = mapped_column(String(100))
    consuming: Mapped[bool] = mapped_column(Boolean)
    # Imported: the account is a GitHub Advanced Security active committer on the cloud.
    advanced_security_committer: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The account as imported (affiliations, SAML identity, ...), for the read API.
    details: Mapped[dict[str, Any]]


class CloudAccountKey(Base):
    """A normalized address a GHES primary e-mail can be matched against."""

    __tablename__ = "cloud_account_keys"

    enterprise_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # as CloudAccount
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(254), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class AuditEntry(AuditColumns, Base):
    """One entry of an enterprise's audit log (domain/events/audit.py). Append-only: the
    ORM refuses changes (below) and so does the database (triggers, migration 0004)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_enterprise_id_id", "enterprise_id", "id"),
        Index("ix_audit_entries_enterprise_id_action_id", "enterprise_id", "action", "id"),
    )

    # No ON DELETE CASCADE: the log outlives nothing it names, and nothing deletes it.
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))


append_only(AuditEntry)


class HistoryPoint(Base):
    """One change of what the figure is computed from (an applied report, an accounts
    import, SAML switched, an instance disconnected), with the figure right after it.

    Points of one enterprise are written under its row lock, so their ids and their
    ``recorded_at`` (kept strictly increasing) both follow the order the changes took
    effect in: a time names exactly one state of the figure."""

    __tablename__ = "history_points"
    __table_args__ = (Index("ix_history_points_enterprise_time", "enterprise_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime]
    cause: Mapped[str] = mapped_column(String(32))
    report_pk: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    # The instance a report or a disconnect concerned, as it was named then.
    server_id: Mapped[str | None] = mapped_column(String(64))
    hostname: Mapped[str | None] = mapped_column(String(253))
    # [server_id, hostname] of the instances its changed persons' accounts are on,
    # numbered by position (person_changes.accounts names them by it).
    instances: Mapped[list[list[str | None]]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    # None on points from before changes were recorded (migrated from reports).
    started: Mapped[int | None] = mapped_column(Integer)
    stopped: Mapped[int | None] = mapped_column(Integer)


class StoredFigure(Base):
    """An enterprise's figure as last computed by a change, valid only for the data
    version (and rules) it names (domain/licensing/stored_figures.py)."""

    __tablename__ = "enterprise_figures"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True
    )
    data_version: Mapped[int] = mapped_column(Integer)
    # stored_figures.RULES when it was computed: a release that counts differently raises it.
    rules: Mapped[int] = mapped_column(Integer)
    # The counts as JSON text (stored_figures.py reads and writes it).
    figure: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime]


class PersonChange(Base):
    """A person who started (+1) or stopped (-1) consuming at a history point, with the
    accounts it had then: the reports and accounts they came from may be replaced since.

    The key is the listing order of one point's changes, so a page is one range of it; a
    first report writes a row per person, so there is no other index to maintain (and on
    SQLite no rowid tree either). The point says whose enterprise it is. No foreign key to
    the point (migration 0013): checked per row, it was most of a 100,000-row COPY, and a
    point is written with its changes in one transaction and never deleted."""

    __tablename__ = "person_changes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    point_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delta: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # The person key, sortable (history_points.stored_person).
    person: Mapped[str] = mapped_column(String(300), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    # ``[cloud or null, [[instance number, user id, e-mail], ...]]`` as JSON text: no
    # validation per row on the way in, and a few dozen bytes.
    accounts: Mapped[str] = mapped_column(Text)


# Failed authentications per client address and window (services/common/auth_limit.py).
auth_failures = auth_failures_table(Base.metadata)


class Hook(Base):
    """An owner's webhook. The secret is kept as given, as GitHub keeps it: signing each
    delivery needs it. It is never answered nor logged."""

    __tablename__ = "hooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(256))
    events: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    thresholds: Mapped[list[int]] = mapped_column(JSON)
    # The thresholds the figure was at or above after the last change of the figure or of
    # the seats, written in that change's transaction: a crossing fires once, not on every
    # report above the line.
    thresholds_reached: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HookDelivery(Base):
    """One event for one hook, stored in the transaction of its cause before it is sent."""

    __tablename__ = "hook_deliveries"
    __table_args__ = (
        Index("ix_hook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_hook_deliveries_hook_id_id", "hook_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("hooks.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(36))  # X-GitHub-Delivery; kept on redelivery
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes sent (and signed), as UTF-8
    redelivery: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    # A sender's claim: no other replica takes the delivery before it expires, and a
    # sender that died mid-delivery loses it when it does.
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]  # the last attempt's time, as GitHub names it
    status_code: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(200))
    duration: Mapped[float | None]


class HookDeliveryAttempt(Base):
    __tablename__ = "hook_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("hook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float]
    error: Mapped[str | None] = mapped_column(String(500))


class PeriodicCheck(Base):
    """The last slot each periodic check ran for, claimed by ``UPDATE ... WHERE`` so that one
    replica runs each slot."""

    __tablename__ = "periodic_checks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_slot_at: Mapped[datetime]


class OwnerIdentity(Base):
    """An identity of the OpenID provider that is an owner of the enterprise: a verified
    e-mail address (kept lower-case) or a group the provider lists in its groups claim."""

    __tablename__ = "owner_identities"
    __table_args__ = (UniqueConstraint("enterprise_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "email" or "group"
    value: Mapped[str] = mapped_column(String(320))


class SignInAttempt(Base):
    """A sign-in sent to the provider and not yet back: what the callback must match. Found
    by the digest of the random value in the browser's sign-in cookie, so that only the
    browser that started it can finish it; used once, and expires in minutes."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    enterprise_slug: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OwnerSession(Base):
    """A signed-in person's dashboard session, stored only as the digest of its cookie:
    deleting the row ends it, wherever the cookie still is."""

    __tablename__ = "owner_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Sent back by the dashboard in ``X-CSRF-Token`` with every changing request."""
    matched_by: Mapped[str] = mapped_column(String(330))
    """The owner identity that let the person in (``email:…``, ``group:…``): removing it
    from the enterprise ends the session."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class IdentityLink(Base):
    """An owner's correction of the matching (SPEC 7.4): one GHES account joined to a cloud
    account, or kept apart from every automatic merge. It names the accounts by their
    stable IDs (server_id, GHES user ID, cloud account ID), not by rows, so that it outlives
    new reports, imports and a reconnected instance; when one of them is gone the link is
    dangling and not applied."""

    __tablename__ = "identity_links"
    # One link per GHES account: a second one would join it to two cloud accounts.
    __table_args__ = (UniqueConstraint("enterprise_id", "server_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    server_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(BigInteger)
    # None when the link keeps the GHES account separate.
    cloud_account_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class VisualStudioSubscriber(Base):
    """A Visual Studio subscriber with GitHub Enterprise, as the owner imported them (the
    import replaces them all). Matched to persons by ``upn_key`` (``licensing/rules.py``)."""

    __tablename__ = "visual_studio_subscribers"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True
    )
    upn_key: Mapped[str] = mapped_column(String(254), primary_key=True)
    """The User Principal Name normalized like every e-mail (``shared.normalize_email``)."""
    upn: Mapped[str] = mapped_column(String(320))
    subscription: Mapped[str] = mapped_column(String(200))
