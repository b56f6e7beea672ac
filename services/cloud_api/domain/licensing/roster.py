"""The listing order of an enterprise's consuming persons, kept between requests as three
sorted lists of person keys (8 bytes a person: the keys are the figure's own strings).

The order is ``rules.py``'s: cloud persons by login, server-only persons by e-mail key,
GHES accounts without an e-mail by instance and user ID. Each kind of key is its own list
(``index.py`` gives each kind a prefix), so a page is a slice and its offset is arithmetic.

A roster lists one tally's keys (the same reports under the same accounts version) plus
the cloud accounts consuming by themselves. A new report changes some keys of one
instance: the next roster is the last one with those keys inserted or removed by binary
search, not a sort of a million keys; only a change of the cloud accounts sorts again.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from services.cloud_api.domain.licensing.figures import KeyTally
from services.cloud_api.domain.licensing.index import (
    CLOUD_PREFIX,
    NO_EMAIL_PREFIX,
    AccountsIndex,
)
from services.cloud_api.domain.licensing.logins import Logins
from services.cloud_api.domain.licensing.rules import bare_order, cloud_order
from services.cloud_api.domain.licensing.sizes import containers

# Beyond this many changed keys, one pass and a sort of nearly sorted lists is cheaper
# than moving the list's tail for each key.
MAX_INSERTS = 256
CLOUD, SERVER, BARE = 0, 1, 2

OrderKey = Callable[[str], tuple[int, str, int, int]]


@dataclass(frozen=True, slots=True)
class Roster:
    accounts_version: int
    reports: Mapping[int, str]
    """instance -> report_id listed (as the tally's)."""
    keys: Mapping[int, AbstractSet[str]]
    """instance -> its person keys (the tally's sets, shared)."""
    segments: tuple[list[str], list[str], list[str]]
    """Cloud, server-only and bare person keys, each in listing order."""

    @property
    def total(self) -> int:
        return sum(map(len, self.segments))

    def slice(self, offset: int, count: int) -> list[tuple[int, list[str]]]:
        """The keys at ``offset`` onwards, at most ``count``, as (segment, keys) runs."""
        runs = []
        for kind, segment in enumerate(self.segments):
            if offset >= len(segment):
                offset -= len(segment)
                continue
            taken = segment[offset : offset + count]
            runs.append((kind, taken))
            count -= len(taken)
            offset = 0
            if count <= 0:
                break
        return runs

    def size(self) -> int:
        return containers(self.segments)


def kind_of(key: str) -> int:
    if key.startswith(CLOUD_PREFIX):
        return CLOUD
    return BARE if key.startswith(NO_EMAIL_PREFIX) else SERVER


def order_key(logins: Mapping[int, str]) -> OrderKey:
    """A person key's place in the listing (``rules.py``'s order), given every cloud
    account's login."""

    def order(key: str) -> tuple[int, str, int, int]:
        kind = kind_of(key)
        if kind == CLOUD:
            account_id = int(key[len(CLOUD_PREFIX) :])
            return cloud_order(logins[account_id], account_id)
        if kind == BARE:
            instance, _, user_id = key[len(NO_EMAIL_PREFIX) :].partition(":")
            return bare_order(int(instance), int(user_id))
        return (1, key, 0, 0)

    return order


def build_roster(tally: KeyTally, index: AccountsIndex, logins: Mapping[int, str]) -> Roster:
    everyone = tally.everyone.as_set()  # made once here, dropped after
    server = [key for key in everyone if key[0] != "\t"]
    server.sort()  # plain string order: the keys are the addresses themselves
    tagged = [key for key in everyone if key[0] == "\t"]
    tagged += [key for key in index.consuming if key not in everyone]
    # Most logins are looked up here: as a dictionary for the sort, dropped after.
    order = order_key(logins.to_dict() if isinstance(logins, Logins) else logins)
    cloud = sorted((key for key in tagged if key.startswith(CLOUD_PREFIX)), key=order)
    bare = sorted((key for key in tagged if key.startswith(NO_EMAIL_PREFIX)), key=order)
    return Roster(index.version, dict(tally.reports), dict(tally.keys), (cloud, server, bare))


def update_roster(
    roster: Roster, tally: KeyTally, index: AccountsIndex, logins: Mapping[int, str]
) -> Roster:
    """``roster`` moved to ``tally``'s reports: by the keys that changed when it can."""
    if roster.accounts_version != tally.accounts_version:
        return build_roster(tally, index, logins)
    touched: set[str] = set()
    for instance in roster.reports.keys() | tally.reports.keys():
        if roster.reports.get(instance) != tally.reports.get(instance):
            touched |= roster.keys.get(instance, set()) ^ tally.keys.get(instance, set())
    added, removed = [], []
    for key in touched - index.consuming:  # a consuming cloud account is listed either way
        listed_before = any(key in keys for keys in roster.keys.values())
        if key in tally.everyone and not listed_before:
            added.append(key)
        elif listed_before and key not in tally.everyone:
            removed.append(key)
    segments = _moved(roster.segments, added, removed, order_key(logins))
    return Roster(roster.accounts_version, dict(tally.reports), dict(tally.keys), segments)


def _moved(
    segments: tuple[list[str], list[str], list[str]],
    added: Iterable[str],
    removed: Iterable[str],
    order: OrderKey,
) -> tuple[list[str], list[str], list[str]]:
    """New lists (the old ones may be read by another thread meanwhile)."""
    moves: tuple[tuple[list[str], list[str]], ...] = (([], []), ([], []), ([], []))
    for key in added:
        moves[kind_of(key)][0].append(key)
    for key in removed:
        moves[kind_of(key)][1].append(key)
    result = []
    for kind, (segment, (plus, minus)) in enumerate(zip(segments, moves, strict=True)):
        by = None if kind == SERVER else order
        if not plus and not minus:
            result.append(segment)
        elif len(plus) + len(minus) > MAX_INSERTS:
            gone = set(minus)
            moved = [k for k in segment if k not in gone] + plus
            moved.sort(key=by)  # two sorted runs: merged in linear time
            result.append(moved)
        else:
            result.append(_inserted(segment, plus, minus, by))
    return result[0], result[1], result[2]


def _inserted(
    segment: list[str], plus: list[str], minus: list[str], key: OrderKey | None
) -> list[str]:
    moved = list(segment)
    for gone in minus:
        at = bisect_left(moved, key(gone), key=key) if key else bisect_left(moved, gone)
        del moved[at]
    for new in plus:
        insort(moved, new, key=key)
    return moved
