"""The GitHub-compatible license views: consumed licenses (JSON and CSV rows) and sync
status, built from the same license state as ``GET /enterprise/licenses``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import Any

import orjson
from sqlalchemy.orm import Session

from services.cloud_api.db.models import ServerInstance
from services.cloud_api.domain.accounts.consumption import BILLING_MANAGER, CONSUMING_ORG_ROLES
from services.cloud_api.domain.accounts.input import OrgRole
from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.committers import Committers
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.licensing.listing import CloudRow
from services.cloud_api.domain.licensing.loaders import raw_rows
from services.cloud_api.domain.licensing.overrides import Ref
from services.cloud_api.domain.licensing.rules import Person, Subscriber, total_user_accounts
from services.cloud_api.domain.reporting.csv_export import (
    COLUMNS,
    RowTemplate,
    csv_header,
    csv_rows,
    neutralize,
    row_cells,
    text_cell,
)
from services.cloud_api.domain.reporting.licenses import VISUAL_STUDIO
from services.cloud_api.domain.reporting.visual_studio import MATCHED
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.domain.tenants.instances import list_instances
from services.cloud_api.github_schemas import (
    ConsumedLicenses,
    ConsumedLicenseUser,
    LicenseSyncStatus,
    ServerInstanceSync,
    SyncState,
)
from services.common.clock import isoformat_z
from services.common.gc_pause import collector_paused

PROFILE_URL = "https://github.com/{login}"
ORG_ROLES: dict[OrgRole, str] = {
    "member": "Member",
    "owner": "Owner",
    BILLING_MANAGER: "Billing manager",
}


@dataclass(frozen=True, slots=True)
class ConsumedPage:
    body: ConsumedLicenses
    total_persons: int


def consumed_licenses_page(
    session: Session, cache: LicenseEngine, enterprise_id: int, page: int, per_page: int
) -> ConsumedPage:
    enterprise = get_enterprise(session, enterprise_id)
    state, listing = cache.listing(session, enterprise)
    reads = CloudReads(session, enterprise.id, enterprise.saml_enabled)
    chosen = listing.page((page - 1) * per_page, per_page, reads)
    committers = cache.committers(session, enterprise)
    users = list(consumed_license_users(session, enterprise_id, chosen, committers))
    body = ConsumedLicenses(
        total_seats_consumed=state.figures.consumed,
        total_seats_purchased=enterprise.seats_purchased,
        users=users,
    )
    return ConsumedPage(body, listing.total)


def consumed_license_users(
    session: Session, enterprise_id: int, persons: Sequence[Person], committers: Committers
) -> Iterator[ConsumedLicenseUser]:
    hosts = {i.id: i.hostname for i in list_instances(session, enterprise_id)}
    wanted = [person.cloud.account_id for person in persons if person.cloud is not None]
    details = cloud_details(session, enterprise_id, wanted)
    for person in persons:
        cloud = person.cloud.account_id if person.cloud is not None else None
        refs = [(a.instance, a.user_id, a.email_key, a.email) for a in person.server_accounts]
        held = person.subscriptions[0] if person.subscriptions else None
        fields = consumed_license_fields(cloud, refs, details, hosts, committers, held)
        yield ConsumedLicenseUser(**fields)


def consumed_licenses_csv(
    session: Session, cache: LicenseEngine, enterprise_id: int
) -> Iterator[str]:
    """The CSV of every person, in pieces of a thousand rows: the header at once, then
    each piece as it is made (memory holds one piece, not the file). The caller's session
    must see one state throughout (a snapshot): the listing is that state's, and the
    cloud accounts' details are read piece by piece."""
    yield csv_header()
    enterprise = get_enterprise(session, enterprise_id)
    _, listing = cache.listing(session, enterprise)
    hosts = {i.id: i.hostname for i in list_instances(session, enterprise_id)}
    committers = cache.committers(session, enterprise)
    pieces = chain(
        (
            partial(_cloud_piece, session, enterprise_id, persons, hosts, committers)
            for persons in listing.cloud_chunks()
        ),
        (
            partial(
                server_only_lines,
                accounts,
                hosts,
                committers,
                listing.overrides.subscriptions,
                keys,
            )
            for keys, accounts in listing.server_chunks()
        ),
    )
    while True:
        # Each piece makes and drops some 10,000 objects, none in a cycle: the cyclic
        # collector, left on, took a third of the download re-scanning them.
        with collector_paused():
            piece = next(pieces, None)
            text = piece() if piece is not None else None
        if text is None:
            return
        yield text


