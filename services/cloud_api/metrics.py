"""The cloud's Prometheus metrics. Figures come from the database at scrape time, so every
replica reports the same values; per-request timings are per process, as usual."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import Enterprise, HookDelivery, Report, ServerInstance
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.licensing.lru import CacheStats
from services.cloud_api.domain.reporting.summary import SummaryCache
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
        self.hook_deliveries = Counter(
            f"{PREFIX}_webhook_deliveries_total",
            "Webhook delivery attempts, by event and outcome (delivered, retry, failed, gave_up)",
            ["event", "outcome"],
            registry=registry,
        )

    def count_hook_attempt(self, event: str, outcome: str) -> None:
        self.hook_deliveries.labels(event, outcome).inc()


class FiguresCollector(DatabaseCollector):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        cache: LicenseEngine,
        summaries: SummaryCache | None = None,
    ) -> None:
        super().__init__(PREFIX)
        self.sessions = sessions
        self.cache = cache
        self.summaries = summaries or SummaryCache()

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
            pending = GaugeMetricFamily(
                f"{PREFIX}_webhook_deliveries_pending",
                "Webhook deliveries stored and not yet delivered nor given up",
                value=session.scalar(select(func.count()).where(HookDelivery.state == "pending"))
                or 0,
            )
        yield pending
        yield purchased
        yield consumed
        yield applied
        yield from instances
        yield from cache_metrics([self.cache.stats(), self.summaries.stats()])


def cache_metrics(caches: list[CacheStats]) -> Iterator[Metric]:
    """What this process keeps between requests, against its bound (CLOUD_API_CACHE_MB):
    the license engine's and the serialized summaries' caches together."""
    stats = CacheStats(
        sum(c.bytes for c in caches),
        sum(c.limit for c in caches),
        sum(c.entries for c in caches),
        sum(c.evictions for c in caches),
    )
    held = GaugeMetricFamily(
        f"{PREFIX}_cache_bytes", "Bytes kept between requests by this process (estimated)"
    )
    held.add_metric([], stats.bytes)
    limit = GaugeMetricFamily(f"{PREFIX}_cache_limit_bytes", "The bound on cache_bytes")
    limit.add_metric([], stats.limit)
    entries = GaugeMetricFamily(f"{PREFIX}_cache_entries", "Entries kept between requests")
    entries.add_metric([], stats.entries)
    evicted = CounterMetricFamily(
        f"{PREFIX}_cache_evictions", "Entries dropped to stay within the bound"
    )
    evicted.add_metric([], stats.evictions)
    yield from (held, limit, entries, evicted)


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
