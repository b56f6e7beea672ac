"""The figure with owners' identity links and Visual Studio subscriptions counted the fast
way (person keys, ``figures.py``) equals the person-by-person count of the reference
(``rules.match_persons`` + ``rules.license_figures``), on any world (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.licensing.committers import (
    Committers,
    count_committers,
    reference_committer_figures,
)
from services.cloud_api.domain.licensing.figures import figures_from_keys
from services.cloud_api.domain.licensing.index import (
    AccountsIndex,
    LinkedAccount,
    make_index,
    person_keys,
)
from services.cloud_api.domain.licensing.loaders import InstanceAccounts, InstanceKeys
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    LicenseFigures,
    Person,
    ServerAccount,
    Subscriber,
    license_figures,
    match_persons,
)

EMAILS = [f"{name}@example.com" for name in ("ann", "bob", "cy", "dee", "ed", "flo")]
Linked = dict[int, list[LinkedAccount]]
GONE = 99
"""A cloud account ID no world imports: a link to it is dangling."""


@dataclass(frozen=True)
class World:
    cloud: list[CloudIdentity]
    server: list[ServerAccount]
    links: dict[tuple[int, int], int | None]
    saml: bool
    subscribers: list[Subscriber]

    def persons(self) -> list[Person]:
        return match_persons(
            self.cloud,
            self.server,
            saml_enabled=self.saml,
            links=self.links,
            subscribers=self.subscribers,
        )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    ids = draw(st.lists(st.integers(1, 6), unique=True, max_size=5))
    owned: set[str] = set()
    cloud = []
    for account_id in ids:
        # A verified e-mail belongs to one account (the import refuses anything else).
        emails = [e for e in draw(st.lists(st.sampled_from(EMAILS), max_size=2)) if e not in owned]
        owned.update(emails)
        cloud.append(
            CloudIdentity(
                account_id=account_id,
                login=f"c{account_id}",
                consuming=draw(st.booleans()),
                verified_emails=tuple(sorted(set(emails))),
                identity_keys=(("saml_name_id", draw(st.sampled_from(EMAILS))),)
                if draw(st.booleans())
                else (),
            )
        )
    accounts = draw(
        st.lists(
            st.tuples(st.integers(1, 3), st.one_of(st.none(), st.sampled_from(EMAILS))),
            max_size=12,
        )
    )
    server = [
        ServerAccount(instance, user_id, email)
        for user_id, (instance, email) in enumerate(accounts, start=1)
    ]
    targets = st.one_of(st.none(), st.sampled_from([*ids, GONE]))
    linked = draw(st.lists(st.sampled_from(server), unique=True)) if server else []
    links = {(a.instance, a.user_id): draw(targets) for a in linked}
    # Links may also name accounts no report has (dangling the other way round).
    if draw(st.booleans()):
        links[(1, 500)] = draw(targets)
    upns = draw(st.lists(st.sampled_from([*EMAILS, "zed@example.com"]), unique=True))
    subscribers = [Subscriber(upn, upn.upper(), "Visual Studio Enterprise") for upn in upns]
    return World(cloud, server, links, draw(st.booleans()), subscribers)


def fast_keys(world: World) -> tuple[AccountsIndex, dict[int, set[str]], Linked]:
    """The index, every instance's person keys, and the accounts each link names."""
    index = make_index(1, 1, world.cloud, world.saml, world.subscribers)
    by_instance: dict[int, InstanceAccounts] = {}
    for account in world.server:
        accounts = by_instance.setdefault(
            account.instance, InstanceAccounts(f"r{account.instance}", [], [], [])
        )
        accounts.user_ids.append(account.user_id)
        accounts.email_keys.append(account.email_key)
        accounts.emails.append(account.email_key)
    keys = {}
    linked_by_instance: Linked = {}
    for instance, accounts in by_instance.items():
        # What loaders.load_linked_accounts reads: the report's accounts a link names.
        linked = [
            (user_id, email_key, world.links[(instance, user_id)])
            for user_id, email_key in zip(accounts.user_ids, accounts.email_keys, strict=True)
            if (instance, user_id) in world.links
        ]
        keys[instance] = person_keys(instance, accounts.keys(), index, linked)
        linked_by_instance[instance] = linked
    return index, keys, linked_by_instance


def fast_figures(world: World) -> LicenseFigures:
    index, keys, _ = fast_keys(world)
    return figures_from_keys(keys, index)


@settings(max_examples=500, deadline=None)
@given(worlds())
def test_the_fast_figures_equal_the_person_by_person_figures(world: World) -> None:
    assert fast_figures(world) == license_figures(world.persons())


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_a_joined_account_is_with_its_cloud_account_and_a_separated_one_alone(
    world: World,
) -> None:
    persons = world.persons()
    imported = {identity.account_id for identity in world.cloud}
    for person in persons:
        for account in person.server_accounts:
            target = world.links.get((account.instance, account.user_id), GONE)
            if target is None:
                assert person.server_accounts == [account]
                assert person.cloud is None
            elif target in imported:
                assert person.cloud is not None
                assert person.cloud.account_id == target


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_each_subscriber_is_one_persons_and_a_person_is_one_license(world: World) -> None:
    persons = world.persons()
    held = [s.upn_key for person in persons for s in person.subscriptions]
    assert len(held) == len(set(held))  # no subscriber on two persons
    without = World(world.cloud, world.server, world.links, world.saml, [])
    before = license_figures(without.persons()).consumed
    after = license_figures(persons).consumed
    # Only cloud accounts consuming nothing else start consuming with a subscription.
    newly = {
        p.cloud.account_id
        for p in persons
        if p.subscriptions
        and p.cloud is not None
        and not p.cloud.consuming
        and not p.server_accounts
    }
    assert after == before + len(newly)
    for person in persons:
        for subscription in person.subscriptions:
            if person.cloud is None:  # GHES-only: by a GHES primary e-mail
                assert subscription.upn_key in {a.email_key for a in person.server_accounts}


@settings(max_examples=300, deadline=None)
@given(worlds(), st.data())
def test_committers_are_counted_by_the_persons_links_and_subscriptions_make(
    world: World, data: st.DataObject
) -> None:
    """Advanced Security committers are persons as licenses are: a linked committer
    account counts with its link's person, a subscribed cloud committer consumes."""
    ids = [c.account_id for c in world.cloud]
    cloud_committers = frozenset(data.draw(st.sets(st.sampled_from(ids))) if ids else ())
    server_committers = [a for a in world.server if data.draw(st.booleans())]
    instances = {a.instance for a in server_committers}
    committers = Committers(
        {
            instance: InstanceKeys(
                f"r{instance}",
                [a.email_key for a in server_committers if a.instance == instance and a.email_key],
                [
                    a.user_id
                    for a in server_committers
                    if a.instance == instance and not a.email_key
                ],
            )
            for instance in instances
        },
        frozenset((a.instance, a.user_id) for a in server_committers),
        cloud_committers,
    )
    index, keys, linked = fast_keys(world)
    fast = count_committers(committers, keys, index, linked)
    assert fast == reference_committer_figures(world.persons(), committers)
