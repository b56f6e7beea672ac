"""/metrics in Prometheus format, /readyz, request ids and JSON logs on both services."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.metrics import FiguresCollector
from services.common.observability import (
    DatabaseCollector,
    JsonFormatter,
    RequestIdFilter,
    request_id,
)
from services.ghes_agent.metrics import SyncCollector
from tests.builders import auth, connect, metric_samples, new_enterprise, push, report


async def test_cloud_metrics_show_figures_reports_and_requests(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud, seats=40)
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "a@example.com"), (2, "b@example.com")]))
    await push(cloud, token, report([(1, "a@example.com")], sequence=1))  # refused: older
    response = await cloud.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = metric_samples(response.text)
    assert values[("license_sync_cloud_seats_consumed", (("enterprise", "acme"),))] == 2
    assert values[("license_sync_cloud_seats_purchased", (("enterprise", "acme"),))] == 40
    assert values[("license_sync_cloud_reports_applied", (("source", "connect"),))] == 1
    refused = ("license_sync_cloud_reports_refused_total", (("reason", "sequence_conflict"),))
    assert values[refused] == 1
    assert values[("license_sync_cloud_report_users_count", ())] == 1
    request_key = (
        "license_sync_cloud_http_requests_total",
        (("method", "POST"), ("route", "/server-usage"), ("status", "201")),
    )
    assert values[request_key] == 1
    assert values[("license_sync_cloud_ready", ())] == 1


async def test_cloud_metrics_time_each_instance_s_connection_and_last_report(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    before = time.time()
    token = await connect(cloud, owner)
    await connect(cloud, owner, hostname="quiet.example.com")  # never reports
    body = report()
    assert (await push(cloud, token, body)).status_code == 201
    after = time.time()
    values = metric_samples((await cloud.get("/metrics")).text)
    synced = (("enterprise", "acme"), ("hostname", "ghes.example.com"))
    synced += (("server_id", body["server_id"]),)
    quiet = (("enterprise", "acme"), ("hostname", "quiet.example.com"), ("server_id", ""))
    connected = "license_sync_cloud_instance_connected_timestamp_seconds"
    last_report = "license_sync_cloud_instance_last_report_timestamp_seconds"
    assert before - 1 <= values[(connected, synced)] <= values[(last_report, synced)] <= after + 1
    assert before - 1 <= values[(connected, quiet)] <= after + 1
    assert (last_report, quiet) not in values


@pytest.mark.parametrize(
    ("prefix", "make"),
    [
        ("license_sync_cloud", lambda sessions: FiguresCollector(sessions, LicenseEngine())),
        ("license_sync_agent", SyncCollector),
    ],
)
def test_metrics_say_not_ready_and_still_answer_without_the_database(
    tmp_path: Path, prefix: str, make: Callable[[sessionmaker[Session]], DatabaseCollector]
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'no such directory' / 'db.sqlite'}")
    registry = CollectorRegistry()
    registry.register(make(sessionmaker(engine)))
    try:
        values = metric_samples(generate_latest(registry).decode())
    finally:
        engine.dispose()
    assert values == {(f"{prefix}_ready", ()): 0}


async def test_readiness_follows_the_database(cloud: httpx.AsyncClient, cloud_app: FastAPI) -> None:
    assert (await cloud.get("/readyz")).json() == {"status": "ok"}
    from services.common.db import make_engine

    # The replica's state with a database that does not answer, for one request; the real
    # engine is left alone (disposing it under the running app would orphan the pooled
    # connections its workers hold).
    working = cloud_app.state.cloud
    broken = make_engine("postgresql://nobody@127.0.0.1:1/none")
    cloud_app.state.cloud = dataclasses.replace(working, engine=broken)
    try:
        response = await cloud.get("/readyz")
    finally:
        cloud_app.state.cloud = working
        broken.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert (await cloud.get("/readyz")).json() == {"status": "ok"}


async def test_every_answer_carries_a_request_id(cloud: httpx.AsyncClient) -> None:
    given = await cloud.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await cloud.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    owner = await new_enterprise(cloud)
    assert (await cloud.get("/enterprise/licenses", headers=auth(owner))).headers["x-request-id"]


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "sync %s failed", ("r1",), None)
    token = request_id.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "sync r1 failed"
    assert line["request_id"] == "req-42"
    assert line["level"] == "warning"
