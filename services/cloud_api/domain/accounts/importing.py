"""Replacing an enterprise's cloud accounts in bulk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from services.cloud_api.db.models import CloudAccount, CloudAccountKey, Enterprise
from services.cloud_api.domain.accounts.consumption import consumes_license
from services.cloud_api.domain.accounts.input import CloudAccountInput
from services.cloud_api.domain.errors import InvalidInputError
from services.cloud_api.domain.tenants.enterprises import touch_accounts
from shared import InvalidEmailError, normalize_email

VERIFIED = "verified_email"
UNVERIFIED = "unverified_email"


@dataclass(frozen=True, slots=True)
class ImportResult:
    accounts: int
    consuming: int


def replace_accounts(
    session: Session, enterprise: Enterprise, accounts: Sequence[CloudAccountInput]
) -> ImportResult:
    """Validate the whole import first, then swap it in: a refused import changes nothing."""
    keys = _account_keys(accounts)
    rows = [
        {
            "enterprise_id": enterprise.id,
            "account_id": account.id,
            "login": account.login,
            "consuming": consumes_license(account),
            "details": account.model_dump(mode="json"),
        }
        for account in accounts
    ]
    session.execute(delete(CloudAccountKey).where(CloudAccountKey.enterprise_id == enterprise.id))
    session.execute(delete(CloudAccount).where(CloudAccount.enterprise_id == enterprise.id))
    if rows:
        session.execute(insert(CloudAccount), rows)
    key_rows = [
        {"enterprise_id": enterprise.id, "kind": kind, "key": key, "account_id": account_id}
        for kind, key, account_id in keys
    ]
    if key_rows:
        session.execute(insert(CloudAccountKey), key_rows)
    touch_accounts(enterprise)
    return ImportResult(len(rows), sum(1 for row in rows if row["consuming"]))


def _account_keys(accounts: Sequence[CloudAccountInput]) -> set[tuple[str, str, int]]:
    seen_ids: set[int] = set()
    seen_logins: dict[str, int] = {}
    verified_owner: dict[str, int] = {}
    keys: set[tuple[str, str, int]] = set()
    for index, account in enumerate(accounts):
        if account.id in seen_ids:
            raise InvalidInputError(f"accounts[{index}].id: duplicate account id {account.id}")
        seen_ids.add(account.id)
        other = seen_logins.setdefault(account.login.lower(), account.id)
        if other != account.id:
            raise InvalidInputError(
                f"accounts[{index}].login: login {account.login!r} is also account {other}"
            )
        for position, entry in enumerate(account.emails):
            where = f"accounts[{index}].emails[{position}].email"
            key = _email_key(entry.email, where)
            if entry.verified:
                owner = verified_owner.setdefault(key, account.id)
                if owner != account.id:
                    raise InvalidInputError(
                        f"{where}: a verified e-mail belongs to one account only, and this "
                        f"one is already verified on account {owner}",
                        code="verified_email_conflict",
                    )
            keys.add((VERIFIED if entry.verified else UNVERIFIED, key, account.id))
        keys.update((kind, key, account.id) for kind, key in identity_keys(account))
    return keys


def identity_keys(account: CloudAccountInput) -> Iterator[tuple[str, str]]:
    """The linked identity attributes that are e-mail addresses, normalized. Others (a
    NameID such as ``monalisa``) can never equal a GHES primary e-mail, so they are not kept."""
    identity = account.saml_identity
    if identity is None:
        return
    values = [
        ("saml_name_id", identity.name_id),
        ("scim_username", identity.username),
        *(("scim_email", email) for email in identity.emails),
        ("name_claim", identity.name_claim),
        ("email_claim", identity.emailaddress_claim),
    ]
    for attribute, value in values:
        if value:
            try:
                yield attribute, normalize_email(value)
            except InvalidEmailError:
                continue


def _email_key(email: str, where: str) -> str:
    try:
        return normalize_email(email)
    except InvalidEmailError as error:
        raise InvalidInputError(f"{where}: not a valid e-mail address: {error}") from None
