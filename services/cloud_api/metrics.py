"""The cloud's Prometheus metrics. Figures come from the database at scrape time, so every
replica reports the same values; per-request timings are per process, as usual."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import Enterprise, Report
from services.cloud_api.domain.licensing.engine import LicenseEngine

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


class FiguresCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session], cache: LicenseEngine) -> None:
        self.sessions = sessions
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
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
        yield purchased
        yield consumed
        yield applied
