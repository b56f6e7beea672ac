"""The tally updated report by report gives the figure counted from scratch (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.licensing.figures import (
    build_tally,
    figures_from_keys,
    figures_from_tally,
    update_tally,
)
from services.cloud_api.domain.licensing.index import AccountsIndex

KEYS = [f"k{n}" for n in range(12)]
key_sets = st.sets(st.sampled_from(KEYS), max_size=10)
# A step: an instance gets a new report (a key set), or is disconnected (None).
steps = st.lists(
    st.tuples(st.integers(1, 5), st.one_of(st.none(), key_sets)), min_size=1, max_size=12
)


def index_of(consuming: frozenset[str], cloud: frozenset[str]) -> AccountsIndex:
    return AccountsIndex(1, 1, None, None, consuming, {}, cloud)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dictionaries(st.integers(1, 5), key_sets, max_size=4),
    moves=steps,
    consuming=st.frozensets(st.sampled_from(KEYS), max_size=4),
    others=st.frozensets(st.sampled_from(KEYS), max_size=4),
)
def test_updates_equal_a_count_from_scratch(
    start: dict[int, set[str]],
    moves: list[tuple[int, set[str] | None]],
    consuming: frozenset[str],
    others: frozenset[str],
) -> None:
    cloud = consuming | others  # every consuming key is a cloud account's
    index = index_of(consuming, cloud)
    keys = dict(start)
    reports = {instance: f"r{instance}-0" for instance in keys}
    # As the engine does: the cloud keys counted while the whole set is at hand, then
    # carried through the updates.
    tally = build_tally(1, reports, keys, consuming, asked=(cloud,))
    assert figures_from_tally(tally, index) == figures_from_keys(keys, index)
    for step, (instance, new) in enumerate(moves, start=1):
        keys = dict(keys)
        reports = dict(reports)
        if new is None:
            keys.pop(instance, None)
            reports.pop(instance, None)
        else:
            keys[instance] = new
            reports[instance] = f"r{instance}-{step}"
        before = (set(tally.everyone), dict(tally.shared), dict(tally.alone))
        tally_next = update_tally(tally, 1, reports, keys, consuming, asked=(cloud,))
        # The base is never changed in place.
        assert (set(tally.everyone), dict(tally.shared), dict(tally.alone)) == before
        tally = tally_next
        assert figures_from_tally(tally, index) == figures_from_keys(keys, index)


def test_a_new_accounts_version_counts_again() -> None:
    consuming = frozenset({"k1"})
    tally = build_tally(1, {1: "r1"}, {1: {"k1", "k2"}}, consuming)
    moved = update_tally(tally, 2, {1: "r1"}, {1: {"c7"}}, frozenset())
    assert (set(moved.everyone), dict(moved.shared)) == ({"c7"}, {})
    assert moved.accounts_version == 2
