"""The agent's /metrics, /healthz and /readyz."""

from __future__ import annotations

import time

import httpx
import pytest
import respx

from tests.builders import metric_samples
from tests.ghes_agent.conftest import CLOUD_URL, sync_now
from tests.ghes_agent.test_sync_api import receipt_for


@respx.mock
async def test_agent_metrics_show_syncs_and_pending_reports(agent: httpx.AsyncClient) -> None:
    respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    await sync_now(agent)
    values = metric_samples((await agent.get("/metrics")).text)
    assert (
        values[
            ("license_sync_agent_syncs_total", (("outcome", "succeeded"), ("trigger", "manual")))
        ]
        == 1
    )
    assert values[("license_sync_agent_pending_reports", ())] == 0
    assert values[("license_sync_agent_last_report_users", ())] == 3
    assert values[("license_sync_agent_last_success_timestamp_seconds", ())] > 0
    assert ("license_sync_agent_last_failure_timestamp_seconds", ()) not in values
    assert values[("license_sync_agent_ready", ())] == 1


@respx.mock
async def test_agent_metrics_time_the_last_failure_and_keep_the_report_waiting(
    agent: httpx.AsyncClient,
) -> None:
    cloud = respx.post(f"{CLOUD_URL}/server-usage").mock(return_value=httpx.Response(503))
    before = time.time()
    assert (await sync_now(agent))["status"] == "failed"
    values = metric_samples((await agent.get("/metrics")).text)
    failed_at = values[("license_sync_agent_last_failure_timestamp_seconds", ())]
    assert before - 1 <= failed_at <= time.time() + 1
    assert ("license_sync_agent_last_success_timestamp_seconds", ()) not in values
    assert values[("license_sync_agent_pending_reports", ())] == 1
    cloud.mock(side_effect=receipt_for)
    assert (await sync_now(agent))["status"] == "succeeded"
    values = metric_samples((await agent.get("/metrics")).text)
    assert values[("license_sync_agent_last_success_timestamp_seconds", ())] > failed_at
    assert values[("license_sync_agent_last_failure_timestamp_seconds", ())] == failed_at
    assert values[("license_sync_agent_pending_reports", ())] == 0


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
async def test_probes_need_no_token(agent: httpx.AsyncClient, path: str) -> None:
    response = await agent.get(path, headers={"Authorization": ""})
    assert response.status_code == 200
