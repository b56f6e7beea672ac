"""Who is calling: the operator, an enterprise owner or a server instance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Credential, Enterprise
from services.cloud_api.domain.access.tokens import digest, same_secret
from services.cloud_api.domain.errors import NotAuthenticatedError, NotFoundError


@dataclass(frozen=True, slots=True)
class OwnerPrincipal:
    enterprise_id: int
    slug: str


@dataclass(frozen=True, slots=True)
class InstancePrincipal:
    enterprise_id: int
    instance_pk: int


def check_operator(presented: str | None, operator_token: str | None) -> None:
    if not presented or not operator_token or not same_secret(presented, operator_token):
        raise NotAuthenticatedError("a valid operator token is required")


def _credential(session: Session, presented: str | None, kind: str) -> tuple[Credential, str]:
    if not presented:
        raise NotAuthenticatedError("a bearer token is required")
    wanted = digest(presented)
    row = session.execute(
        select(Credential, Enterprise.slug)
        .join(Enterprise, Enterprise.id == Credential.enterprise_id)
        .where(Credential.token_hash == wanted)
    ).first()
    credential = row[0] if row is not None else None
    # The lookup is by digest; comparing the digests again in constant time keeps the
    # decision itself free of timing differences whatever the database index does.
    if (
        credential is None
        or not same_secret(credential.token_hash, wanted)
        or credential.revoked_at is not None
        or credential.kind != kind
    ):
        raise NotAuthenticatedError(f"the token is not a valid {kind} token")
    assert row is not None
    return credential, row[1]


def authenticate_owner(session: Session, presented: str | None) -> OwnerPrincipal:
    credential, slug = _credential(session, presented, "owner")
    return OwnerPrincipal(credential.enterprise_id, slug)


def authenticate_instance(session: Session, presented: str | None) -> InstancePrincipal:
    credential, _slug = _credential(session, presented, "instance")
    if credential.server_instance_id is None:
        raise NotAuthenticatedError("the token's server instance was disconnected")
    return InstancePrincipal(credential.enterprise_id, credential.server_instance_id)


def require_enterprise(owner: OwnerPrincipal, slug: str) -> None:
    """Another enterprise's data is answered as absent: its existence is not revealed."""
    if owner.slug != slug:
        raise NotFoundError(f"enterprise {slug!r} not found")
