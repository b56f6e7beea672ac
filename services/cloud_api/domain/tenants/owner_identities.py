"""Which identities of the OpenID provider are an enterprise's owners: verified e-mail
addresses, or groups in the provider's groups claim. Replaced whole, like the accounts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import OwnerIdentity
from services.cloud_api.domain.errors import InvalidInputError
from shared.emails import InvalidEmailError, normalize_email

MAX_IDENTITIES = 500
MAX_GROUP_LENGTH = 255


@dataclass(frozen=True, slots=True)
class OwnerIdentities:
    emails: list[str]
    """Compared with the provider's e-mail claim case-insensitively, and only when the
    provider says the address is verified."""
    groups: list[str]
    """Compared exactly (group names and IDs are case-sensitive at most providers)."""


def owner_identities(session: Session, enterprise_id: int) -> OwnerIdentities:
    rows = session.execute(
        select(OwnerIdentity.kind, OwnerIdentity.value)
        .where(OwnerIdentity.enterprise_id == enterprise_id)
        .order_by(OwnerIdentity.kind, OwnerIdentity.value)
    ).all()
    return OwnerIdentities(
        emails=[value for kind, value in rows if kind == "email"],
        groups=[value for kind, value in rows if kind == "group"],
    )


def checked_identities(emails: Iterable[str], groups: Iterable[str]) -> OwnerIdentities:
    """The identities as stored, or :class:`InvalidInputError` naming the first bad one."""
    keys: list[str] = []
    for position, email in enumerate(emails):
        try:
            keys.append(normalize_email(email))
        except InvalidEmailError as error:
            raise InvalidInputError(
                f"emails[{position}] is not an e-mail address: {error}", code="invalid_email"
            ) from None
    names: list[str] = []
    for position, group in enumerate(groups):
        if not group.strip() or len(group) > MAX_GROUP_LENGTH or group != group.strip():
            raise InvalidInputError(
                f"groups[{position}] must be 1 to {MAX_GROUP_LENGTH} characters without "
                "surrounding spaces",
                code="invalid_group",
            )
        names.append(group)
    unique_emails, unique_groups = sorted(set(keys)), sorted(set(names))
    if len(unique_emails) + len(unique_groups) > MAX_IDENTITIES:
        raise InvalidInputError(f"at most {MAX_IDENTITIES} owner identities")
    return OwnerIdentities(unique_emails, unique_groups)


def replace_owner_identities(
    session: Session, enterprise_id: int, identities: OwnerIdentities
) -> None:
    session.execute(delete(OwnerIdentity).where(OwnerIdentity.enterprise_id == enterprise_id))
    session.add_all(
        [
            OwnerIdentity(enterprise_id=enterprise_id, kind="email", value=e)
            for e in identities.emails
        ]
        + [
            OwnerIdentity(enterprise_id=enterprise_id, kind="group", value=g)
            for g in identities.groups
        ]
    )


def owner_match(
    identities: OwnerIdentities, verified_email: str | None, groups: Iterable[str]
) -> str | None:
    """What makes the person an owner (``email:…`` or ``group:…``), or None."""
    if verified_email is not None:
        try:
            key = normalize_email(verified_email)
        except InvalidEmailError:
            key = None
        if key is not None and key in identities.emails:
            return f"email:{key}"
    owned = set(identities.groups)
    for group in groups:
        if group in owned:
            return f"group:{group}"
    return None
