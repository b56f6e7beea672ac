"""The enterprise's cloud accounts as the figure needs them: every address an account
answers to, resolved once, so that matching a GHES account is one dictionary lookup; and
the person keys an instance's accounts come to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.licensing.loaders import (
    InstanceKeys,
    has_links,
    load_cloud_identities,
    load_consumption,
    load_subscribers,
    load_verified_owners,
)
from services.cloud_api.domain.licensing.rules import CloudIdentity, Matcher, Subscriber

# Person keys: a matched cloud account, a GHES e-mail, or a GHES account without e-mail.
# E-mail keys never contain a tab, so the prefixes cannot collide with them.
CLOUD_PREFIX = "\tc"
NO_EMAIL_PREFIX = "\tg"


@dataclass(frozen=True, slots=True)
class AccountsIndex:
    enterprise_id: int
    version: int
    identities: list[CloudIdentity] | None
    """None in an index built for figures only (see :func:`build_figure_index`)."""
    matcher: Matcher | None
    consuming: frozenset[str]
    """Person keys of the cloud accounts that consume a license by themselves: by their
    affiliation, or by a Visual Studio subscription matched to them."""
    resolved: dict[str, str]
    """E-mail key -> person key, for every address some cloud account answers to."""
    cloud_keys: frozenset[str]
    """Person keys of every cloud account."""
    subscribers: tuple[Subscriber, ...] = ()
    """The Visual Studio subscribers, by UPN key (a subscription import changes the
    accounts version, as an accounts import does)."""
    links: bool = False
    """Whether the enterprise has identity links: only then are a report's linked accounts
    read (``loaders.load_linked_accounts``). The links themselves are read by server_id,
    so a reconnected instance finds its links under its new row."""


def cloud_key(account_id: int) -> str:
    return f"{CLOUD_PREFIX}{account_id}"


def build_index(session: Session, enterprise: Enterprise) -> AccountsIndex:
    """The complete index: identities and matcher too (listings and explanations)."""
    identities = load_cloud_identities(session, enterprise.id)
    index = make_index(
        enterprise.id,
        enterprise.accounts_version,
        identities,
        enterprise.saml_enabled,
        load_subscribers(session, enterprise.id),
    )
    return replace(index, links=has_links(session, enterprise.id))


def build_figure_index(session: Session, enterprise: Enterprise) -> AccountsIndex:
    """What the figure needs, read as plain pairs: without SAML, which account verified
    each address and which accounts consume. No identity objects: a cold start reads
    100,000s of accounts. With SAML the full matcher decides (identities win)."""
    if enterprise.saml_enabled:
        return build_index(session, enterprise)
    verified = load_verified_owners(session, enterprise.id)
    accounts = load_consumption(session, enterprise.id)
    index = make_figure_index(
        enterprise.id,
        enterprise.accounts_version,
        verified,
        accounts,
        load_subscribers(session, enterprise.id),
    )
    return replace(index, links=has_links(session, enterprise.id))


def imported_figure_index(
    session: Session,
    enterprise: Enterprise,
    verified: dict[str, int],
    consumption: Sequence[tuple[int, bool]],
) -> AccountsIndex:
    """:func:`build_figure_index` of accounts an import has just stored, from the import's
    own data rather than read back (reading 100,000 accounts back was a tenth of the
    import). ``verified``: each verified e-mail key's one account (the import enforces one);
    ``consumption``: ``(account_id, consumes by itself)`` of every account. With SAML the
    full matcher decides, from the database."""
    if enterprise.saml_enabled:
        return build_index(session, enterprise)
    index = make_figure_index(
        enterprise.id,
        enterprise.accounts_version,
        verified.items(),
        consumption,
        load_subscribers(session, enterprise.id),
    )
    return replace(index, links=has_links(session, enterprise.id))


def make_figure_index(
    enterprise_id: int,
    version: int,
    verified: Iterable[tuple[str, int]],
    accounts: Sequence[tuple[int, bool]],
    subscribers: Sequence[Subscriber] = (),
) -> AccountsIndex:
    """From ``(verified e-mail key, account_id)`` pairs (the lowest account last for a
    key) and ``(account_id, consumes by itself)`` of every account, without SAML."""
    key_of = {account_id: cloud_key(account_id) for account_id, _ in accounts}
    resolved = {key: key_of[account_id] for key, account_id in verified}
    return AccountsIndex(
        enterprise_id,
        version,
        None,
        None,
        frozenset(
            {key_of[account_id] for account_id, consuming in accounts if consuming}
            | subscribed(resolved, subscribers)
        ),
        resolved,
        frozenset(key_of.values()),
        tuple(subscribers),
    )


def subscribed(resolved: dict[str, str], subscribers: Iterable[Subscriber]) -> set[str]:
    """The cloud accounts Visual Studio subscribers' UPNs match (as a GHES primary e-mail
    would match): each consumes a license, affiliated or not (``rules.match_persons``)."""
    return {resolved[s.upn_key] for s in subscribers if s.upn_key in resolved}


def make_index(
    enterprise_id: int,
    version: int,
    identities: list[CloudIdentity],
    saml_enabled: bool,
    subscribers: Sequence[Subscriber] = (),
) -> AccountsIndex:
    matcher = Matcher(identities, saml_enabled=saml_enabled, remember=False)
    # Resolving every address a cloud account answers to once, up front, turns matching
    # each GHES account into one dictionary lookup. A verified e-mail belongs to one
    # account (the import enforces it); identity attributes, when used, win over it.
    key_of = {i.account_id: cloud_key(i.account_id) for i in identities}
    resolved = {
        address: key_of[account.account_id] for address, account in matcher.verified.items()
    }
    if saml_enabled:
        for address in matcher.identity:
            found = matcher.match(address)
            if found is not None:
                resolved[address] = key_of[found.account.account_id]
    return AccountsIndex(
        enterprise_id,
        version,
        identities,
        matcher,
        frozenset(
            {key_of[i.account_id] for i in identities if i.consuming}
            | subscribed(resolved, subscribers)
        ),
        resolved,
        frozenset(key_of.values()),
        tuple(subscribers),
    )


LinkedAccount = tuple[int, str | None, int | None]
"""A GHES account of a report that an identity link names: (user ID, its e-mail key, the
cloud account ID it is joined to or None when kept separate)."""


def person_keys(
    instance_pk: int,
    accounts: InstanceKeys,
    index: AccountsIndex,
    linked: Sequence[LinkedAccount] = (),
) -> set[str]:
    """One key per person this instance's accounts belong to: an address no cloud account
    answers to is its own key, one that some account answers to becomes that account's.
    A linked account is the key of its cloud account, or (kept separate) a key of its own;
    a link to a cloud account that is gone is dangling and changes nothing."""
    applied = [link for link in linked if link[2] is None or cloud_key(link[2]) in index.cloud_keys]
    addresses: Iterable[str] = accounts.email_keys
    no_email_ids = accounts.no_email_ids
    if applied:
        addresses, no_email_ids = _without_linked(accounts, set(addresses), applied)
    # Each address its account's key, or itself: resolved.get(address, address) called by
    # map() in C, one pass (matching by set operations took three: a dict view's
    # intersection with a set as large as it walks the slow generic path).
    keys = set(map(index.resolved.get, addresses, addresses))
    if no_email_ids:
        keys.update(f"{NO_EMAIL_PREFIX}{instance_pk}:{user_id}" for user_id in no_email_ids)
    keys.update(
        cloud_key(target) if target is not None else f"{NO_EMAIL_PREFIX}{instance_pk}:{user_id}"
        for user_id, _, target in applied
    )
    return keys


def _without_linked(
    accounts: InstanceKeys, keys: set[str], applied: list[LinkedAccount]
) -> tuple[set[str], list[int]]:
    """The keys of the accounts no link takes away: an address stays when some account
    without a link still has it."""
    moved = Counter(email_key for _, email_key, _ in applied if email_key is not None)
    if moved:
        present = Counter(key for key in accounts.email_keys if key in moved)
        keys -= {key for key, n in moved.items() if present[key] <= n}
    no_email_ids = accounts.no_email_ids
    taken = {user_id for user_id, email_key, _ in applied if email_key is None}
    if taken:
        no_email_ids = [user_id for user_id in no_email_ids if user_id not in taken]
    return keys, no_email_ids
