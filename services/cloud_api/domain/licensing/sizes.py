"""What the license engine's cached structures hold in memory, estimated in bytes.

Containers are measured (``sys.getsizeof`` is their own table, in constant time); the
strings in them are estimated from a sample, since summing a million lengths for every
cache entry would cost more than the entry. An estimate that errs, errs high: strings
shared between entries are counted in each, so the cache bound holds.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Sequence
from itertools import islice

STR_OVERHEAD = 49
"""An ASCII ``str`` object's size without its characters (CPython, 64-bit)."""
SAMPLE = 256


def strings(values: Collection[str | None]) -> int:
    """The string objects in ``values`` (not the container)."""
    if not values:
        return 0
    sample = [v for v in islice(values, SAMPLE) if v is not None]
    if not sample:
        return 0
    average = STR_OVERHEAD + sum(map(len, sample)) / len(sample)
    return int(average * len(values) * len(sample) / min(len(values), SAMPLE))


def container(value: object) -> int:
    return sys.getsizeof(value)


def containers(values: Iterable[object]) -> int:
    return sum(map(sys.getsizeof, values))


def string_set(values: Collection[str]) -> int:
    return sys.getsizeof(values) + strings(values)


def shared_strings(values: Sequence[str | None], others: Sequence[str | None]) -> int:
    """The strings of ``values`` that are not the very objects of ``others`` at the same
    places (estimated from a sample)."""
    n = min(len(values), SAMPLE)
    if not n:
        return 0
    own = [v for v, o in zip(values[:n], others[:n], strict=False) if v is not None and v is not o]
    if not own:
        return 0
    average = STR_OVERHEAD + sum(map(len, own)) / len(own)
    return int(average * len(own) * len(values) / n)
