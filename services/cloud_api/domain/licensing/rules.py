"""The rules of unique consumed licenses: which accounts are one person (SPEC section 2),
and the figure counted person by person.

Plain functions over plain data, free of the database and the web framework, so that every
rule is tested directly. One license per person; a person consumes one when any of its
accounts does, and every GHES account in a current report does (suspended users are never
reported).

:func:`match_persons` builds the persons every listing shows. :func:`license_figures` is
the reference: production counts the figure from person keys (``figures.py``), and the
property tests check that it always equals this person-by-person count.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field


class MatchRule(enum.StrEnum):
    """How a person's accounts came together."""

    CLOUD_ONLY = "cloud_only"
    SAML_IDENTITY = "saml_identity"
    VERIFIED_EMAIL = "verified_email"
    SAME_PRIMARY_EMAIL = "same_primary_email"
    SERVER_ONLY = "server_only"
    IDENTITY_LINK = "identity_link"
    """An owner joined a GHES account to the cloud account (``identity_links``)."""
    KEPT_SEPARATE = "kept_separate"
    """An owner kept the GHES account out of every automatic merge."""


@dataclass(frozen=True, slots=True)
class CloudIdentity:
    account_id: int
    login: str
    consuming: bool
    verified_emails: tuple[str, ...] = ()
    """Normalized keys of the account's verified e-mails."""
    identity_keys: tuple[tuple[str, str], ...] = ()
    """``(attribute, normalized key)`` of the linked SAML/SCIM identity."""


@dataclass(frozen=True, slots=True)
class ServerAccount:
    instance: int
    user_id: int
    email_key: str | None
    email: str | None = None
    """As the instance reported it, for display."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A Visual Studio subscriber with GitHub Enterprise."""

    upn_key: str
    """The User Principal Name, normalized like every e-mail."""
    upn: str
    subscription: str


@dataclass(frozen=True, slots=True)
class Match:
    account: CloudIdentity
    rule: MatchRule
    attribute: str | None
    candidates: tuple[int, ...]

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


@dataclass(slots=True)
class Person:
    cloud: CloudIdentity | None
    server_accounts: list[ServerAccount] = field(default_factory=list)
    match: Match | None = None
    kept_separate: bool = False
    subscriptions: list[Subscriber] = field(default_factory=list)
    """The Visual Studio subscribers matched to it, by UPN (one license however many)."""

    @property
    def cloud_consumes(self) -> bool:
        """Its cloud account consumes by itself, or holds a Visual Studio subscription
        (a subscriber matched to a cloud account consumes its license even unaffiliated)."""
        return self.cloud is not None and (self.cloud.consuming or bool(self.subscriptions))

    @property
    def consuming(self) -> bool:
        return bool(self.server_accounts) or self.cloud_consumes

    @property
    def total_user_accounts(self) -> int:
        return total_user_accounts(self.cloud is not None, self.server_accounts)

    @property
    def rule(self) -> MatchRule:
        if self.kept_separate:
            return MatchRule.KEPT_SEPARATE
        if self.match is not None:
            return self.match.rule
        if not self.server_accounts:
            return MatchRule.CLOUD_ONLY
        if len(self.server_accounts) > 1:
            return MatchRule.SAME_PRIMARY_EMAIL
        return MatchRule.SERVER_ONLY

    @property
    def instances(self) -> frozenset[int]:
        return frozenset(account.instance for account in self.server_accounts)


def total_user_accounts(has_cloud: bool, server_accounts: Sized) -> int:
    """A person's accounts: its cloud account, if any, and its GHES accounts."""
    return has_cloud + len(server_accounts)


class Matcher:
    """Resolves a GHES primary e-mail to the cloud account it belongs to, if any."""

    def __init__(
        self, cloud: Iterable[CloudIdentity], *, saml_enabled: bool, remember: bool = True
    ) -> None:
        """``remember``: keep every answer (one enterprise's figure matches each address
        once); a matcher kept between requests does not, or it would grow with every
        address ever listed."""
        self.saml_enabled = saml_enabled
        self.remember = remember
        self.verified: dict[str, CloudIdentity] = {}
        self.identity: dict[str, list[tuple[CloudIdentity, str]]] = {}
        for account in cloud:
            for key in account.verified_emails:
                self.verified.setdefault(key, account)
            for attribute, key in account.identity_keys:
                self.identity.setdefault(key, []).append((account, attribute))
        self._cache: dict[str, Match | None] = {}

    def match(self, email_key: str) -> Match | None:
        if not self.remember:
            return self._resolve(email_key)
        if email_key not in self._cache:
            self._cache[email_key] = self._resolve(email_key)
        return self._cache[email_key]

    def _resolve(self, email_key: str) -> Match | None:
        verified = self.verified.get(email_key)
        linked = self.identity.get(email_key, []) if self.saml_enabled else []
        candidates = {account.account_id for account, _ in linked}
        if verified is not None:
            candidates.add(verified.account_id)
        ordered = tuple(sorted(candidates))
        if linked:
            # Identity attributes win over verified e-mails, then the lowest account ID.
            account, attribute = min(linked, key=lambda pair: pair[0].account_id)
            return Match(account, MatchRule.SAML_IDENTITY, attribute, ordered)
        if verified is not None:
            return Match(verified, MatchRule.VERIFIED_EMAIL, None, ordered)
        return None


Links = Mapping[tuple[int, int], int | None]
"""An owner's identity links: (instance, GHES user ID) -> the cloud account ID it is
joined to, or None when it is kept separate."""


