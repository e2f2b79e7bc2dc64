"""The facade's one model-cache policy: load once, keep the most recently used, close the rest."""

from __future__ import annotations

import threading

from docchat.model_cache import ModelCache


def test_loads_once_keeps_recent_and_closes_what_it_drops() -> None:
    closed: list[str] = []
    cache: ModelCache[str] = ModelCache(size=2, close=closed.append)
    loads: list[str] = []

    def load(name: str) -> str:
        loads.append(name)
        return f"model {name}"

    assert cache.get("a", lambda: load("a")) == "model a"
    assert cache.get("a", lambda: load("a")) == "model a"
    cache.get("b", lambda: load("b"))
    cache.get("a", lambda: load("a"))  # a is now the most recently used
    cache.get("c", lambda: load("c"))  # so b goes
    assert loads == ["a", "b", "c"] and closed == ["model b"]
    cache.clear()
    assert sorted(closed) == ["model a", "model b", "model c"]


def test_two_threads_never_load_the_same_model_twice() -> None:
    cache: ModelCache[object] = ModelCache()
    inside, release = threading.Event(), threading.Event()
    loads: list[int] = []

    def slow() -> object:
        loads.append(1)
        inside.set()
        release.wait(10)
        return object()

    got: list[object] = []
    first = threading.Thread(target=lambda: got.append(cache.get("m", slow)))
    first.start()
    inside.wait(10)
    second = threading.Thread(target=lambda: got.append(cache.get("m", slow)))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert len(loads) == 1 and got[0] is got[1]
