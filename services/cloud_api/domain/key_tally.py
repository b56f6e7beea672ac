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
from dataclasses import dataclass

from services.cloud_api.domain.licensing import LicenseFigures

# Beyond this many changed instances a recount is as cheap as the updates.
MAX_CHANGED = 3


@dataclass(frozen=True, slots=True)
class KeyTally:
    accounts_version: int
    reports: Mapping[int, str]
    """instance -> report_id the tally counts."""
    keys: Mapping[int, frozenset[str] | set[str]]
    """instance -> its person keys (shared with the cache, never changed)."""
    counts: Mapping[str, int]
    """person key -> on how many instances it is."""
    alone: Mapping[int, int]
    """instance -> keys on it alone that are not a cloud account consuming by itself."""


def build_tally(
    accounts_version: int,
    reports: Mapping[int, str],
    keys: Mapping[int, set[str]],
    consuming: frozenset[str],
) -> KeyTally:
    counts: Counter[str] = Counter()
    for instance_keys in keys.values():
        counts.update(instance_keys)
    singles = {key for key, n in counts.items() if n == 1}
    singles -= consuming
    alone = {instance: len(instance_keys & singles) for instance, instance_keys in keys.items()}
    return KeyTally(accounts_version, dict(reports), dict(keys), dict(counts), alone)


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
    counts = dict(base.counts)
    alone = dict(base.alone)
    held = dict(base.keys)
    for instance in changed:
        old = held.pop(instance, set())
        new = keys.get(instance, set())
        alone.setdefault(instance, 0)
        _apply(instance, old, new, held, counts, alone, consuming)
        if instance in reports:
            held[instance] = new
        else:
            del alone[instance]
    return KeyTally(accounts_version, dict(reports), held, counts, alone)


def _apply(
    instance: int,
    old: frozenset[str] | set[str],
    new: frozenset[str] | set[str],
    others: Mapping[int, frozenset[str] | set[str]],
    counts: dict[str, int],
    alone: dict[int, int],
    consuming: frozenset[str],
) -> None:
    """``instance`` now holds ``new`` instead of ``old``; ``others`` are every other
    instance's keys."""
    for key in old - new:
        n = counts[key] - 1
        if n == 0:
            del counts[key]
            if key not in consuming:
                alone[instance] -= 1
            continue
        counts[key] = n
        if n == 1 and key not in consuming:
            alone[_holder(key, others)] += 1
    for key in new - old:
        n = counts.get(key, 0) + 1
        counts[key] = n
        if key in consuming:
            continue
        if n == 1:
            alone[instance] += 1
        elif n == 2:
            alone[_holder(key, others)] -= 1


def _holder(key: str, others: Mapping[int, frozenset[str] | set[str]]) -> int:
    """The one other instance that holds ``key``."""
    return next(instance for instance, keys in others.items() if key in keys)


def figures_from_tally(
    tally: KeyTally, consuming: frozenset[str], cloud_keys: frozenset[str]
) -> LicenseFigures:
    everyone = tally.counts.keys()
    with_cloud = len(everyone & cloud_keys)
    cloud_only = len(consuming) - len(everyone & consuming)
    return LicenseFigures(
        consumed=len(everyone) + cloud_only,
        cloud_only=cloud_only,
        server_only=len(everyone) - with_cloud,
        both=with_cloud,
        unique_by_instance={instance: n for instance, n in tally.alone.items() if n},
    )
