"""The GitHub-compatible license views: consumed licenses (JSON and CSV rows) and sync
status, built from the same license state as ``GET /enterprise/licenses``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import CloudAccount, ServerInstance
from services.cloud_api.domain.accounts.consumption import BILLING_MANAGER, CONSUMING_ORG_ROLES
from services.cloud_api.domain.accounts.input import OrgRole
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.licensing.rules import Person
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
    state = cache.persons(session, enterprise)
    persons = [person for person in state.persons if person.consuming]
    chosen = persons[(page - 1) * per_page : page * per_page]
    users = list(consumed_license_users(session, enterprise_id, chosen))
    body = ConsumedLicenses(
        total_seats_consumed=state.figures.consumed,
        total_seats_purchased=enterprise.seats_purchased,
        users=users,
    )
    return ConsumedPage(body, len(persons))


def all_consumed_license_users(
    session: Session, cache: LicenseEngine, enterprise_id: int, chunk: int = 1000
) -> Iterator[ConsumedLicenseUser]:
    state = cache.persons(session, get_enterprise(session, enterprise_id))
    persons = [person for person in state.persons if person.consuming]
    for start in range(0, len(persons), chunk):
        yield from consumed_license_users(session, enterprise_id, persons[start : start + chunk])


def consumed_license_users(
    session: Session, enterprise_id: int, persons: Sequence[Person]
) -> Iterator[ConsumedLicenseUser]:
    hosts = {i.id: i.hostname for i in list_instances(session, enterprise_id)}
    wanted = [person.cloud.account_id for person in persons if person.cloud is not None]
    details: dict[int, dict[str, Any]] = {}
    if wanted:
        rows = session.execute(
            select(CloudAccount.account_id, CloudAccount.details).where(
                CloudAccount.enterprise_id == enterprise_id, CloudAccount.account_id.in_(wanted)
            )
        )
        details = {account_id: detail for account_id, detail in rows}
    for person in persons:
        cloud = details.get(person.cloud.account_id) if person.cloud is not None else None
        yield consumed_license_user(person, cloud, hosts)


def consumed_license_user(
    person: Person, cloud: dict[str, Any] | None, hosts: dict[int, str]
) -> ConsumedLicenseUser:
    emails = sorted({a.email for a in person.server_accounts if a.email is not None})
    server_ids = [
        f"{hosts.get(a.instance, 'disconnected')}:{a.user_id}" for a in person.server_accounts
    ]
    fields: dict[str, Any] = {
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
    }
    if cloud is not None:
        fields.update(_cloud_fields(cloud))
    return ConsumedLicenseUser(
        **fields,
        enterprise_server_user_ids=server_ids,
        enterprise_server_user=bool(person.server_accounts),
        visual_studio_subscription_user=False,
        license_type="Enterprise",
        enterprise_server_emails=emails,
        enterprise_server_primary_emails=emails,
        visual_studio_license_status=None,
        visual_studio_subscription_email=None,
        total_user_accounts=person.total_user_accounts,
    )


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