def _cloud_piece(
    session: Session,
    enterprise_id: int,
    persons: list[CloudRow],
    hosts: dict[int, str],
    committers: Committers,
) -> str:
    details = cloud_details(session, enterprise_id, [account_id for account_id, _, _ in persons])
    return csv_rows(
        consumed_license_fields(account_id, refs, details, hosts, committers, held)
        for account_id, refs, held in persons
    )


def cloud_details(
    session: Session, enterprise_id: int, wanted: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The cloud accounts ``wanted`` as imported (their ``details``), read as text and
    parsed by orjson (a download reads a hundred thousand)."""
    details: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        marks = ", ".join("?" * len(chunk))
        rows = raw_rows(
            session,
            "SELECT account_id, CAST(details AS TEXT) FROM cloud_accounts "  # noqa: S608 (marks only)
            f"WHERE enterprise_id = ? AND account_id IN ({marks})",
            enterprise_id,
            *chunk,
        )
        details.update((account_id, orjson.loads(text)) for account_id, text in rows)
    return details


_WITHOUT_CLOUD: dict[str, Any] = {
    "github_com_login": "",
    "github_com_name": None,
    "github_com_user": False,
    "github_com_profile": None,
    "github_com_member_roles": [],
    "github_com_enterprise_roles": [],
    "github_com_verified_domain_emails": [],
    "github_com_saml_name_id": None,
    "github_com_orgs_with_pending_invites": [],
    "github_com_two_factor_auth": None,
    "github_com_advanced_security_license_user": False,
    "visual_studio_subscription_user": False,
    "license_type": "Enterprise",
    "visual_studio_license_status": None,
    "visual_studio_subscription_email": None,
}


_SERVER_ONLY_FIELDS = {
    **_WITHOUT_CLOUD,
    "enterprise_server_user_ids": [],
    "enterprise_server_user": True,
    "enterprise_server_primary_emails": [],
    "enterprise_server_advanced_security_user_ids": [],
    "total_user_accounts": 1,
}
_ACCOUNT_COLUMNS = (
    "enterprise_server_user_ids",
    "enterprise_server_primary_emails",
    "enterprise_server_advanced_security_user_ids",
)
# The row of every server-only person, but for its accounts (consumed_license_fields);
# and of one with a single account, the most of a download, whose count is fixed.
_SERVER_ONLY = RowTemplate(
    row_cells(_SERVER_ONLY_FIELDS),
    tuple(COLUMNS.index(column) for column in (*_ACCOUNT_COLUMNS, "total_user_accounts")),
)
_ONE_ACCOUNT = RowTemplate(
    row_cells(_SERVER_ONLY_FIELDS), tuple(COLUMNS.index(column) for column in _ACCOUNT_COLUMNS)
)


def server_only_lines(
    persons: list[list[Ref]],
    hosts: dict[int, str],
    committers: Committers,
    subscriptions: Mapping[str, list[Subscriber]] | None = None,
    keys: Sequence[str] = (),
) -> str:
    """The CSV rows of persons with GHES accounts only, without building the persons or
    their fields: a download writes a million. The few holding a Visual Studio
    subscription (``subscriptions`` by person key, ``keys`` the persons') are written
    field by field."""
    line, one = _SERVER_ONLY.line, _ONE_ACCOUNT.fields
    lines: list[str] = []
    append = lines.append
    committing = committers.server_ids
    held = [subscriptions.get(key) for key in keys] if subscriptions else []
    prefixes = {instance: f"{host}:" for instance, host in hosts.items()}
    for at, accounts in enumerate(persons):
        mine = held[at] if held else None
        if mine:
            fields = consumed_license_fields(None, accounts, {}, hosts, committers, mine[0])
            append(csv_rows([fields]))
        elif len(accounts) == 1:
            instance, user_id, _, email = accounts[0]
            ids = text_cell(f"{prefixes.get(instance, 'disconnected:')}{user_id}")
            commits = ids if committing and (instance, user_id) in committing else ""
            append(one(ids, text_cell(email) if email else "", commits))
        else:
            ids = ", ".join([f"{hosts.get(a[0], 'disconnected')}:{a[1]}" for a in accounts])
            emails = ", ".join(sorted({a[3] for a in accounts if a[3] is not None}))
            commits = ", ".join(_committer_ids(accounts, hosts, committers))
            append(
                line(neutralize(ids), neutralize(emails), neutralize(commits), str(len(accounts)))
            )
    return "".join(lines)


def _committer_ids(accounts: list[Ref], hosts: dict[int, str], committers: Committers) -> list[str]:
    """``"<hostname>:<id>"`` of the accounts that are Advanced Security committers."""
    if not committers.server_ids:
        return []
    return [
        f"{hosts.get(a[0], 'disconnected')}:{a[1]}"
        for a in accounts
        if (a[0], a[1]) in committers.server_ids
    ]


def consumed_license_fields(
    cloud_account_id: int | None,
    accounts: list[Ref],
    details: dict[int, dict[str, Any]],
    hosts: dict[int, str],
    committers: Committers,
    subscription: Subscriber | None = None,
) -> dict[str, Any]:
    """A ``ConsumedLicenseUser``'s fields, of a person with the cloud account
    ``cloud_account_id`` (or none) and the GHES ``accounts`` (a download writes them
    without the model), holding the Visual Studio ``subscription`` (the first by UPN).
    Every person listed consumes a license, so a cloud account imported as a committer
    consumes an Advanced Security one too."""
    fields = dict(_WITHOUT_CLOUD)
    if subscription is not None:
        fields["visual_studio_subscription_user"] = True
        fields["license_type"] = VISUAL_STUDIO
        fields["visual_studio_license_status"] = MATCHED
        fields["visual_studio_subscription_email"] = subscription.upn
    if cloud_account_id is not None:
        cloud = details.get(cloud_account_id)
        if cloud is not None:
            fields.update(_cloud_fields(cloud))
        fields["github_com_advanced_security_license_user"] = cloud_account_id in committers.cloud
    fields["enterprise_server_advanced_security_user_ids"] = _committer_ids(
        accounts, hosts, committers
    )
    emails = sorted({a[3] for a in accounts if a[3] is not None})
    fields["enterprise_server_user_ids"] = [
        f"{hosts.get(a[0], 'disconnected')}:{a[1]}" for a in accounts
    ]
    fields["enterprise_server_user"] = bool(accounts)
    fields["enterprise_server_emails"] = emails
    fields["enterprise_server_primary_emails"] = emails
    fields["total_user_accounts"] = total_user_accounts(cloud_account_id is not None, accounts)
    return fields


def _cloud_fields(cloud: dict[str, Any]) -> dict[str, Any]:
    memberships = cloud.get("org_memberships", [])
    saml = cloud.get("saml_identity") or {}
    return {
        "github_com_login": cloud["login"],
        "github_com_name": cloud.get("name"),
        "github_com_user": True,
        "github_com_profile": PROFILE_URL.format(login=cloud["login"]),
        "github_com_member_roles": [f"{m['org']}:{ORG_ROLES[m['role']]}" for m in memberships],
        "github_com_enterprise_roles": enterprise_roles(cloud),
        # We do not model the enterprise's verified domains: every verified e-mail is listed.
        "github_com_verified_domain_emails": [
            e["email"] for e in cloud.get("emails", []) if e["verified"]
        ],
        "github_com_saml_name_id": saml.get("name_id"),
        "github_com_orgs_with_pending_invites": list(cloud.get("pending_invitations", [])),
        "github_com_two_factor_auth": cloud.get("two_factor_auth"),
    }


def enterprise_roles(cloud: dict[str, Any]) -> list[str]:
    roles = []
    memberships = cloud.get("org_memberships", [])
    if cloud.get("enterprise_owner"):
        roles.append("Owner")
    if any(m["role"] in CONSUMING_ORG_ROLES for m in memberships):
        roles.append("Member")
    if cloud.get("outside_collaborator_repos"):
        roles.append("Outside collaborator")
    if any(m["role"] == BILLING_MANAGER for m in memberships):
        roles.append("Billing manager")
    return roles


def license_sync_status(session: Session, enterprise_id: int) -> LicenseSyncStatus:
    return LicenseSyncStatus(
        server_instances=[_sync_entry(i) for i in list_instances(session, enterprise_id)]
    )


def _sync_entry(instance: ServerInstance) -> ServerInstanceSync:
    if instance.last_sync_status is None or instance.last_sync_at is None:
        state = SyncState(date="", status="never_synced", error="")
    else:
        state = SyncState(
            date=isoformat_z(instance.last_sync_at),
            status=instance.last_sync_status,
            error=instance.last_sync_error or "",
        )
    source = instance.current_source if instance.current_source in ("connect", "upload") else None
    return ServerInstanceSync(
        server_id=instance.server_id or "",
        hostname=instance.hostname,
        last_sync=state,
        source=source or "never_synced",
    )
