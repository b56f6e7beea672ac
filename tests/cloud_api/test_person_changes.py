"""Who started and who stopped consuming, from the tally (hypothesis): equal to comparing
the persons matched one by one (``rules.match_persons``, the reference) before and after a
new report, a disconnect, an accounts import or a SAML switch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.licensing.figures import KeyTally, build_tally, update_tally
from services.cloud_api.domain.licensing.index import (
    NO_EMAIL_PREFIX,
    AccountsIndex,
    cloud_key,
    make_index,
    person_keys,
)
from services.cloud_api.domain.licensing.loaders import InstanceAccounts
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    Person,
    ServerAccount,
    match_persons,
)
from services.cloud_api.domain.licensing.transitions import key_changes

EMAILS = [f"{name}@example.com" for name in ("ann", "bob", "cy", "dee", "ed", "flo")]
INSTANCES = (1, 2, 3)


@st.composite
def clouds(draw: st.DrawFn) -> list[CloudIdentity]:
    ids = draw(st.lists(st.integers(1, 6), unique=True, max_size=5))
    return [
        CloudIdentity(
            account_id=account_id,
            login=f"c{account_id}",
            consuming=draw(st.booleans()),
            verified_emails=tuple(draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=1))),
            identity_keys=(("saml_name_id", draw(st.sampled_from(EMAILS))),)
            if draw(st.booleans())
            else (),
        )
        for account_id in ids
    ]


def _one_owner_per_address(cloud: list[CloudIdentity]) -> list[CloudIdentity]:
    """A verified e-mail belongs to one account (the import refuses anything else)."""
    seen: set[str] = set()
    kept = []
    for account in cloud:
        emails = tuple(e for e in account.verified_emails if e not in seen)
        seen.update(emails)
        kept.append(
            CloudIdentity(
                account.account_id,
                account.login,
                account.consuming,
                emails,
                account.identity_keys,
            )
        )
    return kept


users = st.lists(
    st.tuples(st.integers(1, 8), st.one_of(st.none(), st.sampled_from(EMAILS))),
    max_size=6,
    unique_by=lambda user: user[0],
)
reports = st.dictionaries(st.sampled_from(INSTANCES), users, max_size=3)


def reference_persons(
    cloud: list[CloudIdentity], by_instance: dict[int, list[tuple[int, str | None]]], saml: bool
) -> set[str]:
    server = [
        ServerAccount(instance, user_id, email)
        for instance, accounts in by_instance.items()
        for user_id, email in accounts
    ]
    return {
        _key(person)
        for person in match_persons(cloud, server, saml_enabled=saml)
        if person.consuming
    }


def _key(person: Person) -> str:
    if person.cloud is not None:
        return cloud_key(person.cloud.account_id)
    first = person.server_accounts[0]
    if first.email_key is not None:
        return first.email_key
    return f"{NO_EMAIL_PREFIX}{first.instance}:{first.user_id}"


def tally_of(
    index: AccountsIndex,
    by_instance: dict[int, list[tuple[int, str | None]]],
    base: KeyTally | None,
    names: dict[int, str],
) -> KeyTally:
    keys = {}
    for instance, accounts in by_instance.items():
        listed = InstanceAccounts(
            names[instance],
            [u for u, _ in accounts],
            [e for _, e in accounts],
            [e for _, e in accounts],
        )
        keys[instance] = person_keys(instance, listed.keys(), index)
    mapping = {instance: names[instance] for instance in by_instance}
    if base is None:
        return build_tally(index.version, mapping, keys, index.consuming)
    return update_tally(base, index.version, mapping, keys, index.consuming)


@settings(max_examples=400, deadline=None)
@given(clouds(), reports, st.sampled_from(INSTANCES), st.one_of(st.none(), users), st.booleans())
def test_a_report_or_a_disconnect_changes_the_persons_its_keys_say(
    cloud: list[CloudIdentity],
    before: dict[int, list[tuple[int, str | None]]],
    instance: int,
    new: list[tuple[int, str | None]] | None,
    saml: bool,
) -> None:
    cloud = _one_owner_per_address(cloud)
    index = make_index(1, 1, cloud, saml)
    after = dict(before)
    if new is None:
        after.pop(instance, None)  # disconnected
    else:
        after[instance] = new
    names = {i: f"r{i}" for i in INSTANCES}
    old = tally_of(index, before, None, names)
    moved = tally_of(index, after, old, {**names, instance: "new"})

    changes = key_changes(old, index.consuming, moved, index.consuming)

    was = reference_persons(cloud, before, saml)
    now = reference_persons(cloud, after, saml)
    assert changes.started == now - was
    assert changes.stopped == was - now
    assert len(now) - len(was) == len(changes.started) - len(changes.stopped)


@settings(max_examples=400, deadline=None)
@given(clouds(), clouds(), reports, st.booleans(), st.booleans())
def test_an_import_or_a_saml_switch_changes_the_persons_the_matching_says(
    cloud_before: list[CloudIdentity],
    cloud_after: list[CloudIdentity],
    by_instance: dict[int, list[tuple[int, str | None]]],
    saml_before: bool,
    saml_after: bool,
) -> None:
    cloud_before = _one_owner_per_address(cloud_before)
    cloud_after = _one_owner_per_address(cloud_after)
    names = {i: f"r{i}" for i in INSTANCES}
    first = make_index(1, 1, cloud_before, saml_before)
    second = make_index(1, 2, cloud_after, saml_after)
    old = tally_of(first, by_instance, None, names)
    moved = tally_of(second, by_instance, old, names)

    changes = key_changes(old, first.consuming, moved, second.consuming)

    was = reference_persons(cloud_before, by_instance, saml_before)
    now = reference_persons(cloud_after, by_instance, saml_after)
    assert changes.started == now - was
    assert changes.stopped == was - now
