"""Issuing and revoking the bearer tokens of owners and instances."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Credential
from services.cloud_api.domain.access.tokens import INSTANCE_PREFIX, OWNER_PREFIX, digest, new_token
from services.cloud_api.domain.errors import NotFoundError
from services.common.clock import utcnow

_PREFIXES = {"owner": OWNER_PREFIX, "instance": INSTANCE_PREFIX}


def issue_credential(
    session: Session,
    kind: Literal["owner", "instance"],
    enterprise_id: int,
    instance_id: int | None = None,
) -> str:
    """A new token of ``kind``: returned once, kept only as its digest."""
    token, token_hash = new_token(_PREFIXES[kind])
    session.add(
        Credential(
            token_hash=token_hash,
            kind=kind,
            enterprise_id=enterprise_id,
            server_instance_id=instance_id,
            created_at=utcnow(),
        )
    )
    return token


def revoke_instance_tokens(session: Session, instance_id: int) -> None:
    session.execute(
        update(Credential)
        .where(Credential.server_instance_id == instance_id, Credential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


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
