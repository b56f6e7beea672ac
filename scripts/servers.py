"""Real uvicorn processes on loopback ports, stopped by the test that starts them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free, else any free loopback port."""
    for port in dict.fromkeys((preferred, 0)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


@contextmanager
def uvicorn_process(
    app: str,
    env: dict[str, str],
    log: Path,
    extra_args: tuple[str, ...] = (),
    port: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A uvicorn process on a loopback port, healthy on entry, stopped on exit.

    The socket is bound here and handed to uvicorn (``--fd``): no other process can take
    the port between choosing it and listening on it, and a health check can never be
    answered by someone else's server."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn takes an inherited descriptor for a Unix socket and so never sets TCP_NODELAY
    # on its connections; set on the listener, Linux passes it on to every accepted one.
    # Without it each small answer waits out delayed ACK: some 40 ms a request.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind(("127.0.0.1", port or 0))
    except OSError:
        listener.bind(("127.0.0.1", 0))
    listener.set_inheritable(True)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--fd", str(listener.fileno())]
    command += list(extra_args)
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
            pass_fds=(listener.fileno(),),
        )
        listener.close()
        try:
            _wait_healthy(url, process, log)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], log: Path) -> Iterator[str]:
    with uvicorn_process(app, env, log) as (url, _process):
        yield url


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy:\n{log.read_text()}")
