"""Pages of an enterprise's consuming persons, built for the page only.

A :class:`Listing` is one state of the enterprise (a roster under one data version) with
the stored reports it lists. A page takes its person keys from the roster and finds each
person's accounts in the reports' lookups; cloud persons are then matched by
``rules.match_persons`` with a matcher of every account that claims one of the page's
addresses (read for the page: ``cloud_reads.py``), so a page holds exactly the persons
the person-by-person listing holds at those places. What a listing keeps is immutable
(reports by report_id, the roster and index by version); what a page reads of the cloud
accounts, it reads in the caller's session, which a download holds as one snapshot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter

from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.index import (
    CLOUD_PREFIX,
    NO_EMAIL_PREFIX,
    AccountsIndex,
)
from services.cloud_api.domain.licensing.lookup import ReportLookup
from services.cloud_api.domain.licensing.overrides import NONE, Overrides, Ref, position_of
from services.cloud_api.domain.licensing.roster import BARE, CLOUD, SERVER, Roster, order_key
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    Person,
    ServerAccount,
    Subscriber,
    match_persons,
)
from services.cloud_api.domain.licensing.search import CloudText, search_keys

KEPT_SEARCHES = 4
KEPT_SEARCH_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class InstanceReport:
    instance_pk: int
    lookup: ReportLookup


@dataclass(slots=True)
class Listing:
    enterprise_id: int
    data_version: int
    roster: Roster
    index: AccountsIndex
    saml_enabled: bool
    reports: list[InstanceReport]
    """The current reports, by instance (the order accounts are listed in)."""
    logins: Mapping[int, str]
    """Every cloud account's login (the cloud persons' order)."""
    cloud_text: CloudText
    overrides: Overrides = NONE
    """The identity links that apply and whose person each subscriber is."""
    _searches: OrderedDict[str, list[str]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return self.roster.total

    def page(self, offset: int, count: int, reads: CloudReads) -> list[Person]:
        persons: list[Person] = []
        for kind, keys in self.roster.slice(offset, count):
            persons += self.persons(kind, keys, reads, run=True)
        return persons

    def persons(
        self, kind: int, keys: Sequence[str], reads: CloudReads, *, run: bool
    ) -> list[Person]:
        """The persons of ``keys``, all of one kind, in their order. ``run``: the keys
        are consecutive in the roster (found by walking the reports, not key by key)."""
        if kind == CLOUD:
            return self._cloud_persons(keys, reads)
        found = self.accounts_of(kind, keys, run=run)
        overrides = self.overrides
        return [
            Person(
                cloud=None,
                server_accounts=[ServerAccount(*r) for r in refs],
                kept_separate=key in overrides.separate,
                subscriptions=list(overrides.subscriptions.get(key, ())),
            )
            for key, refs in zip(keys, found, strict=True)
        ]

    def accounts_of(self, kind: int, keys: Sequence[str], *, run: bool) -> list[list[Ref]]:
        """The GHES accounts of each of ``keys``, server-only or bare persons (who are
        their accounts and nothing else)."""
        if kind == BARE:
            return [[self._bare(key)] for key in keys]
        found = self._walk(keys) if run else self._each(keys)
        return [found[key] for key in keys]

    def search(self, needle: str, reads: CloudReads) -> list[str]:
        """Person keys, in listing order, of the persons whose login, account or user ID
        or e-mail contains ``needle`` (case-insensitive)."""
        needle = needle.casefold()
        with self._lock:
            kept = self._searches.get(needle)
            if kept is not None:
                self._searches.move_to_end(needle)
                return kept
        found = search_keys(self, needle, reads)
        found.sort(key=order_key(self.logins))
        if len(found) <= KEPT_SEARCH_KEYS:
            with self._lock:
                self._searches[needle] = found
                while len(self._searches) > KEPT_SEARCHES:
                    self._searches.popitem(last=False)
        return found

    def listed(self, key: str) -> bool:
        return key in self.index.consuming or any(key in k for k in self.roster.keys.values())

    def person_key(self, account: ServerAccount) -> str:
        linked = self.overrides.key_of(account.instance, account.user_id)
        if linked is not None:
            return linked
        if account.email_key is None:
            return f"{NO_EMAIL_PREFIX}{account.instance}:{account.user_id}"
        return self.index.resolved.get(account.email_key, account.email_key)

    def cloud_chunks(self, chunk: int = 1000) -> Iterator[list[CloudRow]]:
        """Every cloud person's account ID, GHES accounts and first subscription in
        listing order, ``chunk`` at a time (a download: no match is described, so none is
        made)."""
        segment = self.roster.segments[CLOUD]
        matched = self._all_matched() if segment else {}
        held = self.overrides.subscriptions
        for start in range(0, len(segment), chunk):
            keys = segment[start : start + chunk]
            yield [
                (_account_id(key), sorted(matched.get(key, ())), _first(held.get(key)))
                for key in keys
            ]

    def server_chunks(self, chunk: int = 1000) -> Iterator[tuple[list[str], list[list[Ref]]]]:
        """The keys and accounts of every other person in listing order, ``chunk``
        persons at a time (a download of a million: no object per person)."""
        for kind in (SERVER, BARE):
            segment = self.roster.segments[kind]
            for start in range(0, len(segment), chunk):
                keys = segment[start : start + chunk]
                yield keys, self.accounts_of(kind, keys, run=True)

    # -- finding accounts ---------------------------------------------------------------

    def account(self, report: InstanceReport, position: int) -> ServerAccount:
        return ServerAccount(*self._ref(report, position))

    @staticmethod
    def _ref(report: InstanceReport, position: int) -> Ref:
        accounts = report.lookup.accounts
        return (
            report.instance_pk,
            accounts.user_ids[position],
            accounts.email_keys[position],
            accounts.emails[position],
        )

    def _walk(self, keys: Sequence[str]) -> dict[str, list[Ref]]:
        """The accounts of sorted, consecutive server-only keys: in each report, the
        accounts between the first and the last key, fetched in C (``itemgetter``)."""
        found: dict[str, list[Ref]] = {key: [] for key in keys}
        for report in self.reports:
            lookup = report.lookup
            positions = lookup.by_key[lookup.from_key(keys[0]) : lookup.after_key(keys[-1])]
            if not positions:
                continue
            accounts, pk = lookup.accounts, report.instance_pk
            linked = self.overrides.by_instance.get(pk)
            fetch = itemgetter(*positions, positions[0])  # always a tuple: one more
            triples = zip(
                fetch(accounts.email_keys),
                fetch(accounts.user_ids),
                fetch(accounts.emails),
                strict=True,
            )
            for key, user_id, email in islice(triples, len(positions)):
                refs = found.get(key)
                if refs is not None and not (linked and user_id in linked):
                    refs.append((pk, user_id, key, email))  # else a cloud person's address
        return found

    def _each(self, keys: Sequence[str]) -> dict[str, list[Ref]]:
        found: dict[str, list[Ref]] = {key: [] for key in keys}
        for report in self.reports:
            linked = self.overrides.by_instance.get(report.instance_pk, frozenset())
            for key in keys:
                for at in report.lookup.with_key(key):
                    ref = self._ref(report, report.lookup.by_key[at])
                    if ref[1] not in linked:  # else a link gives it another person
                        found[key].append(ref)
        return found

    def _bare(self, key: str) -> Ref:
        instance, _, user_id = key[len(NO_EMAIL_PREFIX) :].partition(":")
        for report in self.reports:
            if report.instance_pk == int(instance):
                position = report.lookup.bare(int(user_id))
                if position is None and key in self.overrides.separate:
                    position = position_of(report.lookup, int(user_id))  # has an e-mail
                if position is not None:
                    return self._ref(report, position)
        raise LookupError(f"no account for person key {key!r}")

    def _matched_accounts(
        self, identities: dict[int, CloudIdentity], keys: Sequence[str]
    ) -> dict[str, list[Ref]]:
        """The GHES accounts of cloud persons: the addresses each account answers to
        that resolve to it, found in every report."""
        resolved = self.index.resolved
        overrides = self.overrides
        found: dict[str, list[Ref]] = {}
        for key in keys:
            identity = identities[_account_id(key)]
            addresses = [*identity.verified_emails, *(k for _, k in identity.identity_keys)]
            mine = {address for address in addresses if resolved.get(address) == key}
            found[key] = [
                ref
                for report in self.reports
                for address in mine
                for at in report.lookup.with_key(address)
                for ref in [self._ref(report, report.lookup.by_key[at])]
                if overrides.key_of(ref[0], ref[1]) is None  # a link decides it
            ] + overrides.joined.get(key, [])
        return found

    def _all_matched(self) -> dict[str, list[Ref]]:
        """Every cloud person's GHES accounts at once (a download lists them all)."""
        resolved = self.index.resolved
        overrides = self.overrides
        found: dict[str, list[Ref]] = {}
        for report in self.reports:
            keys = report.lookup.accounts.email_keys
            linked = overrides.by_instance.get(report.instance_pk, frozenset())
            for position in [i for i, key in enumerate(keys) if key in resolved]:
                ref = self._ref(report, position)
                if ref[1] in linked:
                    continue  # a link decides it
                owner = resolved[keys[position]]  # type: ignore[index]  # in resolved
                found.setdefault(owner, []).append(ref)
        for key, refs in overrides.joined.items():
            found.setdefault(key, []).extend(refs)
        return found

    def _cloud_persons(self, keys: Sequence[str], reads: CloudReads) -> list[Person]:
        identities = reads.identities([_account_id(key) for key in keys])
        accounts = self._matched_accounts(identities, keys)
        # In instance, then user ID order (no two accounts share both).
        server = [ServerAccount(*ref) for ref in sorted(r for k in keys for r in accounts[k])]
        links = self.overrides.links
        subscribers = self.overrides.held(keys)
        addresses = {a.email_key for a in server if a.email_key is not None}
        matcher = reads.matcher(addresses | {s.upn_key for s in subscribers})
        persons = match_persons(
            [identities[_account_id(key)] for key in keys],
            server,
            saml_enabled=self.saml_enabled,
            matcher=matcher,
            links={w: links[w] for a in server if (w := (a.instance, a.user_id)) in links},
            subscribers=subscribers,
        )
        if len(persons) != len(keys):
            raise AssertionError("a page's cloud accounts made other persons than listed")
        return persons


CloudRow = tuple[int, list[Ref], Subscriber | None]
"""A cloud person in a download: account ID, GHES accounts, first subscription."""


def _first(subscribers: list[Subscriber] | None) -> Subscriber | None:
    return subscribers[0] if subscribers else None


def _account_id(key: str) -> int:
    return int(key[len(CLOUD_PREFIX) :])
