"""The enterprise figure from person keys: counted from scratch on a cold read, or kept up
to date by the keys a new report changes.

Both ways end in :func:`_figures`, and both split the keys into everyone and the keys on
one instance alone with :func:`spread`; ``rules.license_figures`` over the persons matched
one by one is the reference both are tested against.

Counting a million person keys over ten instances from scratch takes about half a second
of set arithmetic, inside the transaction that applies a report. A tally keeps, for one
set of current reports under one accounts version, on how many instances each person key
is and how many persons only each instance brings; a new report for one instance then
costs the keys that differ between its old and new report (usually a handful), plus one
copy of the counts (tallies are never changed in place: the one a transaction derives
may roll back, and the one in the cache may be read by another thread meanwhile).

Pure functions over plain data; ``tests/cloud_api/test_key_tally.py`` and
``test_license_properties.py`` check them against the reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain

from services.cloud_api.domain.licensing.index import AccountsIndex
from services.cloud_api.domain.licensing.rules import LicenseFigures

# Beyond this many changed instances a recount is as cheap as the updates.
MAX_CHANGED = 3


class KeyUnion(AbstractSet[str]):
    """Every person key of every instance, as a view of the instances' own key sets: a set
    of its own was a third of a warm enterprise's tally (32 MB at a million persons).
    Membership asks each instance's set (ten lookups at most); the size is counted once;
    :meth:`as_set` makes the set for whoever wants set arithmetic over all of it (an
    import's comparison, the listing's first build), and drops it after."""

    __slots__ = ("_counts", "_sets", "_size")

    def __init__(self, keys: Mapping[int, AbstractSet[str]], shared: Mapping[str, int]) -> None:
        self._sets = tuple(keys.values())
        # A key on n instances is in n of the sets: counted once.
        self._size = sum(map(len, self._sets)) - sum(shared.values()) + len(shared)
        self._counts: dict[int, tuple[frozenset[str], int]] = {}
        """:meth:`count_in`'s answers by the counted set's identity (the index's sets)."""

    def __contains__(self, key: object) -> bool:
        return any(key in keys for keys in self._sets)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_set())

    @classmethod
    def _from_iterable(cls, it: Iterable[str]) -> AbstractSet[str]:  # type: ignore[override]
        """What the inherited set operators make: a plain set."""
        return set(it)

    def as_set(self) -> set[str]:
        return set().union(*self._sets)

    def among(self, keys: AbstractSet[str]) -> set[str]:
        """Those of ``keys`` that are on some instance (C loops: each intersection walks
        the smaller of the two sets)."""
        return set().union(*(keys & instance_keys for instance_keys in self._sets))

    def count_in(self, keys: frozenset[str]) -> int:
        """How many of ``keys`` are on some instance: carried over from the tally this one
        was updated from (:meth:`carry`), else counted once (C loops; each difference walks
        what is left of ``keys``, not the instance's set, and what is left shrinks)."""
        found = self._counts.get(id(keys))
        if found is not None and found[0] is keys:
            return found[1]
        left: AbstractSet[str] = keys
        for instance_keys in self._sets:
            if not left:
                break
            left = left - instance_keys
        count = len(keys) - len(left)
        self._counts[id(keys)] = (keys, count)
        return count

    def know(self, keys: frozenset[str], count: int) -> None:
        """How many of ``keys`` are on some instance, counted by whoever had every key at
        hand as one set."""
        self._counts[id(keys)] = (keys, count)

    def carry(self, base: KeyUnion, entered: AbstractSet[str], left: AbstractSet[str]) -> None:
        """This union is ``base`` with ``entered`` added and ``left`` removed: the counts
        ``base`` made hold here once moved by those keys (a report moves a few)."""
        for keys, count in list(base._counts.values()):
            self._counts[id(keys)] = (keys, count + len(entered & keys) - len(left & keys))


@dataclass(frozen=True, slots=True)
class KeyTally:
    accounts_version: int
    reports: Mapping[int, str]
    """instance -> report_id the tally counts."""
    keys: Mapping[int, AbstractSet[str]]
    """instance -> its person keys (shared with the cache, never changed)."""
    everyone: KeyUnion
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
    *,
    asked: Iterable[frozenset[str]] = (),
) -> KeyTally:
    """``asked``: sets the figure asks :meth:`KeyUnion.count_in` about (the index's),
    counted here against the whole set while it exists (one lookup a key) rather than
    later through the instances' sets (a difference a set)."""
    # Set arithmetic (C loops); only keys on several instances are counted one by one.
    sets = list(keys.values())
    if len(sets) == 1:  # a first report: every key alone, nothing to copy
        ((instance, only),) = keys.items()
        alone_count = len(only) - len(only & consuming)
        return KeyTally(
            accounts_version,
            dict(reports),
            dict(keys),
            KeyUnion(keys, {}),
            {},
            {instance: alone_count},
        )
    everyone, multi = spread_multi(sets)
    shared = dict(Counter(chain.from_iterable(k & multi for k in sets))) if multi else {}
    # Keys on one instance alone, less those consuming by themselves: counted from the
    # small sets (the keys on several instances, the consuming ones), never the large.
    consuming_here = consuming & everyone
    alone = {
        instance: len(instance_keys)
        - len(instance_keys & multi)
        - len((instance_keys & consuming_here) - multi)
        for instance, instance_keys in keys.items()
    }
    union = KeyUnion(keys, shared)
    for known in (consuming, *asked):
        union.know(known, len(known & everyone))
    return KeyTally(accounts_version, dict(reports), dict(keys), union, shared, alone)


