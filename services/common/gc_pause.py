"""Pausing Python's cyclic garbage collector while a large report is parsed and stored.

Parsing a report of 100,000 users makes 100,000 dicts at once. Each burst of allocations
triggers collections, and the older generations are traversed again and again while the
new objects survive: measured on the ingest benchmark, a fifth of the whole push (90 ms
of 460 at 100,000 users). Nothing in that work makes reference cycles, so reference
counting frees it all; the collector resumes when the last concurrent pause ends.

What a pause made and kept (a recount's million person keys in ten sets, a report's
lists) would still be traversed by the first young collection after it, in the request
that made it: 60 ms of a cold recount at a million persons. So the last pause to end
first moves every tracked object into the oldest generation (``gc.freeze()`` then
``gc.unfreeze()``: two list splices, no traversal). Nothing is exempted from collection:
a cycle made meanwhile, by this thread or another, is collected by the next full
collection instead of a young one.
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
                    gc.freeze()  # every generation, young included, set aside...
                    gc.unfreeze()  # ...and back as the oldest
                    gc.enable()
