"""Starting runs in the background, and the weekly schedule (thin: the work is in domain/).

Each schedule slot is claimed in the database before its run starts
(``UPDATE ... WHERE last_scheduled_at < slot``): a restart, a catch-up after downtime and a
second agent process on the same database all agree on which slot has run, so a slot is
never run twice nor dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import or_, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_log import AuditContext
from services.common.clock import as_utc, utcnow
from services.common.threads import in_thread
from services.ghes_agent.db.models import AgentState, SyncRun
from services.ghes_agent.domain.outbox import next_due
from services.ghes_agent.domain.runs import start_run
from services.ghes_agent.domain.schedule import cron_trigger, latest_slot
from services.ghes_agent.domain.sync import SyncContext, execute_retry, execute_run

log = logging.getLogger(__name__)
CATCH_UP_HORIZON = timedelta(days=8)


class SyncRunner:
    """Owns the background tasks of runs started in this process."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_run_finished: Callable[[], None] | None = None

    async def trigger(
        self, trigger: str, audit: AuditContext | None = None
    ) -> tuple[SyncRun, bool]:
        sessions = self.ctx.delivery.sessions
        run, created = await in_thread(start_run, sessions, trigger, audit)
        if created:
            self._spawn(execute_run(self.ctx, run.id))
        return run, created

    async def retry(self, report_id: str) -> tuple[SyncRun, asyncio.Task[None] | None]:
        """A retry run for a kept report; no new run while another is active."""
        run, created = await in_thread(start_run, self.ctx.delivery.sessions, "retry")
        task = self._spawn(execute_retry(self.ctx, run.id, report_id)) if created else None
        return run, task

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.on_run_finished is not None:
            task.add_done_callback(lambda _task: self.on_run_finished())  # type: ignore[misc]
        return task

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class DeliveryWorker:
    """Sends kept reports again when they are due; woken early whenever a run ends.

    The retry of a report, end to end: ``step`` asks ``outbox.next_due`` for the newest
    pending report; once due, it starts a retry run (``sync.execute_retry``), which claims
    the report (``outbox.claim``) and sends it (``delivery.deliver``). On a failure,
    ``delivery`` records in the outbox when it is due again, or that it never will be.
    """

    IDLE_CHECK_SECONDS = 60.0

    def __init__(self, runner: SyncRunner) -> None:
        self.runner = runner
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        runner.on_run_finished = self._wake.set

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                wait = await self.step()
            except Exception:
                log.exception("the delivery worker failed; trying again shortly")
                wait = self.IDLE_CHECK_SECONDS
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a cancellation that
            # arrives as the event is set, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def step(self) -> float:
        """Send the newest pending report if due; return how long to sleep."""
        delivery = self.runner.ctx.delivery
        if not delivery.connected:
            return self.IDLE_CHECK_SECONDS  # nowhere to send to: retrying would only fail
        due = await in_thread(next_due, delivery.sessions)
        if due is None:
            return self.IDLE_CHECK_SECONDS
        report_id, when = due
        remaining = (when - utcnow()).total_seconds()
        if remaining > 0:
            return min(remaining, self.IDLE_CHECK_SECONDS)
        _run, task = await self.runner.retry(report_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
            return 0.0
        return 1.0  # another run is active: look again shortly


class WeeklySchedule:
    def __init__(self, runner: SyncRunner, cron: str, sessions: sessionmaker[Session]) -> None:
        self.runner = runner
        self.sessions = sessions
        self.trigger = cron_trigger(cron)
        self.cron = cron
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def start(self) -> None:
        self.scheduler.add_job(
            self.fire,
            self.trigger,
            id="weekly-license-sync",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # A slot missed by the event loop (a stall) still runs; a slot missed while the
            # process was down is caught up below, from the database, not from memory.
            misfire_grace_time=int(CATCH_UP_HORIZON.total_seconds()),
        )
        self.scheduler.start()
        await self.catch_up()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def next_run_time(self) -> str | None:
        job = self.scheduler.get_job("weekly-license-sync") if self.scheduler.running else None
        when = job.next_run_time if job is not None else None
        return as_utc(when).isoformat() if when is not None else None

    async def catch_up(self) -> bool:
        """Run the latest slot now if it passed while no agent was running."""
        return await self.fire_slot(installed_only=True)

    async def fire(self) -> None:
        await self.fire_slot(installed_only=False)

    async def fire_slot(self, *, installed_only: bool) -> bool:
        slot = latest_slot(self.trigger, utcnow(), CATCH_UP_HORIZON)
        if slot is None:
            return False
        if not await in_thread(self._claim, slot, installed_only=installed_only):
            return False
        log.info("running the scheduled sync of %s", slot.isoformat())
        await self.runner.trigger("scheduled")
        return True

    def _claim(self, slot: datetime, *, installed_only: bool) -> bool:
        conditions = [
            AgentState.id == 1,
            or_(AgentState.last_scheduled_at.is_(None), AgentState.last_scheduled_at < slot),
        ]
        if installed_only:
            # An agent installed after the slot never owed it.
            conditions.append(AgentState.created_at <= slot)
        with self.sessions.begin() as session:
            claimed = session.execute(
                update(AgentState).where(*conditions).values(last_scheduled_at=slot)
            )
            return bool(claimed.rowcount)  # type: ignore[attr-defined]
