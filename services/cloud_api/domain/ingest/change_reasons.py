"""Why each changed person started or stopped consuming, in a word (``Reason``).

A report changes one instance's accounts: a person starts because an account appeared, or
because an account's primary e-mail changed (which merges it into another person, splits
it from one, or simply makes it another person). An accounts import or a SAML switch
changes the cloud side and the matching: accounts added or removed, an affiliation that
now does or no longer does consume, and GHES accounts that a cloud account now does or no
longer does answer to. A disconnect only stops persons.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.cloud_api.domain.ingest.changed_persons import (
    ServerAccountAt,
    cloud_id,
    person_key,
)
from services.cloud_api.domain.ingest.history_points import Reason
from services.cloud_api.domain.licensing.index import CLOUD_PREFIX, AccountsIndex
from services.cloud_api.domain.licensing.loaders import InstanceAccounts
from services.cloud_api.domain.licensing.transitions import KeyChanges


def report_reasons(
    changes: KeyChanges,
    accounts: tuple[Mapping[str, list[ServerAccountAt]], Mapping[str, list[ServerAccountAt]]],
    instance_pk: int,
    reports: tuple[InstanceAccounts | None, InstanceAccounts],
    index: AccountsIndex,
    links: Mapping[int, int | None] | None = None,
) -> dict[str, Reason]:
    """Every changed key is on this instance alone (the others did not change), so a
    started person's accounts are in the new report, a stopped one's in the old report:
    ``accounts`` gives them (started, stopped), ``reports`` the two reports (old, new)."""
    (started_accounts, stopped_accounts), (old, new) = accounts, reports
    if old is None:  # an instance's first report: everyone in it is new
        return dict.fromkeys(changes.started, Reason.SERVER_ACCOUNT_ADDED)
    old_side = _Side(old, instance_pk, index, links)
    new_side = _Side(new, instance_pk, index, links)
    reasons: dict[str, Reason] = {}
    for key in changes.started:
        users = [user for _, user, _ in started_accounts.get(key, [])]
        before = [old_side.key_of(u) for u in users]
        if not users or None in before:
            reasons[key] = Reason.SERVER_ACCOUNT_ADDED
        else:
            reasons[key] = _email_change(str(before[0]), key, changes)
    for key in changes.stopped:
        users = [user for _, user, _ in stopped_accounts.get(key, [])]
        after = [new_side.key_of(u) for u in users]
        if not users or None in after:
            reasons[key] = Reason.SERVER_ACCOUNT_REMOVED
        else:
            reasons[key] = _email_change(key, str(after[0]), changes)
    return reasons


class _Side:
    """One report's person key of a user, looked up by user ID (the position map is built
    on first use: a report whose changes are all additions never needs it)."""

    def __init__(
        self,
        accounts: InstanceAccounts | None,
        instance_pk: int,
        index: AccountsIndex,
        links: Mapping[int, int | None] | None,
    ):
        self._accounts = accounts
        self._instance_pk = instance_pk
        self._index = index
        self._links = links
        self._positions: dict[int, int] | None = None

    def key_of(self, user_id: int) -> str | None:
        if self._accounts is None:
            return None
        if self._positions is None:
            self._positions = dict(
                zip(self._accounts.user_ids, range(len(self._accounts.user_ids)), strict=True)
            )
        position = self._positions.get(user_id)
        if position is None:
            return None
        email_key = self._accounts.email_keys[position]
        return person_key(self._instance_pk, user_id, email_key, self._index, self._links)


def _email_change(old_key: str, new_key: str, changes: KeyChanges) -> Reason:
    """An account moved from the person ``old_key`` to the person ``new_key``."""
    if old_key not in changes.stopped:
        return Reason.ACCOUNTS_SPLIT  # it left a person who still consumes
    if new_key not in changes.started:
        return Reason.ACCOUNTS_MERGED  # it joined a person who already consumed
    if new_key.startswith(CLOUD_PREFIX):
        return Reason.ACCOUNTS_MERGED
    if old_key.startswith(CLOUD_PREFIX):
        return Reason.ACCOUNTS_SPLIT
    return Reason.EMAIL_CHANGED


def matching_reasons(
    changes: KeyChanges, before: AccountsIndex, after: AccountsIndex
) -> dict[str, Reason]:
    """For an accounts import or a SAML switch: the GHES accounts stayed as they were."""
    reasons: dict[str, Reason] = {}
    for key in changes.started:
        if cloud_id(key) is not None:
            if key not in before.cloud_keys:
                reasons[key] = Reason.CLOUD_ACCOUNT_ADDED
            elif key in after.consuming and key not in before.consuming:
                reasons[key] = Reason.AFFILIATION_CHANGED
            else:
                reasons[key] = Reason.ACCOUNTS_MERGED
        else:  # an address (or account) a cloud account answered to before, and not now
            owner = before.resolved.get(key)
            gone = owner is not None and owner not in after.cloud_keys
            reasons[key] = Reason.CLOUD_ACCOUNT_REMOVED if gone else Reason.ACCOUNTS_SPLIT
    for key in changes.stopped:
        if cloud_id(key) is not None:
            if key not in after.cloud_keys:
                reasons[key] = Reason.CLOUD_ACCOUNT_REMOVED
            elif key in before.consuming and key not in after.consuming:
                reasons[key] = Reason.AFFILIATION_CHANGED
            else:
                reasons[key] = Reason.ACCOUNTS_SPLIT
        else:  # a cloud account answers to it now
            owner = after.resolved.get(key)
            new = owner is not None and owner not in before.cloud_keys
            reasons[key] = Reason.CLOUD_ACCOUNT_ADDED if new else Reason.ACCOUNTS_MERGED
    return reasons
