"""Request ids, structured logs, Prometheus metrics and readiness: shared by both services."""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id (and error)."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """``json``: one object per line on stderr for every logger, uvicorn's included."""
    if log_format != "json":
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = name == ""
    logging.getLogger().setLevel(level.upper())


def install_observability(app: FastAPI, registry: CollectorRegistry, prefix: str) -> None:
    requests = Counter(
        f"{prefix}_http_requests_total",
        "HTTP requests answered, by method, route template and status",
        ["method", "route", "status"],
        registry=registry,
    )
    duration = Histogram(
        f"{prefix}_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template",
        ["route"],
        registry=registry,
    )

    app.add_middleware(ObserveRequests, requests=requests, duration=duration)

    @app.get("/metrics", include_in_schema=False)
    async def get_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class ObserveRequests:
    """Request id and HTTP metrics for every request, as plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` runs each request through extra tasks and streams, which cost
    more than the busiest endpoint's own work."""

    def __init__(self, app: ASGIApp, *, requests: Counter, duration: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.duration = duration

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = (_header(scope, b"x-request-id") or uuid.uuid4().hex)[:64]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # what the client gets if the application raises

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", rid.encode("latin-1"))]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            route = _route_template(scope)
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.duration.labels(route).observe(time.perf_counter() - started)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's path template (set in the scope by routing), never the raw path,
    which may carry ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def database_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure means not ready; the probe says so, nothing more
        return False
    return True


class DatabaseCollector(Collector):
    """Metrics read from the database at scrape time, and ``<prefix>_ready``: 1 when the
    database answered (what /readyz checks), 0 when it did not. Without the database the
    scrape still succeeds with that 0 alone, so an alert can tell "database gone" from
    "process gone" (a failed scrape), and the HTTP metrics stay visible."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @abstractmethod
    def read(self) -> Iterable[Metric]:
        """The families, read in full before any is yielded."""

    def collect(self) -> Iterator[Metric]:
        ready = GaugeMetricFamily(
            f"{self.prefix}_ready", "1 when the database answered this scrape, 0 when not"
        )
        try:
            families = list(self.read())
        except SQLAlchemyError as error:
            log.warning("metrics: the database did not answer: %s", error)
            ready.add_metric([], 0)
            yield ready
            return
        ready.add_metric([], 1)
        yield ready
        yield from families
