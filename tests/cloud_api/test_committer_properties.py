"""The fast count of Advanced Security committers (person keys, ``committers.py``) equals
the count person by person over the persons ``match_persons`` builds (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.licensing.committers import (
    Committers,
    count_committers,
    reference_committer_figures,
)
from services.cloud_api.domain.licensing.index import make_index, person_keys
from services.cloud_api.domain.licensing.loaders import InstanceAccounts, InstanceKeys
from services.cloud_api.domain.licensing.rules import match_persons
from tests.cloud_api.test_license_properties import worlds


@settings(max_examples=300, deadline=None)
@given(worlds(), st.booleans(), st.data())
def test_the_fast_committer_count_equals_the_person_by_person_count(
    world: tuple,  # type: ignore[type-arg]
    saml: bool,
    data: st.DataObject,
) -> None:
    cloud, server = world
    cloud_committers = frozenset(
        data.draw(st.sets(st.sampled_from([c.account_id for c in cloud]))) if cloud else set()
    )
    server_committers = [a for a in server if data.draw(st.booleans())]
    committers = Committers(
        {
            instance: InstanceKeys(
                f"r{instance}",
                [a.email_key for a in mine if a.email_key is not None],
                [a.user_id for a in mine if a.email_key is None],
            )
            for instance in {a.instance for a in server_committers}
            for mine in [[a for a in server_committers if a.instance == instance]]
        },
        frozenset((a.instance, a.user_id) for a in server_committers),
        cloud_committers,
    )
    index = make_index(1, 1, cloud, saml)
    by_instance: dict[int, InstanceAccounts] = {}
    for account in server:
        accounts = by_instance.setdefault(
            account.instance, InstanceAccounts(f"r{account.instance}", [], [], [])
        )
        accounts.user_ids.append(account.user_id)  # type: ignore[attr-defined]
        accounts.email_keys.append(account.email_key)
        accounts.emails.append(account.email_key)
    keys = {i: person_keys(i, accounts.keys(), index) for i, accounts in by_instance.items()}
    fast = count_committers(committers, keys, index)
    persons = match_persons(cloud, server, saml_enabled=saml)
    assert fast == reference_committer_figures(persons, committers)
