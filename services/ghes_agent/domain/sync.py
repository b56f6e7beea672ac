"""Sync runs: a new report of the instance's users, generated, kept and delivered; or a
kept report sent again (a retry run, started by the delivery worker in ``jobs.py`` when
``outbox.next_due`` says it is due). ``delivery.py`` decides what happens after a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import utcnow
from services.common.threads import in_thread
from services.ghes_agent.db.models import OutboxReport
from services.ghes_agent.domain import outbox
from services.ghes_agent.domain.delivery import Delivery, DeliveryError, deliver
from services.ghes_agent.domain.errors import AgentError
from services.ghes_agent.domain.facts import InstanceFacts, UsersSource
from services.ghes_agent.domain.runs import lock_state, update_run
from shared import UsageReceipt

log = logging.getLogger(__name__)


class ReportNotClaimedError(AgentError):
    """A retry run found its report no longer pending, or held by another process."""

    code = "not_claimed"


@dataclass(frozen=True, slots=True)
class SyncContext:
    collect: UsersSource
    hostname: str
    delivery: Delivery


async def execute_run(ctx: SyncContext, run_id: str) -> None:
    """Read the users, generate and keep a new report, and deliver it."""

    async def collect_and_send() -> UsageReceipt:
        ctx.delivery.ensure_connected()  # before a report is kept that could never be sent
        facts = await ctx.collect()
        return await _generate_and_deliver(ctx, run_id, facts)

    await _carry(ctx.delivery.sessions, run_id, collect_and_send)


async def execute_retry(ctx: SyncContext, run_id: str, report_id: str) -> None:
    """Send a kept report again: the same report_id, so the cloud applies it once."""

    async def claim_and_send() -> UsageReceipt:
        sessions = ctx.delivery.sessions
        if not await in_thread(outbox.claim, sessions, report_id):
            raise ReportNotClaimedError(
                "the report is no longer pending, or another agent process is sending it"
            )
        await in_thread(_show_report, sessions, run_id, report_id)
        return await deliver(ctx.delivery, run_id, report_id)

    await _carry(ctx.delivery.sessions, run_id, claim_and_send)


async def _carry(
    sessions: sessionmaker[Session], run_id: str, work: Callable[[], Awaitable[UsageReceipt]]
) -> None:
    """Carry a queued run through ``work`` to ``succeeded`` or ``failed``; never raises.
    The run's rows are written in worker threads, as every database step of a run is: on
    SQLite a write waits for the lock, and the event loop must not wait with it."""
    await in_thread(update_run, sessions, run_id, status="running", started_at=utcnow())
    try:
        receipt = await work()
    except AgentError as error:
        log.warning("sync run %s failed: %s", run_id, error)
        await _failed(sessions, run_id, str(error), error.error)
    except Exception as error:
        log.exception("sync run %s failed unexpectedly", run_id)
        await _failed(sessions, run_id, f"unexpected {type(error).__name__}: {error}", "unexpected")
    else:
        await in_thread(
            update_run,
            sessions,
            run_id,
            status="succeeded",
            finished_at=utcnow(),
            receipt=receipt.model_dump(mode="json"),
        )


async def _failed(sessions: sessionmaker[Session], run_id: str, reason: str, code: str) -> None:
    await in_thread(
        update_run,
        sessions,
        run_id,
        status="failed",
        finished_at=utcnow(),
        error=reason[:2000],
        error_code=code[:64],
    )


async def _generate_and_deliver(
    ctx: SyncContext, run_id: str, facts: InstanceFacts
) -> UsageReceipt:
    report_id = await in_thread(generate_report, ctx, run_id, facts)
    try:
        return await deliver(ctx.delivery, run_id, report_id)
    except DeliveryError as failure:
        cloud_sequence = failure.cloud.current_sequence
        if failure.cloud.error != "sequence_conflict" or cloud_sequence is None:
            raise
        # The cloud holds a newer sequence than ours (this agent was restored from a backup):
        # continue above it with a fresh report of the same users.
        log.warning("cloud is at sequence %s; continuing above it", cloud_sequence)
        await in_thread(_continue_above, ctx.delivery.sessions, report_id, cloud_sequence)
        report_id = await in_thread(generate_report, ctx, run_id, facts)
        return await deliver(ctx.delivery, run_id, report_id)


def generate_report(ctx: SyncContext, run_id: str, facts: InstanceFacts) -> str:
    snapshot = facts.snapshot
    sessions = ctx.delivery.sessions
    header = outbox.store_new_report(
        sessions, facts, hostname=ctx.hostname, run_id=run_id, state=outbox.ReportState.PENDING
    ).header
    update_run(
        sessions,
        run_id,
        report_id=header["report_id"],
        sequence=header["sequence"],
        users_sent=len(snapshot.users),
        suspended_excluded=snapshot.suspended,
        invalid_emails=snapshot.invalid_emails,
    )
    return str(header["report_id"])


def _show_report(sessions: sessionmaker[Session], run_id: str, report_id: str) -> None:
    """A retry run shows the kept report it sends, as a new run shows the one it made."""
    with sessions() as session:
        report = session.get_one(OutboxReport, report_id)
        sequence, users = report.sequence, report.user_count
    update_run(sessions, run_id, report_id=report_id, sequence=sequence, users_sent=users)


def _continue_above(sessions: sessionmaker[Session], report_id: str, cloud_sequence: int) -> None:
    with sessions.begin() as session:
        state = lock_state(session)
        state.last_sequence = max(state.last_sequence, cloud_sequence)
    outbox.supersede(sessions, report_id)
