"""Properties of the figure (hypothesis): it depends on who the people are, not on how
the same accounts are ordered, resent or spread over instances."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.licensing.figures import figures_from_keys
from services.cloud_api.domain.licensing.index import make_index, person_keys
from services.cloud_api.domain.licensing.loaders import InstanceAccounts
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    ServerAccount,
    license_figures,
    match_persons,
)

EMAILS = [f"{name}@example.com" for name in ("ann", "bob", "cy", "dee", "ed", "flo")]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[CloudIdentity], list[ServerAccount]]:
    emails = draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=5))
    cloud = [
        CloudIdentity(
            account_id=index + 1,
            login=f"c{index}",
            consuming=draw(st.booleans()),
            verified_emails=(email,) if draw(st.booleans()) else (),
            identity_keys=(("saml_name_id", draw(st.sampled_from(EMAILS))),)
            if draw(st.booleans())
            else (),
        )
        for index, email in enumerate(emails)
    ]
    accounts = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=3),
                st.one_of(st.none(), st.sampled_from(EMAILS)),
            ),
            max_size=12,
        )
    )
    server = [
        ServerAccount(instance, user_id, email)
        for user_id, (instance, email) in enumerate(accounts, start=1)
    ]
    return cloud, server


def consumed(cloud: list[CloudIdentity], server: list[ServerAccount]) -> int:
    return license_figures(match_persons(cloud, server, saml_enabled=False)).consumed


@settings(max_examples=200, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_reordering_users_changes_nothing(world: tuple, rng: random.Random) -> None:  # type: ignore[type-arg]
    cloud, server = world
    shuffled = list(server)
    rng.shuffle(shuffled)
    assert consumed(cloud, shuffled) == consumed(cloud, server)


@settings(max_examples=200, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_splitting_an_instance_over_two_changes_nothing(world: tuple, rng: random.Random) -> None:  # type: ignore[type-arg]
    cloud, server = world
    split = [
        ServerAccount(
            9 if a.instance == 1 and rng.random() < 0.5 else a.instance, a.user_id, a.email_key
        )
        for a in server
    ]
    assert consumed(cloud, split) == consumed(cloud, server)


@settings(max_examples=300, deadline=None)
@given(worlds(), st.integers(min_value=1, max_value=3))
def test_removing_an_instance_drops_exactly_the_persons_only_it_brings(
    world: tuple,  # type: ignore[type-arg]
    instance: int,
) -> None:
    cloud, server = world
    figures = license_figures(match_persons(cloud, server, saml_enabled=False))
    without = [a for a in server if a.instance != instance]
    assert consumed(cloud, without) == figures.consumed - figures.unique_by_instance.get(
        instance, 0
    )


@settings(max_examples=300, deadline=None)
@given(worlds(), st.booleans())
def test_the_fast_figures_equal_the_person_by_person_figures(
    world: tuple,  # type: ignore[type-arg]
    saml: bool,
) -> None:
    cloud, server = world
    index = make_index(1, 1, cloud, saml)
    by_instance: dict[int, InstanceAccounts] = {}
    for account in server:
        accounts = by_instance.setdefault(
            account.instance, InstanceAccounts(f"r{account.instance}", [], [], [])
        )
        accounts.user_ids.append(account.user_id)
        accounts.email_keys.append(account.email_key)
        accounts.emails.append(account.email_key)
    fast = figures_from_keys(
        {i: person_keys(i, accounts.keys(), index) for i, accounts in by_instance.items()}, index
    )
    slow = license_figures(match_persons(cloud, server, saml_enabled=saml))
    assert fast == slow
