"""What owners decided over the automatic matching, as a listing needs it: the identity
links that apply to the current reports' accounts, and whose person each Visual Studio
subscriber belongs to (``rules.match_persons`` is the reference for both).

Built with a listing, for its data version (a link or a subscription import changes the
accounts version, and so the data version); empty, and free, for an enterprise without
links or subscribers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from services.cloud_api.domain.licensing.index import NO_EMAIL_PREFIX, AccountsIndex, cloud_key
from services.cloud_api.domain.licensing.lookup import ReportLookup
from services.cloud_api.domain.licensing.rules import Subscriber

Ref = tuple[int, int, str | None, str | None]
"""A GHES account as ``ServerAccount``'s fields: instance, user ID, e-mail key, e-mail."""


@dataclass(frozen=True, slots=True)
class Overrides:
    links: Mapping[tuple[int, int], int | None] = field(default_factory=dict)
    """(instance, user ID) -> the cloud account joined to, or None when kept separate:
    only links that apply (their account is in a current report, their cloud account is
    not gone)."""
    by_instance: Mapping[int, frozenset[int]] = field(default_factory=dict)
    """instance -> the user IDs a link applies to (the automatic rules skip them)."""
    joined: Mapping[str, list[Ref]] = field(default_factory=dict)
    """A cloud person key -> the GHES accounts linked to it, by instance and user ID."""
    separate: frozenset[str] = frozenset()
    """The person keys of the GHES accounts kept separate."""
    subscriptions: Mapping[str, list[Subscriber]] = field(default_factory=dict)
    """A person key -> the subscribers matched to it, by UPN."""

    def key_of(self, instance: int, user_id: int) -> str | None:
        """The person key a link gives the account, or None when no link applies."""
        if not self.links or (instance, user_id) not in self.links:
            return None
        target = self.links[(instance, user_id)]
        return bare_key(instance, user_id) if target is None else cloud_key(target)

    def held(self, keys: Collection[str]) -> list[Subscriber]:
        return [s for key in keys for s in self.subscriptions.get(key, ())]


NONE = Overrides()


def bare_key(instance: int, user_id: int) -> str:
    return f"{NO_EMAIL_PREFIX}{instance}:{user_id}"


def position_of(lookup: ReportLookup, user_id: int) -> int | None:
    """The position of the account ``user_id`` in its report (users are in ID order)."""
    ids = lookup.accounts.user_ids
    at = bisect_left(ids, user_id)
    return at if at < len(ids) and ids[at] == user_id else None


def build_overrides(
    links: Mapping[tuple[int, int], int | None],
    index: AccountsIndex,
    reports: Sequence[tuple[int, ReportLookup]],
    listed: Collection[str],
) -> Overrides:
    """``links``: every identity link by (instance, user ID); ``reports``: the current
    reports' lookups by instance; ``listed``: the listed person keys (membership only)."""
    if not links and not index.subscribers:
        return NONE
    applied: dict[tuple[int, int], int | None] = {}
    joined: dict[str, list[Ref]] = {}
    separate_by_email: dict[str, str] = {}
    of_instance: dict[int, list[tuple[int, int | None]]] = {}
    for (instance, user_id), target in sorted(links.items()):
        if target is None or cloud_key(target) in index.cloud_keys:  # else dangling
            of_instance.setdefault(instance, []).append((user_id, target))
    for instance, lookup in reports:
        accounts = lookup.accounts
        for user_id, target in of_instance.get(instance, ()):
            at = position_of(lookup, user_id)
            if at is None:
                continue
            applied[(instance, user_id)] = target
            ref = (instance, user_id, accounts.email_keys[at], accounts.emails[at])
            if target is not None:
                joined.setdefault(cloud_key(target), []).append(ref)
            elif ref[2] is not None:
                separate_by_email.setdefault(ref[2], bare_key(instance, user_id))
    by_instance: dict[int, set[int]] = {}
    for instance, user_id in applied:
        by_instance.setdefault(instance, set()).add(user_id)
    subscriptions: dict[str, list[Subscriber]] = {}
    for subscriber in sorted(index.subscribers, key=lambda s: s.upn_key):
        upn = subscriber.upn_key
        # Its cloud account, else the server-only person of that address, else the first
        # account kept separate with it (``rules.match_persons``).
        key = index.resolved.get(upn) or (upn if upn in listed else separate_by_email.get(upn))
        if key is not None:
            subscriptions.setdefault(key, []).append(subscriber)
    return Overrides(
        applied,
        {instance: frozenset(ids) for instance, ids in by_instance.items()},
        joined,
        frozenset(bare_key(*where) for where, target in applied.items() if target is None),
        subscriptions,
    )
