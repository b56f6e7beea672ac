"""The agent's Prometheus metrics, read from its database at scrape time, so that they
survive restarts and agree between processes sharing the database."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import as_utc
from services.common.observability import DatabaseCollector
from services.ghes_agent.db.models import OutboxReport, SyncRun
from services.ghes_agent.domain.outbox import ReportState

PREFIX = "license_sync_agent"


class SyncCollector(DatabaseCollector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(PREFIX)
        self.sessions = sessions

    def read(self) -> Iterator[Metric]:
        syncs = CounterMetricFamily(
            f"{PREFIX}_syncs",
            "Sync runs finished, by trigger and outcome",
            labels=["trigger", "outcome"],
        )
        last_success = GaugeMetricFamily(
            f"{PREFIX}_last_success_timestamp_seconds", "When the last sync succeeded"
        )
        last_failure = GaugeMetricFamily(
            f"{PREFIX}_last_failure_timestamp_seconds", "When the last sync failed"
        )
        pending = GaugeMetricFamily(
            f"{PREFIX}_pending_reports", "Reports kept for delivery, not yet delivered"
        )
        size = GaugeMetricFamily(f"{PREFIX}_last_report_users", "Users in the last report")
        with self.sessions() as session:
            rows = session.execute(
                select(SyncRun.trigger, SyncRun.status, func.count())
                .where(SyncRun.status.in_(("succeeded", "failed")))
                .group_by(SyncRun.trigger, SyncRun.status)
            )
            for trigger, status, count in rows:
                syncs.add_metric([trigger, status], count)
            for status, family in (("succeeded", last_success), ("failed", last_failure)):
                finished = session.scalar(
                    select(func.max(SyncRun.finished_at)).where(SyncRun.status == status)
                )
                if finished is not None:
                    family.add_metric([], as_utc(finished).timestamp())
            waiting = session.scalar(
                select(func.count())
                .select_from(OutboxReport)
                .where(OutboxReport.state == ReportState.PENDING)
            )
            pending.add_metric([], int(waiting or 0))
            latest = session.scalar(
                select(OutboxReport.user_count).order_by(OutboxReport.sequence.desc()).limit(1)
            )
            if latest is not None:
                size.add_metric([], latest)
        yield syncs
        yield last_success
        yield last_failure
        yield pending
        yield size
