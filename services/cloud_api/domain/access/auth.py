"""Who is calling: the operator, an enterprise owner or a server instance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Credential, Enterprise
from services.cloud_api.domain.access.tokens import digest, same_secret
from services.cloud_api.domain.errors import NotAuthenticatedError, NotFoundError
from services.common.audit_log import Actor

OPERATOR = Actor(kind="operator", name="operator")
"""The operator's token comes from the environment, may be chosen by hand, and is one:
entries name it by kind alone (no id, no prefix, no hash)."""


@dataclass(frozen=True, slots=True)
class OwnerPrincipal:
    enterprise_id: int
    slug: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class InstancePrincipal:
    enterprise_id: int
    instance_pk: int
    actor: Actor


def check_operator(presented: str | None, operator_token: str | None) -> Actor:
    if not presented or not operator_token or not same_secret(presented, operator_token):
        raise NotAuthenticatedError("a valid operator token is required")
    return OPERATOR


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
    assert presented is not None  # _credential refused an absent token
    return OwnerPrincipal(credential.enterprise_id, slug, token_actor(credential, presented))


def authenticate_instance(session: Session, presented: str | None) -> InstancePrincipal:
    credential, _slug = _credential(session, presented, "instance")
    if credential.server_instance_id is None:
        raise NotAuthenticatedError("the token's server instance was disconnected")
    assert presented is not None  # _credential refused an absent token
    return InstancePrincipal(
        credential.enterprise_id,
        credential.server_instance_id,
        token_actor(credential, presented),
    )


def token_actor(credential: Credential, token: str) -> Actor:
    """How the audit log names whoever holds this token."""
    return Actor.for_token(f"{credential.kind}_token", credential.id, token, credential.token_hash)


def require_enterprise(owner: OwnerPrincipal, slug: str) -> None:
    """Another enterprise's data is answered as absent: its existence is not revealed."""
    if owner.slug != slug:
        raise NotFoundError(f"enterprise {slug!r} not found")
