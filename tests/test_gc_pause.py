"""The cyclic collector's pause, and handing what a large recount made to the oldest
generation: nothing is exempted from collection, and the collector comes back on."""

from __future__ import annotations

import gc
import threading
import weakref

from services.common.gc_pause import collector_paused, hand_to_oldest


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _in_generation(obj: object, generation: int) -> bool:
    return any(found is obj for found in gc.get_objects(generation=generation))


def test_what_is_handed_over_is_in_the_oldest_generation_afterwards() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        kept = [str(n) for n in range(1000)]
        assert _in_generation(kept, 0)
        hand_to_oldest()
    assert gc.isenabled()
    assert _in_generation(kept, 2)
    assert not _in_generation(kept, 0)


def test_a_pause_alone_leaves_its_objects_to_the_young_collections() -> None:
    with collector_paused():
        kept = [str(n) for n in range(1000)]
    assert _in_generation(kept, 0)


def test_a_cycle_made_in_a_pause_is_still_collected() -> None:
    with collector_paused():
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        del first, second
        hand_to_oldest()
    assert gone() is not None  # reference counting alone cannot free a cycle
    gc.collect()
    assert gone() is None
    assert gc.get_freeze_count() == 0  # nothing left set aside


def test_the_collector_resumes_when_the_last_of_two_threads_ends_its_pause() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's pause goes on
    leave.set()
    thread.join(5)
    assert gc.isenabled()
