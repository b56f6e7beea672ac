"""Connecting and disconnecting GHES instances."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.cloud_api.db.models import (
    Credential,
    Enterprise,
    ServerCommitter,
    ServerInstance,
    ServerUser,
)
from services.cloud_api.domain.access.credentials import (
    IssuedToken,
    issue_credential,
    revoke_instance_tokens,
)
from services.cloud_api.domain.errors import ConflictError, InvalidInputError, NotFoundError
from services.cloud_api.domain.tenants.enterprises import touch
from services.common.clock import utcnow
from shared import load_public_key


@dataclass(frozen=True, slots=True)
class NewInstance:
    instance: ServerInstance
    instance_token: IssuedToken | None


def connect_instance(
    session: Session,
    enterprise: Enterprise,
    *,
    hostname: str,
    server_id: str | None,
    public_key: str | None,
    upload_only: bool,
) -> NewInstance:
    if public_key is not None:
        try:
            load_public_key(public_key)
        except ValueError as error:
            raise InvalidInputError(f"public_key: {error}", code="invalid_public_key") from None
    if upload_only and (server_id is None or public_key is None):
        raise InvalidInputError(
            "an upload-only instance is connected with its server_id and public_key "
            "(the agent's GET /instance shows both)"
        )
    if server_id is not None and find_instance(session, enterprise.id, server_id) is not None:
        raise ConflictError(
            f"server instance {server_id} is already connected", code="instance_exists"
        )
    now = utcnow()
    instance = ServerInstance(
        enterprise_id=enterprise.id,
        server_id=server_id,
        hostname=hostname,
        public_key=public_key,
        upload_only=upload_only,
        lock_version=0,
        created_at=now,
    )
    session.add(instance)
    session.flush()
    if upload_only:
        return NewInstance(instance, None)
    return NewInstance(instance, issue_credential(session, "instance", enterprise.id, instance.id))


def find_instance(session: Session, enterprise_id: int, server_id: str) -> ServerInstance | None:
    return session.scalar(
        select(ServerInstance).where(
            ServerInstance.enterprise_id == enterprise_id, ServerInstance.server_id == server_id
        )
    )


@dataclass(frozen=True, slots=True)
class RotatedToken:
    instance: ServerInstance
    token: IssuedToken
    revoked: int
    """How many tokens stopped working (one, unless the owner had rotated concurrently)."""


def rotate_instance_token(session: Session, enterprise_id: int, server_id: str) -> RotatedToken:
    """Revoke the instance's tokens and issue a new one (the agent is then reconfigured)."""
    instance = find_instance(session, enterprise_id, server_id)
    if instance is None:
        raise NotFoundError(f"server instance {server_id} not found")
    if instance.upload_only:
        raise InvalidInputError("an upload-only instance has no token", code="upload_only")
    revoked = revoke_instance_tokens(session, instance.id)
    token = issue_credential(session, "instance", enterprise_id, instance.id)
    return RotatedToken(instance, token, revoked)


def disconnect_instance(session: Session, enterprise: Enterprise, server_id: str) -> ServerInstance:
    """Its token stops working (credentials cascade) and its report stops counting. The
    history entries stay, for the trend."""
    instance = find_instance(session, enterprise.id, server_id)
    if instance is None:
        raise NotFoundError(f"server instance {server_id} not found")
    if instance.current_report_pk is not None:
        delete_report_users(session, instance.current_report_pk)
    session.execute(delete(Credential).where(Credential.server_instance_id == instance.id))
    session.delete(instance)
    touch(enterprise)
    return instance


def delete_report_users(session: Session, report_pk: int) -> None:
    """A report that stops being current: its users and committers go."""
    session.execute(delete(ServerUser).where(ServerUser.report_pk == report_pk))
    session.execute(delete(ServerCommitter).where(ServerCommitter.report_pk == report_pk))


def list_instances(session: Session, enterprise_id: int) -> list[ServerInstance]:
    return list(
        session.scalars(
            select(ServerInstance)
            .where(ServerInstance.enterprise_id == enterprise_id)
            .order_by(ServerInstance.hostname, ServerInstance.id)
        )
    )


def offered_public_key(text: str | None) -> str | None:
    """A push's ``X-Agent-Public-Key``, checked to be an Ed25519 public key."""
    if not text:
        return None
    try:
        load_public_key(text)
    except ValueError as error:
        raise InvalidInputError(f"X-Agent-Public-Key: {error}", code="invalid_public_key") from None
    return text


def instance_public_key(session: Session, instance_pk: int) -> str | None:
    return session.scalar(select(ServerInstance.public_key).where(ServerInstance.id == instance_pk))


def learn_public_key(session: Session, instance_pk: int, public_key: str) -> None:
    """The first connected push may introduce the agent's key (its token vouches for it, and
    its signature, when signed); a key once known is never replaced this way. The key is
    checked by :func:`offered_public_key` first."""
    session.execute(
        update(ServerInstance)
        .where(ServerInstance.id == instance_pk, ServerInstance.public_key.is_(None))
        .values(public_key=public_key)
    )
