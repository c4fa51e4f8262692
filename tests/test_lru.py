"""BoundedLRU, the one bounded LRU: what it keeps, what it evicts, and that threads cannot break it."""

from __future__ import annotations

import random
import threading

import pytest

from flask_authrocket.lru import BoundedLRU


def test_it_keeps_at_most_size_entries_and_evicts_the_least_recently_used():
    memory = BoundedLRU[str, int](3)
    for name, value in (("a", 1), ("b", 2), ("c", 3)):
        memory.put(name, value)

    assert memory.get("a") == 1  # a was read: b is now the least recently used
    memory.put("d", 4)

    assert sorted(memory) == ["a", "c", "d"]
    assert (memory.get("b"), memory.get("a"), memory.get("d")) == (None, 1, 4)


def test_entries_read_since_they_moved_outlive_those_that_were_not():
    memory = BoundedLRU[int, int](4)
    for number in range(4):
        memory.put(number, number)
    memory.get(0)
    memory.get(2)

    memory.put(4, 4)
    memory.put(5, 5)

    assert sorted(memory) == [0, 2, 4, 5]


def test_when_everything_was_read_the_oldest_goes_first():
    memory = BoundedLRU[int, int](3)
    for number in range(3):
        memory.put(number, number)
    for number in range(3):
        memory.get(number)

    memory.put(3, 3)

    assert sorted(memory) == [1, 2, 3]


def test_peek_does_not_count_as_a_use():
    memory = BoundedLRU[str, int](2)
    memory.put("a", 1)
    memory.put("b", 2)

    assert memory.peek("a") == 1
    memory.put("c", 3)

    assert "a" not in memory and sorted(memory) == ["b", "c"]


def test_a_value_is_replaced_whole_and_becomes_the_newest():
    memory = BoundedLRU[str, int](2)
    memory.put("a", 1)
    memory.put("b", 2)
    memory.put("a", 10)
    memory.put("c", 3)

    assert (memory.get("a"), memory.get("b"), memory.get("c")) == (10, None, 3)


def test_discard_forgets_only_the_value_it_was_given():
    memory = BoundedLRU[str, tuple[int]](2)
    first, second = (1,), (2,)
    memory.put("a", first)
    memory.put("a", second)

    memory.discard("a", first)  # a reader's stale view: the newer value stays
    assert memory.get("a") is second
    memory.discard("a")
    assert memory.get("a") is None and len(memory) == 0


def test_size_zero_keeps_nothing():
    memory = BoundedLRU[str, int](0)
    memory.put("a", 1)
    assert memory.get("a") is None and len(memory) == 0


@pytest.mark.parametrize("size", [-1, 1.5, True, "10"])
def test_a_size_that_is_not_a_count_is_refused(size):
    with pytest.raises(ValueError, match="size"):
        BoundedLRU(size)


def test_threads_reading_and_writing_at_once_keep_the_bound_and_the_values():
    # Eight threads put and get 20,000 times each over 500 keys into 64 places: the bound holds
    # at every moment a writer is done, and a key only ever holds a value that was put under it.
    memory = BoundedLRU[int, tuple[int, int]](64)
    errors: list[str] = []
    start = threading.Barrier(8)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(20_000):
            key = rng.randrange(500)
            if rng.random() < 0.5:
                memory.put(key, (key, seed))
            else:
                found = memory.get(key)
                if found is not None and found[0] != key:
                    errors.append(f"{key} held {found}")
            if len(memory) > 64:
                errors.append(f"{len(memory)} entries")

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(memory) <= 64 and len(memory._used) <= 64
