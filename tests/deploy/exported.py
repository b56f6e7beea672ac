"""The series both services really export: the two apps started on SQLite, the agent syncing
to the cloud through its real client, a refused push and a failed run, then each /metrics
read. The result maps each sample name to the label names it carries."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.cloud_api.main import create_app as create_cloud_app
from services.cloud_api.settings import Settings
from services.ghes_agent.main import create_app as create_agent_app
from services.ghes_agent.settings import AgentSettings
from tests.builders import connect, new_enterprise, push, report
from tests.conftest import AGENT_ADMIN_TOKEN, OPERATOR_TOKEN
from tests.ghes_agent.conftest import client_for, sync_now, users_csv_text

Exported = dict[str, set[str]]

# Prometheus's own series: one per target it scrapes.
PROMETHEUS_SERIES: Exported = {"up": {"job", "instance"}}
# The labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"job", "instance"}


async def scrape_both(workdir: Path) -> Exported:
    cloud_app = create_cloud_app(
        Settings(
            database_url=f"sqlite:///{workdir / 'cloud.sqlite'}",
            admin_token=SecretStr(OPERATOR_TOKEN),
        )
    )
    users = workdir / "all_users.csv"
    users.write_text(users_csv_text([(1, "mona@example.com", False, False)]))
    transport = httpx.ASGITransport(app=cloud_app)
    async with (
        cloud_app.router.lifespan_context(cloud_app),
        httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as cloud,
    ):
        owner = await new_enterprise(cloud, seats=10)
        token = await connect(cloud, owner)
        await connect(cloud, owner, hostname="quiet.example.com")  # never reports
        agent_app = create_agent_app(
            AgentSettings(
                data_dir=workdir / "agent",
                database_url=f"sqlite:///{workdir / 'agent.sqlite'}",
                cloud_url="http://cloud.test",
                instance_token=SecretStr(token),
                users_csv=users,
                hostname="ghes.example.com",
                admin_token=SecretStr(AGENT_ADMIN_TOKEN),
                scheduler_enabled=False,
            ),
            cloud_transport=transport,
        )
        async with agent_app.router.lifespan_context(agent_app), client_for(agent_app) as agent:
            assert (await sync_now(agent))["status"] == "succeeded"
            refused = await push(cloud, token, report(server_id="another-server"))
            assert refused.status_code >= 400, refused.text
            users.unlink()
            assert (await sync_now(agent))["status"] == "failed"
            found = _series((await agent.get("/metrics")).text)
        found.update(_series((await cloud.get("/metrics")).text))
    return found


def _series(text: str) -> Exported:
    found: Exported = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found
