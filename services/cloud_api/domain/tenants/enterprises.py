from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.access.credentials import IssuedToken, issue_credential
from services.cloud_api.domain.errors import ConflictError, NotFoundError
from services.common.clock import utcnow


@dataclass(frozen=True, slots=True)
class NewEnterprise:
    enterprise: Enterprise
    owner_token: IssuedToken


def create_enterprise(
    session: Session, *, slug: str, name: str, seats_purchased: int, saml_enabled: bool
) -> NewEnterprise:
    if session.scalar(select(Enterprise.id).where(Enterprise.slug == slug)) is not None:
        raise ConflictError(f"an enterprise with slug {slug!r} exists", code="slug_taken")
    now = utcnow()
    enterprise = Enterprise(
        slug=slug,
        name=name,
        seats_purchased=seats_purchased,
        saml_enabled=saml_enabled,
        data_version=1,
        accounts_version=1,
        created_at=now,
    )
    session.add(enterprise)
    session.flush()
    return NewEnterprise(enterprise, issue_credential(session, "owner", enterprise.id))


def enterprise_by_slug(session: Session, slug: str) -> Enterprise:
    enterprise = session.scalar(select(Enterprise).where(Enterprise.slug == slug))
    if enterprise is None:
        raise NotFoundError(f"enterprise {slug!r} not found")
    return enterprise


def issue_owner_token(session: Session, enterprise: Enterprise) -> IssuedToken:
    """A further owner token (to hand over, or to recover from a lost one)."""
    return issue_credential(session, "owner", enterprise.id)


def get_enterprise(session: Session, enterprise_id: int) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError("enterprise not found")
    return enterprise


def touch(enterprise: Enterprise) -> None:
    """Record that the figure may have moved (see ``Enterprise.data_version``).

    The increment is done by the database (``SET data_version = data_version + 1`` at
    flush), which also takes the enterprise's row lock: concurrent changes to one
    enterprise get distinct versions, and whatever a transaction computes after its flush
    sees every change committed before it. A read-modify-write in Python would let two
    replicas label two different states with the same version."""
    enterprise.data_version = Enterprise.data_version + 1


def update_enterprise(
    session: Session,
    slug: str,
    *,
    name: str | None = None,
    seats_purchased: int | None = None,
    saml_enabled: bool | None = None,
) -> Enterprise:
    enterprise = enterprise_by_slug(session, slug)
    if name is not None:
        enterprise.name = name
    if seats_purchased is not None:
        enterprise.seats_purchased = seats_purchased
    if saml_enabled is not None and saml_enabled != enterprise.saml_enabled:
        enterprise.saml_enabled = saml_enabled
        touch_accounts(enterprise)  # matching rules change: the figure may move
    return enterprise


def touch_accounts(enterprise: Enterprise) -> None:
    """The cloud accounts or matching rules changed (and so may the figure)."""
    enterprise.accounts_version = Enterprise.accounts_version + 1
    touch(enterprise)
