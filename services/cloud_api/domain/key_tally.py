"""The enterprise figure kept up to date by the keys a new report changes.

Counting a million person keys over ten instances from scratch takes about half a second
of set arithmetic, inside the transaction that applies a report. A tally keeps, for one
set of current reports under one accounts version, on how many instances each person key
is and how many persons only each instance brings; a new report for one instance then
costs the keys that differ between its old and new report (usually a handful), plus one
copy of the counts (tallies are never changed in place: the one a transaction derives
may roll back, and the one in the cache may be read by another thread meanwhile).

Pure functions over plain data; ``tests/cloud_api/test_key_tally.py`` checks them against
the figure counted from scratch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain

from services.cloud_api.domain.licensing import LicenseFigures

# Beyond this many changed instances a recount is as cheap as the updates.
MAX_CHANGED = 3


@dataclass(frozen=True, slots=True)
class KeyTally:
    accounts_version: int
    reports: Mapping[int, str]
    """instance -> report_id the tally counts."""
    keys: Mapping[int, AbstractSet[str]]
    """instance -> its person keys (shared with the cache, never changed)."""
    everyone: AbstractSet[str]
    """Every person key of every instance."""
    shared: Mapping[str, int]
    """The keys on more than one instance -> on how many (the rest are on one)."""
    alone: Mapping[int, int]
    """instance -> keys on it alone that are not a cloud account consuming by itself."""


def build_tally(
    accounts_version: int,
    reports: Mapping[int, str],
    keys: Mapping[int, set[str]],
    consuming: frozenset[str],
) -> KeyTally:
    # Set arithmetic (C loops); only keys on several instances are counted one by one.
    sets = list(keys.values())
    if len(sets) == 1:  # a first report: every key alone, nothing to copy
        ((instance, only),) = keys.items()
        alone_count = len(only) - len(only & consuming)
        return KeyTally(
            accounts_version, dict(reports), dict(keys), only, {}, {instance: alone_count}
        )
    everyone: set[str] = set()
    singles: set[str] = set()
    for instance_keys in sets:
        singles -= instance_keys & everyone
        singles |= instance_keys - everyone
        everyone |= instance_keys
    multi = everyone - singles
    shared = dict(Counter(chain.from_iterable(k & multi for k in sets))) if multi else {}
    alone_keys = singles - consuming
    alone = {instance: len(instance_keys & alone_keys) for instance, instance_keys in keys.items()}
    return KeyTally(accounts_version, dict(reports), dict(keys), everyone, shared, alone)


def update_tally(
    base: KeyTally,
    accounts_version: int,
    reports: Mapping[int, str],
    keys: Mapping[int, set[str]],
    consuming: frozenset[str],
) -> KeyTally:
    """``base`` moved to ``reports``: by the changed instances' keys when that is cheaper,
    else counted again."""
    changed = [
        instance
        for instance in base.reports.keys() | reports.keys()
        if base.reports.get(instance) != reports.get(instance)
    ]
    if accounts_version != base.accounts_version or len(changed) > MAX_CHANGED:
        return build_tally(accounts_version, reports, keys, consuming)
    counted = _Counts(set(base.everyone), dict(base.shared), dict(base.alone), consuming)
    held = dict(base.keys)
    for instance in changed:
        old = held.pop(instance, set())
        new = keys.get(instance, set())
        counted.alone.setdefault(instance, 0)
        counted.replace(instance, old, new, held)
        if instance in reports:
            held[instance] = new
        else:
            del counted.alone[instance]
    return KeyTally(
        accounts_version, dict(reports), held, counted.everyone, counted.shared, counted.alone
    )


@dataclass(slots=True)
class _Counts:
    """A tally's counts while they are updated (copies: the base stays as it was)."""

    everyone: set[str]
    shared: dict[str, int]
    alone: dict[int, int]
    consuming: frozenset[str]

    def count(self, key: str) -> int:
        return self.shared.get(key) or (1 if key in self.everyone else 0)

    def replace(
        self,
        instance: int,
        old: AbstractSet[str],
        new: AbstractSet[str],
        others: Mapping[int, AbstractSet[str]],
    ) -> None:
        """``instance`` now holds ``new`` instead of ``old``; ``others`` are every other
        instance's keys."""
        for key in old - new:
            n = self.count(key) - 1
            if n == 0:
                self.everyone.discard(key)
            elif n == 1:
                del self.shared[key]
            else:
                self.shared[key] = n
            if key in self.consuming:
                continue
            if n == 0:
                self.alone[instance] -= 1
            elif n == 1:
                self.alone[_holder(key, others)] += 1
        for key in new - old:
            n = self.count(key) + 1
            if n == 1:
                self.everyone.add(key)
            else:
                self.shared[key] = n
            if key in self.consuming:
                continue
            if n == 1:
                self.alone[instance] += 1
            elif n == 2:
                self.alone[_holder(key, others)] -= 1


def _holder(key: str, others: Mapping[int, AbstractSet[str]]) -> int:
    """The one other instance that holds ``key``."""
    return next(instance for instance, keys in others.items() if key in keys)


def figures_from_tally(
    tally: KeyTally, consuming: frozenset[str], cloud_keys: frozenset[str]
) -> LicenseFigures:
    everyone = tally.everyone
    with_cloud = len(everyone & cloud_keys)
    cloud_only = len(consuming) - len(everyone & consuming)
    return LicenseFigures(
        consumed=len(everyone) + cloud_only,
        cloud_only=cloud_only,
        server_only=len(everyone) - with_cloud,
        both=with_cloud,
        unique_by_instance={instance: n for instance, n in tally.alone.items() if n},
    )
