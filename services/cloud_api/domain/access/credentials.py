"""Issuing and revoking the bearer tokens of owners and instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Credential
from services.cloud_api.domain.access.tokens import INSTANCE_PREFIX, OWNER_PREFIX, digest, new_token
from services.cloud_api.domain.errors import NotFoundError
from services.common.audit_log import TOKEN_PREFIX_LENGTH
from services.common.clock import utcnow

_PREFIXES = {"owner": OWNER_PREFIX, "instance": INSTANCE_PREFIX}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    """Shown once, to whoever asked for it; never stored nor logged."""
    id: int

    def audit_fields(self, name: str = "issued_token") -> dict[str, Any]:
        """How an audit entry names the token: its id and first characters."""
        return {f"{name}_id": self.id, f"{name}_prefix": self.token[:TOKEN_PREFIX_LENGTH]}


def issue_credential(
    session: Session,
    kind: Literal["owner", "instance"],
    enterprise_id: int,
    instance_id: int | None = None,
) -> IssuedToken:
    """A new token of ``kind``: returned once, kept only as its digest."""
    token, token_hash = new_token(_PREFIXES[kind])
    credential = Credential(
        token_hash=token_hash,
        kind=kind,
        enterprise_id=enterprise_id,
        server_instance_id=instance_id,
        created_at=utcnow(),
    )
    session.add(credential)
    session.flush()
    return IssuedToken(token, credential.id)


def revoke_instance_tokens(session: Session, instance_id: int) -> int:
    """Revokes the instance's active tokens; returns how many."""
    revoked = session.execute(
        update(Credential)
        .where(Credential.server_instance_id == instance_id, Credential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(revoked.rowcount)  # type: ignore[attr-defined]


def revoke_token(session: Session, enterprise_id: int, token: str) -> Credential:
    """Revoke one of the enterprise's tokens; another enterprise's is answered as unknown."""
    active = (
        Credential.token_hash == digest(token),
        Credential.enterprise_id == enterprise_id,
        Credential.revoked_at.is_(None),
    )
    credential = session.scalar(select(Credential).where(*active))
    revoked = session.execute(update(Credential).where(*active).values(revoked_at=utcnow()))
    if credential is None or not revoked.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError("no such active token in this enterprise")
    return credential
