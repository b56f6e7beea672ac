"""A real GitHub webhook receiver on 127.0.0.1, for the tests: each delivery is checked by
gidgethub (a maintained GitHub webhooks library) exactly as a GitHub App would check it, and
answered as the test plans (a status code, after a delay, or held until released)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event

SECRET = "It's a Secret to Everybody"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0
    hold: threading.Event | None = None
    """Answer only once this is set (a receiver that hangs until the test says)."""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    event: Event | None
    """What gidgethub made of it; None when it refused the delivery."""
    problem: str | None

    @property
    def guid(self) -> str:
        return self.headers["x-github-delivery"]

    @property
    def name(self) -> str:
        return self.headers["x-github-event"]

    @property
    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    secret: str = SECRET
    plan: list[Answer] = field(default_factory=list)
    """Answers for the first requests, in order; 200 at once after them."""
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def answer_for(self) -> Answer:
        with self._lock:
            return self.plan.pop(0) if self.plan else Answer()

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)
            self._lock.notify_all()

    def verified(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.event is not None]

    async def wait_for(
        self, count: int, *, name: str | None = None, within: float = 30
    ) -> list[Received]:
        """The first ``count`` verified deliveries (of event ``name``), waiting for them."""
        deadline = time.monotonic() + within
        while True:
            found = [r for r in self.verified() if name is None or r.name == name]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} deliveries arrived: {found}")
            await asyncio.sleep(0.05)

    def wait_for_sync(self, count: int, *, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} arrived")
                self._lock.wait(left)
            return list(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            answer = receiver.answer_for()
            try:
                event: Event | None = Event.from_http(headers, body, secret=receiver.secret)
                problem = None
            except (ValidationFailure, BadRequest, KeyError) as error:
                event, problem = None, f"{type(error).__name__}: {error}"
            receiver.record(Received(headers, body, event, problem))
            if answer.hold is not None:
                answer.hold.wait(timeout=60)
            time.sleep(answer.delay)
            status = answer.status if event is not None else 401
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def receiving(receiver: Receiver | None = None, *, port: int = 0) -> Iterator[Receiver]:
    """Serves ``receiver`` on 127.0.0.1 (``port``, or any free one) until the block ends."""
    receiver = receiver or Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    server.daemon_threads = True
    server.block_on_close = False
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
