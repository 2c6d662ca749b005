"""A bounded, thread-safe cache for values that never change once they exist.

The ledger and the service keep what is immutable by construction in one of these: published tiles
and entry bundles, activated entries, parsed roster snapshots and commitment records. A key must
name its value forever (a tile path, a ledger index), so a cached value is never stale and nothing
is ever invalidated; the least recently used values leave when the budget is spent.

>>> cache = Cache(budget=10, cost=len)
>>> cache.put("a", b"12345")
b'12345'
>>> cache.get("a"), cache.get("b")
(b'12345', None)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _one(_value: object) -> int:
    return 1


class Cache(Generic[K, V]):
    """At most ``budget`` worth of values, each worth ``cost(value)`` (1 by default).

    A value worth more than the whole budget is returned by :meth:`put` but not kept. Every method
    costs O(1) amortized and holds one lock briefly; safe to share between threads.
    """

    def __init__(self, budget: int, cost: Callable[[V], int] = _one) -> None:
        if budget < 1:
            raise ValueError(f"cache: budget {budget}, want at least 1")
        self._budget = budget
        self._cost = cost
        self._spent = 0
        self._values: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the value kept under ``key``, or None."""
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            self._values.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key`` (the value under a key never changes; a second put keeps the
        first) and return the value kept, evicting the least recently used beyond the budget."""
        cost = self._cost(value)
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                return found[0]
            if cost > self._budget:
                return value
            self._values[key] = (value, cost)
            self._spent += cost
            while self._spent > self._budget:
                _key, (_value, old) = self._values.popitem(last=False)
                self._spent -= old
            return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
