"""Issuing, rotating and revoking bearer tokens."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Credential, Enterprise, ServerInstance
from services.cloud_api.domain.access.tokens import INSTANCE_PREFIX, OWNER_PREFIX, digest, new_token
from services.cloud_api.domain.errors import InvalidInputError, NotFoundError
from services.cloud_api.domain.tenants.instances import find_instance
from services.common.clock import utcnow


def issue_owner_token(session: Session, slug: str) -> str:
    """A further owner token (to hand over, or to recover from a lost one)."""
    enterprise = session.scalar(select(Enterprise).where(Enterprise.slug == slug))
    if enterprise is None:
        raise NotFoundError(f"enterprise {slug!r} not found")
    token, token_hash = new_token(OWNER_PREFIX)
    session.add(
        Credential(
            token_hash=token_hash, kind="owner", enterprise_id=enterprise.id, created_at=utcnow()
        )
    )
    return token


def rotate_instance_token(
    session: Session, enterprise_id: int, server_id: str
) -> tuple[ServerInstance, str]:
    """Revoke the instance's tokens and issue a new one (the agent is then reconfigured)."""
    instance = find_instance(session, enterprise_id, server_id)
    if instance is None:
        raise NotFoundError(f"server instance {server_id} not found")
    if instance.upload_only:
        raise InvalidInputError("an upload-only instance has no token", code="upload_only")
    now = utcnow()
    session.execute(
        update(Credential)
        .where(Credential.server_instance_id == instance.id, Credential.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token, token_hash = new_token(INSTANCE_PREFIX)
    session.add(
        Credential(
            token_hash=token_hash,
            kind="instance",
            enterprise_id=enterprise_id,
            server_instance_id=instance.id,
            created_at=now,
        )
    )
    return instance, token


def revoke_token(session: Session, enterprise_id: int, token: str) -> None:
    """Revoke one of the enterprise's tokens; another enterprise's is answered as unknown."""
    revoked = session.execute(
        update(Credential)
        .where(
            Credential.token_hash == digest(token),
            Credential.enterprise_id == enterprise_id,
            Credential.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if not revoked.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError("no such active token in this enterprise")
