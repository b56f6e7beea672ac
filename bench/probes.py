"""Timing HTTP reads one after another, and watching a process's memory while it works."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def rss_mb(pid: int, field: str = "VmRSS:") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(client: httpx.Client, path: str, token: str, **params: Any) -> float:
    started = time.perf_counter()
    response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text[:300]}")
    return elapsed


def series(count: int, request: Callable[[int], float]) -> dict[str, float]:
    """``count`` requests one after another: median and 99th percentile in ms."""
    latencies = sorted(request(n) for n in range(count))
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


@contextmanager
def peak_rss_while(pid: int, every: float = 0.02) -> Iterator[dict[str, float]]:
    """The process's highest resident memory while the block runs (sampled)."""
    found = {"before_mb": rss_mb(pid), "peak_mb": rss_mb(pid)}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            found["peak_mb"] = max(found["peak_mb"], rss_mb(pid))
            stop.wait(every)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield found
    finally:
        stop.set()
        watcher.join()
        found["peak_mb"] = max(found["peak_mb"], rss_mb(pid))


def metric(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise RuntimeError(f"no {name} in /metrics")
