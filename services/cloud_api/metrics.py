"""The cloud's Prometheus metrics. Figures come from the database at scrape time, so every
replica reports the same values; per-request timings are per process, as usual."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import Enterprise, Report, ServerInstance
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.common.clock import as_utc
from services.common.observability import DatabaseCollector

PREFIX = "license_sync_cloud"


class CloudMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.refused = Counter(
            f"{PREFIX}_reports_refused_total",
            "Reports refused, by reason",
            ["reason"],
            registry=registry,
        )
        self.ingest_seconds = Histogram(
            f"{PREFIX}_ingest_duration_seconds",
            "Time to apply a report (parse, store, figure)",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=registry,
        )
        self.report_users = Histogram(
            f"{PREFIX}_report_users",
            "Users per applied report",
            buckets=(10, 100, 1_000, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000),
            registry=registry,
        )


class FiguresCollector(DatabaseCollector):
    def __init__(self, sessions: sessionmaker[Session], cache: LicenseEngine) -> None:
        super().__init__(PREFIX)
        self.sessions = sessions
        self.cache = cache

    def read(self) -> Iterator[Metric]:
        purchased = GaugeMetricFamily(
            f"{PREFIX}_seats_purchased", "Seats purchased", labels=["enterprise"]
        )
        consumed = GaugeMetricFamily(
            f"{PREFIX}_seats_consumed", "Unique consumed licenses", labels=["enterprise"]
        )
        applied = GaugeMetricFamily(
            f"{PREFIX}_reports_applied",
            "Reports applied since the start, by source",
            labels=["source"],
        )
        with self.sessions() as session:
            for enterprise in session.scalars(select(Enterprise).order_by(Enterprise.slug)):
                purchased.add_metric([enterprise.slug], enterprise.seats_purchased)
                figures = self.cache.figures(session, enterprise).figures
                consumed.add_metric([enterprise.slug], figures.consumed)
            rows = session.execute(select(Report.source, func.count()).group_by(Report.source))
            for source, count in rows:
                applied.add_metric([source], count)
            instances = _instance_times(session)
        yield purchased
        yield consumed
        yield applied
        yield from instances


def _instance_times(session: Session) -> list[Metric]:
    """When each connected instance was connected and when its current report arrived, so
    that an alert can find instances that stopped syncing or never started."""
    labels = ["enterprise", "hostname", "server_id"]
    connected = GaugeMetricFamily(
        f"{PREFIX}_instance_connected_timestamp_seconds",
        "When each connected GHES instance was connected",
        labels=labels,
    )
    last_report = GaugeMetricFamily(
        f"{PREFIX}_instance_last_report_timestamp_seconds",
        "When each GHES instance's current report was received (pushed or uploaded)",
        labels=labels,
    )
    rows = session.execute(
        select(
            Enterprise.slug,
            ServerInstance.hostname,
            ServerInstance.server_id,
            ServerInstance.created_at,
            Report.received_at,
        )
        .join(Enterprise, Enterprise.id == ServerInstance.enterprise_id)
        .outerjoin(Report, Report.id == ServerInstance.current_report_pk)
        .order_by(Enterprise.slug, ServerInstance.id)
    )
    for slug, hostname, server_id, created_at, received_at in rows:
        values = [slug, hostname, server_id or ""]
        connected.add_metric(values, as_utc(created_at).timestamp())
        if received_at is not None:
            last_report.add_metric(values, as_utc(received_at).timestamp())
    return [connected, last_report]
