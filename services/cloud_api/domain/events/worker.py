"""The cloud's background sender of hook deliveries, and the clock of the periodic checks.

Every replica runs one (started and stopped by the app's lifespan). They cooperate through
the database only: deliveries are claimed with a lease (``deliveries.claim_due``), the
periodic checks' slots with a conditional UPDATE (``periodic.run_checks``). A worker looks
for due deliveries every ``poll_seconds`` (deliveries stored by other replicas, retries
coming due) and at once when a transaction of its own process stored some.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.events.deliveries import (
    Claimed,
    RetryPolicy,
    claim_due,
    next_due,
    record_attempt,
    release,
)
from services.cloud_api.domain.events.periodic import run_checks
from services.cloud_api.domain.events.publishing import PENDING_KEY
from services.cloud_api.domain.events.sender import new_client, send
from services.common.clock import utcnow
from services.common.threads import in_thread

log = logging.getLogger(__name__)
BATCH = 10  # deliveries claimed and sent at once by one replica
MIN_WAIT = 0.05


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    timeout: float = 10.0
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 5.0
    allow_private: bool = False
    send: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    period: timedelta = timedelta(minutes=1)
    stale_after: timedelta = timedelta(days=8)

    @property
    def safe_lease(self) -> timedelta:
        """A lease always outlives the attempt it covers (and the recording of it), or two
        replicas could both send."""
        return max(self.lease, timedelta(seconds=2 * self.timeout + 1))


def _ignore(_event: str, _outcome: str) -> None:
    return None


class HookWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: WorkerConfig,
        on_attempt: Callable[[str, str], None] = _ignore,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.on_attempt = on_attempt
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._held: set[str] = set()
        self._client = new_client(config.timeout)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_rollback", self._after_rollback)
        if self.config.send:
            self._spawn(self._deliver_forever())
        self._spawn(self._check_forever())

    async def stop(self) -> None:
        event.remove(self.sessions, "after_commit", self._after_commit)
        event.remove(self.sessions, "after_rollback", self._after_rollback)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Claims cut short are given back, so a replica (or this one, restarted) sends them
        # at once rather than after the lease.
        await in_thread(release, self.sessions, sorted(self._held))
        await self._client.aclose()

    def wake(self) -> None:
        """Thread-safe: look for due deliveries now."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(PENDING_KEY, False):
            self.wake()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(PENDING_KEY, None)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(work))

    async def _deliver_forever(self) -> None:
        while True:
            try:
                wait = await self.deliver_due()
            except Exception:
                log.exception("the hook delivery worker failed; trying again shortly")
                wait = self.config.poll_seconds
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a cancellation that
            # arrives as the event is set, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def deliver_due(self) -> float:
        """Sends one batch of due deliveries; returns how long to wait for the next."""
        self._wake.clear()
        claimed = await in_thread(
            claim_due, self.sessions, lease=self.config.safe_lease, limit=BATCH
        )
        if claimed:
            tokens = {c.lease_token for c in claimed}
            self._held |= tokens
            results = await asyncio.gather(
                *(self._deliver(c) for c in claimed), return_exceptions=True
            )
            self._held -= tokens
            for result in results:
                if isinstance(result, Exception):
                    log.error("recording a hook delivery failed", exc_info=result)
            if len(claimed) == BATCH:
                return 0.0
        due = await in_thread(next_due, self.sessions)
        if due is None:
            return self.config.poll_seconds
        return min(self.config.poll_seconds, max(MIN_WAIT, (due - utcnow()).total_seconds()))

    async def _deliver(self, claimed: Claimed) -> None:
        attempt = await send(
            self._client,
            claimed,
            limit_seconds=self.config.timeout,
            allow_private=self.config.allow_private,
        )
        outcome = await in_thread(
            record_attempt, self.sessions, claimed, attempt, self.config.retry
        )
        self.on_attempt(claimed.event, outcome)
        log.info(
            "hook %s delivery %s (%s): %s, %s",
            claimed.hook_id,
            claimed.id,
            claimed.event,
            attempt.status,
            outcome,
        )

    async def _check_forever(self) -> None:
        period = self.config.period.total_seconds()
        while True:
            try:
                await in_thread(
                    run_checks,
                    self.sessions,
                    utcnow(),
                    period=self.config.period,
                    stale_after=self.config.stale_after,
                )
            except Exception:
                log.exception("the periodic hook checks failed; trying again next period")
            now = utcnow().timestamp()
            await asyncio.sleep(period - now % period + MIN_WAIT)