def match_persons(
    cloud: Sequence[CloudIdentity],
    server: Iterable[ServerAccount],
    *,
    saml_enabled: bool,
    matcher: Matcher | None = None,
    links: Links | None = None,
    subscribers: Sequence[Subscriber] = (),
) -> list[Person]:
    """Every person with at least one GHES account or a consuming cloud account.

    ``matcher``: one built from every cloud account of the enterprise, when ``cloud`` and
    ``server`` are only some persons' accounts (a page of a listing): who else claims an
    address decides whether a match is ambiguous.

    A Visual Studio subscriber belongs to the cloud account its UPN matches like a GHES
    primary e-mail would (a verified e-mail, or with SAML an identity attribute), else to a
    person with GHES accounts only whose primary e-mail is the UPN, else to nobody. A cloud
    account with a subscriber consumes a license (one, whatever else the person has).

    An identity link overrides the automatic rules for the one GHES account it names: a
    join puts it with its cloud account, a separation makes it a person of its own. A join
    naming a cloud account that is gone is dangling, and the automatic rules apply."""
    matcher = matcher or Matcher(cloud, saml_enabled=saml_enabled)
    by_id = {identity.account_id: identity for identity in cloud} if links else {}
    by_cloud: dict[int, Person] = {}
    by_email: dict[str, Person] = {}
    persons: list[Person] = []
    for account in server:
        where = (account.instance, account.user_id)
        if links and where in links:
            target = links[where]
            if target is None:
                persons.append(Person(cloud=None, server_accounts=[account], kept_separate=True))
                continue
            linked = by_id.get(target)
            if linked is not None:
                person = by_cloud.get(target)
                if person is None:
                    match = Match(linked, MatchRule.IDENTITY_LINK, None, (target,))
                    person = by_cloud[target] = Person(linked, match=match)
                    persons.append(person)
                person.server_accounts.append(account)
                continue
        if account.email_key is None:
            persons.append(Person(cloud=None, server_accounts=[account]))
            continue
        found = matcher.match(account.email_key)
        if found is None:
            person = by_email.get(account.email_key)
            if person is None:
                person = by_email[account.email_key] = Person(cloud=None)
                persons.append(person)
        else:
            person = by_cloud.get(found.account.account_id)
            if person is None:
                person = by_cloud[found.account.account_id] = Person(found.account, match=found)
                persons.append(person)
            elif person.match is None or (found.ambiguous and not person.match.ambiguous):
                person.match = found
        person.server_accounts.append(account)
    server_only_by_email: dict[str, Person] = {}
    # An address's own person first, then persons kept separate (in the order they came).
    for person in sorted(persons, key=lambda p: p.kept_separate):
        if person.cloud is None:
            for account in person.server_accounts:
                if account.email_key is not None:
                    server_only_by_email.setdefault(account.email_key, person)
    subscribed: dict[int, list[Subscriber]] = {}
    for subscriber in sorted(subscribers, key=lambda s: s.upn_key):
        found = matcher.match(subscriber.upn_key)
        if found is not None:
            subscribed.setdefault(found.account.account_id, []).append(subscriber)
        elif subscriber.upn_key in server_only_by_email:
            server_only_by_email[subscriber.upn_key].subscriptions.append(subscriber)
    for identity in cloud:
        person = by_cloud.get(identity.account_id)
        held = subscribed.get(identity.account_id, [])
        if person is None and (identity.consuming or held):
            person = Person(cloud=identity)
            persons.append(person)
        if person is not None:
            person.subscriptions.extend(held)
    persons.sort(key=_listing_order)
    return persons


def _listing_order(person: Person) -> tuple[int, str, int, int]:
    if person.cloud is not None:
        return cloud_order(person.cloud.login, person.cloud.account_id)
    first = person.server_accounts[0]
    if first.email_key is not None and not person.kept_separate:
        return (1, first.email_key, 0, 0)
    return bare_order(first.instance, first.user_id)


# The listing order: cloud persons by login, then server-only persons by e-mail key, then
# GHES accounts without an e-mail, and those an identity link keeps separate (each a person
# of its own, whatever its address), by instance and user ID. Listings kept in order between
# requests (licensing/roster.py) sort by these same functions.


def cloud_order(login: str, account_id: int) -> tuple[int, str, int, int]:
    return (0, login.lower(), account_id, 0)


def bare_order(instance: int, user_id: int) -> tuple[int, str, int, int]:
    return (2, "", instance, user_id)


@dataclass(frozen=True, slots=True)
class LicenseFigures:
    consumed: int
    cloud_only: int
    server_only: int
    both: int
    unique_by_instance: dict[int, int]
    """For each instance: how many persons only it brings (the drop without it)."""


def license_figures(persons: Iterable[Person]) -> LicenseFigures:
    """The reference figure, person by person (used by the tests and benchmarks that check
    the fast count of ``figures.py`` against it)."""
    consumed = cloud_only = server_only = both = 0
    unique: Counter[int] = Counter()
    for person in persons:
        if not person.consuming:
            continue
        consumed += 1
        if not person.server_accounts:
            cloud_only += 1
            continue
        if person.cloud is None:
            server_only += 1
        else:
            both += 1
        instances = person.instances
        if len(instances) == 1 and not person.cloud_consumes:
            unique[next(iter(instances))] += 1
    return LicenseFigures(consumed, cloud_only, server_only, both, dict(unique))
