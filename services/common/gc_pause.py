"""Pausing Python's cyclic garbage collector while a large report is parsed and stored.

Parsing a report of 100,000 users makes 100,000 dicts at once. Each burst of allocations
triggers collections, and the older generations are traversed again and again while the
new objects survive: measured on the ingest benchmark, a fifth of the whole push (90 ms
of 460 at 100,000 users). Nothing in that work makes reference cycles, so reference
counting frees it all; the collector resumes when the last concurrent pause ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0


@contextmanager
def collector_paused() -> Iterator[None]:
    global _pauses
    with _lock:
        # Collector already off and not by us: someone wants it so; leave it alone.
        ours = _pauses > 0 or gc.isenabled()
        if ours:
            _pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _lock:
                _pauses -= 1
                if _pauses == 0:
                    gc.enable()


def hand_to_oldest() -> None:
    """Moves every tracked object into the oldest generation without traversing it
    (``gc.freeze()`` then ``gc.unfreeze()``: two list splices). For a pause that has just
    made a large structure to keep (a cold recount's million person keys in ten sets, 60 ms
    for the first young collection to traverse, in the request that made them): only a full
    collection looks at it again. Nothing is exempted from collection, but a cycle made
    meanwhile, here or in another thread, waits for that full collection too, and such
    moves do not count towards starting one: called after every pause, it let garbage
    pile up (a process serving many small enterprises grew 55 MB past its cache bound).
    So only for the rare, large ones."""
    gc.freeze()
    gc.unfreeze()
