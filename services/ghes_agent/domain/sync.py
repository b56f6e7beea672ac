"""One sync run: read users, generate and keep a report (``outbox``), deliver it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import utcnow
from services.ghes_agent.db.models import OutboxReport
from services.ghes_agent.domain.delivery import Delivery, DeliveryError, deliver
from services.ghes_agent.domain.errors import AgentError
from services.ghes_agent.domain.outbox import ReportState, claim, store_new_report, supersede
from services.ghes_agent.domain.runs import lock_state, update_run
from services.ghes_agent.domain.sources import InstanceFacts, UsersSource

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncContext:
    collect: UsersSource
    hostname: str
    delivery: Delivery


async def execute_run(ctx: SyncContext, run_id: str) -> None:
    """Carry a queued run to ``succeeded`` or ``failed``; never raises."""
    update_run(ctx.delivery.sessions, run_id, status="running", started_at=utcnow())
    try:
        facts = await ctx.collect()
        receipt = await _generate_and_deliver(ctx, run_id, facts)
    except AgentError as error:
        log.warning("sync run %s failed: %s", run_id, error)
        update_run(
            ctx.delivery.sessions, run_id, status="failed", finished_at=utcnow(), error=str(error)
        )
    except Exception as error:
        log.exception("sync run %s failed unexpectedly", run_id)
        message = f"unexpected {type(error).__name__}: {error}"[:2000]
        update_run(
            ctx.delivery.sessions, run_id, status="failed", finished_at=utcnow(), error=message
        )
    else:
        update_run(
            ctx.delivery.sessions, run_id, status="succeeded", finished_at=utcnow(), receipt=receipt
        )


async def _generate_and_deliver(
    ctx: SyncContext, run_id: str, facts: InstanceFacts
) -> dict[str, Any]:
    report_id = await asyncio.to_thread(generate_report, ctx, run_id, facts)
    try:
        return await deliver(ctx.delivery, run_id, report_id)
    except DeliveryError as failure:
        cloud_sequence = failure.cloud.current_sequence
        if failure.cloud.error != "sequence_conflict" or cloud_sequence is None:
            raise
        # The cloud holds a newer sequence than ours (this agent was restored from a backup):
        # continue above it with a fresh report of the same users.
        log.warning("cloud is at sequence %s; continuing above it", cloud_sequence)
        _continue_above(ctx.delivery.sessions, report_id, cloud_sequence)
        report_id = await asyncio.to_thread(generate_report, ctx, run_id, facts)
        return await deliver(ctx.delivery, run_id, report_id)


def generate_report(ctx: SyncContext, run_id: str, facts: InstanceFacts) -> str:
    snapshot = facts.snapshot
    document = store_new_report(
        ctx.delivery.sessions,
        facts,
        hostname=ctx.hostname,
        run_id=run_id,
        state=ReportState.PENDING,
    )
    update_run(
        ctx.delivery.sessions,
        run_id,
        report_id=document["report_id"],
        sequence=document["sequence"],
        users_sent=len(snapshot.users),
        suspended_excluded=snapshot.suspended,
        invalid_emails=snapshot.invalid_emails,
    )
    return str(document["report_id"])


async def execute_retry(ctx: SyncContext, run_id: str, report_id: str) -> None:
    """A retry run sends the kept report again (same report_id: the cloud applies it once)."""
    update_run(ctx.delivery.sessions, run_id, status="running", started_at=utcnow())
    if not await asyncio.to_thread(claim, ctx.delivery.sessions, report_id):
        update_run(
            ctx.delivery.sessions,
            run_id,
            status="failed",
            finished_at=utcnow(),
            error="the report is no longer pending, or another agent process is sending it",
        )
        return
    with ctx.delivery.sessions() as session:
        report = session.get_one(OutboxReport, report_id)
        values = {
            "report_id": report_id,
            "sequence": report.sequence,
            "users_sent": report.user_count,
        }
    update_run(ctx.delivery.sessions, run_id, **values)
    try:
        receipt = await deliver(ctx.delivery, run_id, report_id)
    except DeliveryError as error:
        update_run(
            ctx.delivery.sessions, run_id, status="failed", finished_at=utcnow(), error=str(error)
        )
    except Exception as error:
        log.exception("retry run %s failed unexpectedly", run_id)
        message = f"unexpected {type(error).__name__}: {error}"[:2000]
        update_run(
            ctx.delivery.sessions, run_id, status="failed", finished_at=utcnow(), error=message
        )
    else:
        update_run(
            ctx.delivery.sessions, run_id, status="succeeded", finished_at=utcnow(), receipt=receipt
        )


def _continue_above(sessions: sessionmaker[Session], report_id: str, cloud_sequence: int) -> None:
    with sessions.begin() as session:
        state = lock_state(session)
        state.last_sequence = max(state.last_sequence, cloud_sequence)
    supersede(sessions, report_id)
