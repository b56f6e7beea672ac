"""A real forward proxy process for the tests: proxy.py (PyPI, a dev dependency), on a
loopback port, its access log in a file. It tunnels CONNECT without looking inside."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CONNECT_LINE = re.compile(r" - CONNECT (\S+) - ")


@dataclass(frozen=True)
class ForwardProxy:
    url: str
    log: Path

    def connects(self) -> list[str]:
        """The ``host:port`` of every CONNECT in the access log so far (a line is written
        when the tunnel closes)."""
        if not self.log.exists():
            return []
        return CONNECT_LINE.findall(self.log.read_text())

    def wait_for_connect(self, target: str, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if target in (seen := self.connects()):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"no CONNECT {target} in the proxy's log:\n{self.log.read_text()}")


@contextmanager
def forward_proxy(workdir: Path, port: int = 0) -> Iterator[ForwardProxy]:
    """proxy.py on 127.0.0.1 (``port`` 0: any free one), listening on entry, stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_file, log = workdir / "proxy.port", workdir / "proxy.log"
    port_file.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", str(port),
        "--port-file", str(port_file), "--num-workers", "1", "--num-acceptors", "1",
        "--threaded", "--log-file", str(log),
    ]  # fmt: skip
    output = (workdir / "proxy.out").open("wb")
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        chosen = _wait_for_port(process, port_file, workdir / "proxy.out")
        yield ForwardProxy(f"http://127.0.0.1:{chosen}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


def _wait_for_port(process: subprocess.Popen[bytes], port_file: Path, output: Path) -> int:
    """proxy.py writes the port it listens on to the port file once it is listening."""
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(
                f"proxy.py exited with {process.returncode}:\n{output.read_text()}"
            )
        text = port_file.read_text().strip() if port_file.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.05)
    raise AssertionError(f"proxy.py did not start:\n{output.read_text()}")
