"""Owners' identity links (SPEC 7.4): a GHES account joined to a cloud account that e-mail
matching misses, or kept apart from every automatic merge.

A link names accounts by their stable IDs. It is *applied* while the instance is connected,
its current report has the GHES account and (for a join) the cloud account is imported;
otherwise it is *dangling*: kept, shown, and not applied, until the account is back. Its
effect on the matching is in ``licensing/rules.py`` (the reference) and
``licensing/index.py`` (the person keys); ``ingest/figure_changes.py`` records the change
of the figure a new or deleted link makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import (
    CloudAccount,
    Enterprise,
    IdentityLink,
    ServerInstance,
    ServerUser,
)
from services.cloud_api.domain.errors import ConflictError, InvalidInputError, NotFoundError
from services.cloud_api.domain.tenants.enterprises import touch_accounts
from services.cloud_api.domain.tenants.instances import find_instance
from services.cloud_api.schemas import IdentityLinkView
from services.common.clock import utcnow


@dataclass(frozen=True, slots=True)
class LinkRequest:
    server_id: str
    user_id: int
    cloud_account_id: int | None
    separate: bool


@dataclass(frozen=True, slots=True)
class LinkState:
    link: IdentityLink
    instance_pk: int | None
    """The connected instance it names, if any."""
    dangling_reason: str | None

    @property
    def applied(self) -> bool:
        return self.dangling_reason is None


def create_link(session: Session, enterprise: Enterprise, request: LinkRequest) -> IdentityLink:
    """Checks everything first: a refused link changes nothing."""
    if request.separate == (request.cloud_account_id is not None):
        raise InvalidInputError(
            "give either cloud_account_id (join the GHES account to it) or "
            '"separate": true (keep it out of every automatic merge), not both or neither',
            code="invalid_identity_link",
        )
    where = f"{request.server_id}:{request.user_id}"
    existing = session.scalar(
        select(IdentityLink).where(
            IdentityLink.enterprise_id == enterprise.id,
            IdentityLink.server_id == request.server_id,
            IdentityLink.user_id == request.user_id,
        )
    )
    if existing is not None:
        raise ConflictError(_conflict(existing, where, request), code="identity_link_conflict")
    instance = find_instance(session, enterprise.id, request.server_id)
    if instance is None:
        raise InvalidInputError(
            f"server_id: no instance {request.server_id!r} is connected to this enterprise",
            code="unknown_server_instance",
        )
    if not _reported(session, instance, request.user_id):
        raise InvalidInputError(
            f"user_id: GHES account {where} is not in the instance's current report",
            code="unknown_server_account",
        )
    if request.cloud_account_id is not None and not _imported(
        session, enterprise.id, request.cloud_account_id
    ):
        raise InvalidInputError(
            f"cloud_account_id: no cloud account {request.cloud_account_id} is imported",
            code="unknown_cloud_account",
        )
    link = IdentityLink(
        enterprise_id=enterprise.id,
        server_id=request.server_id,
        user_id=request.user_id,
        cloud_account_id=request.cloud_account_id,
        created_at=utcnow(),
    )
    session.add(link)
    touch_accounts(enterprise)
    session.flush()
    return link


def _conflict(existing: IdentityLink, where: str, request: LinkRequest) -> str:
    if existing.cloud_account_id is not None and request.cloud_account_id is not None:
        if existing.cloud_account_id != request.cloud_account_id:
            return (
                f"GHES account {where} is already joined to cloud account "
                f"{existing.cloud_account_id} by identity link {existing.id}; one GHES account "
                f"joins one cloud account only (delete link {existing.id} first)"
            )
        return f"GHES account {where} is already joined to it by identity link {existing.id}"
    kind = "kept separate" if existing.cloud_account_id is None else "joined"
    return (
        f"GHES account {where} is already {kind} by identity link {existing.id}; "
        f"delete link {existing.id} first"
    )


def delete_link(session: Session, enterprise: Enterprise, link_id: int) -> IdentityLink:
    link = session.scalar(
        select(IdentityLink).where(
            IdentityLink.enterprise_id == enterprise.id, IdentityLink.id == link_id
        )
    )
    if link is None:
        raise NotFoundError(f"identity link {link_id} not found")
    session.execute(delete(IdentityLink).where(IdentityLink.id == link.id))
    touch_accounts(enterprise)
    return link


def link_states(session: Session, enterprise_id: int) -> list[LinkState]:
    """Every link of the enterprise, oldest first, with whether it is applied now."""
    links = list(
        session.scalars(
            select(IdentityLink)
            .where(IdentityLink.enterprise_id == enterprise_id)
            .order_by(IdentityLink.id)
        )
    )
    if not links:
        return []
    instances = {
        instance.server_id: instance
        for instance in session.scalars(
            select(ServerInstance).where(ServerInstance.enterprise_id == enterprise_id)
        )
    }
    cloud_ids = {link.cloud_account_id for link in links if link.cloud_account_id is not None}
    imported = set(
        session.scalars(
            select(CloudAccount.account_id).where(
                CloudAccount.enterprise_id == enterprise_id,
                CloudAccount.account_id.in_(cloud_ids),
            )
        )
    )
    reported = _reported_pairs(session, list(instances.values()), links)
    states = []
    for link in links:
        instance = instances.get(link.server_id)
        reason = None
        if instance is None:
            reason = f"instance {link.server_id} is not connected"
        elif (instance.id, link.user_id) not in reported:
            reason = (
                f"GHES account {link.server_id}:{link.user_id} is not in the instance's "
                "current report"
            )
        elif link.cloud_account_id is not None and link.cloud_account_id not in imported:
            reason = f"cloud account {link.cloud_account_id} is not among the imported accounts"
        states.append(LinkState(link, instance.id if instance else None, reason))
    return states


def _reported(session: Session, instance: ServerInstance, user_id: int) -> bool:
    if instance.current_report_pk is None:
        return False
    found = session.scalar(
        select(ServerUser.user_id).where(
            ServerUser.report_pk == instance.current_report_pk, ServerUser.user_id == user_id
        )
    )
    return found is not None


def _reported_pairs(
    session: Session, instances: list[ServerInstance], links: list[IdentityLink]
) -> set[tuple[int, int]]:
    by_report = {i.current_report_pk: i.id for i in instances if i.current_report_pk is not None}
    if not by_report:
        return set()
    rows = session.execute(
        select(ServerUser.report_pk, ServerUser.user_id).where(
            ServerUser.report_pk.in_(list(by_report)),
            ServerUser.user_id.in_({link.user_id for link in links}),
        )
    )
    return {(by_report[report_pk], user_id) for report_pk, user_id in rows}


def _imported(session: Session, enterprise_id: int, account_id: int) -> bool:
    found = session.scalar(
        select(CloudAccount.account_id).where(
            CloudAccount.enterprise_id == enterprise_id, CloudAccount.account_id == account_id
        )
    )
    return found is not None


def link_view(found: LinkState) -> IdentityLinkView:
    link = found.link
    return IdentityLinkView(
        id=link.id,
        server_id=link.server_id,
        user_id=link.user_id,
        cloud_account_id=link.cloud_account_id,
        separate=link.cloud_account_id is None,
        state="applied" if found.applied else "dangling",
        dangling_reason=found.dangling_reason,
        created_at=link.created_at,
    )


def links_by_account(states: list[LinkState]) -> dict[tuple[int, int], IdentityLinkView]:
    """The links of connected instances by the GHES account they name, (instance, user
    ID): what a person's view shows beside its accounts."""
    return {
        (found.instance_pk, found.link.user_id): link_view(found)
        for found in states
        if found.instance_pk is not None
    }
