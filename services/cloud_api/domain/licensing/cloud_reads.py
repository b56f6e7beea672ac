"""What a page of a listing needs of the cloud accounts, read from the database when the
page needs it: a listing keeps no identity objects between requests (for a hundred
thousand accounts they held 30 MB), only the figure's index and the logins it sorts by."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import orjson
from sqlalchemy.orm import Session

from services.cloud_api.domain.accounts.consumption import consumes_license
from services.cloud_api.domain.accounts.importing import IDENTITY_KINDS, VERIFIED, identity_keys
from services.cloud_api.domain.licensing.loaders import json_rows, raw_rows
from services.cloud_api.domain.licensing.logins import Logins
from services.cloud_api.domain.licensing.rules import CloudIdentity, Matcher
from shared import InvalidEmailError, normalize_email

CHUNK = 500


class CloudReads:
    def __init__(self, session: Session, enterprise_id: int, saml_enabled: bool) -> None:
        self.session = session
        self.enterprise_id = enterprise_id
        self.saml_enabled = saml_enabled

    def identities(self, account_ids: Collection[int]) -> dict[int, CloudIdentity]:
        """The accounts ``account_ids`` as the rules see them, from their stored details."""
        found: dict[int, CloudIdentity] = {}
        for chunk in _chunks(sorted(set(account_ids))):
            rows = raw_rows(
                self.session,
                "SELECT account_id, CAST(details AS TEXT) FROM cloud_accounts "  # noqa: S608 (marks only)
                f"WHERE enterprise_id = ? AND account_id IN ({', '.join('?' * len(chunk))})",
                self.enterprise_id,
                *chunk,
            )
            found.update((account_id, _identity(orjson.loads(text))) for account_id, text in rows)
        return found

    def matcher(self, addresses: Collection[str]) -> Matcher:
        """The enterprise's matcher as far as ``addresses`` go: every account that claims
        one of them (who else claims an address decides an ambiguous match)."""
        kinds = (VERIFIED, *IDENTITY_KINDS)
        claimants: set[int] = set()
        for chunk in _chunks(sorted(set(addresses))):
            rows = raw_rows(
                self.session,
                "SELECT account_id FROM cloud_account_keys WHERE enterprise_id = ? "  # noqa: S608 (marks only)
                f"AND kind IN ({', '.join('?' * len(kinds))}) "
                f"AND key IN ({', '.join('?' * len(chunk))})",
                self.enterprise_id,
                *kinds,
                *chunk,
            )
            claimants.update(account_id for (account_id,) in rows)
        identities = self.identities(claimants).values()
        return Matcher(identities, saml_enabled=self.saml_enabled, remember=False)

    def logins(self) -> Logins:
        """Every account's login, by ID (listings sort cloud persons by it)."""
        rows = json_rows(
            self.session,
            "account_id, login",
            "cloud_accounts WHERE enterprise_id = ?",
            "account_id",
            self.enterprise_id,
        )
        return Logins(rows)

    def searchable(self) -> Iterator[tuple[int, list[str]]]:
        """Every account's ID with what a search finds it by: login, ID, verified e-mails
        and linked identity (normalized, as the rules compare them)."""
        texts: dict[int, list[str]] = {}
        for account_id, login in self.logins().items():
            texts[account_id] = [login, str(account_id)]
        kinds = (VERIFIED, *IDENTITY_KINDS)
        rows = json_rows(
            self.session,
            "account_id, kind, key",
            "cloud_account_keys WHERE enterprise_id = ?",
            "account_id",
            self.enterprise_id,
        )
        for account_id, kind, key in rows:
            if kind in kinds and account_id in texts:
                texts[account_id].append(key)
        yield from texts.items()


def _identity(details: dict[str, Any]) -> CloudIdentity:
    verified = []
    for entry in details.get("emails", ()):
        if entry["verified"]:
            try:
                verified.append(normalize_email(entry["email"]))
            except InvalidEmailError:  # refused by the import: never stored
                continue
    return CloudIdentity(
        details["id"],
        details["login"],
        consumes_license(details),  # type: ignore[arg-type]
        tuple(sorted(verified)),
        tuple(sorted(identity_keys(details))),  # type: ignore[arg-type]
    )


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