def update_tally(
    base: KeyTally,
    accounts_version: int,
    reports: Mapping[int, str],
    keys: Mapping[int, set[str]],
    consuming: frozenset[str],
    *,
    asked: Iterable[frozenset[str]] = (),
) -> KeyTally:
    """``base`` moved to ``reports``: by the changed instances' keys when that is cheaper,
    else counted again (``asked``: as :func:`build_tally`'s)."""
    changed = [
        instance
        for instance in base.reports.keys() | reports.keys()
        if base.reports.get(instance) != reports.get(instance)
    ]
    if (
        accounts_version != base.accounts_version
        or len(changed) > MAX_CHANGED
        or _mostly_new(base, changed, keys)
    ):
        return build_tally(accounts_version, reports, keys, consuming, asked=asked)
    if not changed:  # tallies are never changed in place: the base is this state
        return base
    counted = _Counts(dict(base.shared), dict(base.alone), consuming, set(), set())
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
    union = KeyUnion(held, counted.shared)
    union.carry(base.everyone, counted.entered, counted.left)
    return KeyTally(accounts_version, dict(reports), held, union, counted.shared, counted.alone)


def _mostly_new(base: KeyTally, changed: list[int], keys: Mapping[int, set[str]]) -> bool:
    """Whether the changed instances' keys differ by so many that counting everything
    again (set arithmetic, C loops) is cheaper than updating key by key (a first report,
    a report that replaces most of its users)."""
    empty: set[str] = set()
    moved = sum(len(base.keys.get(i, empty) ^ keys.get(i, empty)) for i in changed)
    return moved * 8 > len(base.everyone) + 1_000


@dataclass(slots=True)
class _Counts:
    """A tally's counts while they are updated (copies: the base stays as it was)."""

    shared: dict[str, int]
    alone: dict[int, int]
    consuming: frozenset[str]
    entered: set[str]
    """Keys on no instance before and on some now."""
    left: set[str]
    """Keys on some instance before and on none now."""

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
            n = self.shared.get(key, 1) - 1  # on how many instances now
            if n == 1:
                del self.shared[key]
            elif n > 1:
                self.shared[key] = n
            elif key in self.entered:  # n == 0: entered through another instance, gone
                self.entered.discard(key)
            else:
                self.left.add(key)
            if key in self.consuming:
                continue
            if n == 0:
                self.alone[instance] -= 1
            elif n == 1:
                self.alone[_holder(key, others)] += 1
        for key in new - old:
            elsewhere = any(key in keys for keys in others.values())
            n = (self.shared.get(key) or int(elsewhere)) + 1  # on how many instances now
            if n > 1:
                self.shared[key] = n
            elif key in self.left:  # n == 1: left through another instance, back
                self.left.discard(key)
            else:
                self.entered.add(key)
            if key in self.consuming:
                continue
            if n == 1:
                self.alone[instance] += 1
            elif n == 2:
                self.alone[_holder(key, others)] -= 1


def _holder(key: str, others: Mapping[int, AbstractSet[str]]) -> int:
    """The one other instance that holds ``key``."""
    return next(instance for instance, keys in others.items() if key in keys)


def spread(sets: list[set[str]]) -> tuple[set[str], set[str]]:
    """Every key, and the keys on exactly one of ``sets`` (set arithmetic, C loops). With
    one set both are that set itself: callers only read them."""
    if len(sets) == 1:
        return sets[0], sets[0]
    everyone, multi = spread_multi(sets)
    return everyone, everyone - multi


def spread_multi(sets: list[set[str]]) -> tuple[set[str], set[str]]:
    """Every key, and the keys on more than one of ``sets``: two passes over each set
    (most keys are on one instance, so ``multi`` stays small)."""
    everyone: set[str] = set()
    multi: set[str] = set()
    for keys in sets:
        multi |= keys & everyone
        everyone |= keys
    return everyone, multi


def figures_from_keys(
    keys_by_instance: Mapping[int, set[str]], index: AccountsIndex
) -> LicenseFigures:
    """The figure counted from scratch: the quickest way on a cold read."""
    everyone, singles = spread(list(keys_by_instance.values()))
    alone = singles - index.consuming if index.consuming else singles
    unique = {instance: len(keys & alone) for instance, keys in keys_by_instance.items()}
    return _figures(everyone, index, unique)


def figures_from_tally(tally: KeyTally, index: AccountsIndex) -> LicenseFigures:
    return _figures(tally.everyone, index, tally.alone)


def _figures(
    everyone: AbstractSet[str], index: AccountsIndex, alone: Mapping[int, int]
) -> LicenseFigures:
    """The figure, given every person key of every instance and how many persons only each
    instance brings."""
    with_cloud = _count_in(everyone, index.cloud_keys)
    cloud_only = len(index.consuming) - _count_in(everyone, index.consuming)
    return LicenseFigures(
        consumed=len(everyone) + cloud_only,
        cloud_only=cloud_only,
        server_only=len(everyone) - with_cloud,
        both=with_cloud,
        unique_by_instance={instance: n for instance, n in alone.items() if n},
    )


def _count_in(everyone: AbstractSet[str], keys: frozenset[str]) -> int:
    if isinstance(everyone, KeyUnion):
        return everyone.count_in(keys)
    return len(keys & everyone)
