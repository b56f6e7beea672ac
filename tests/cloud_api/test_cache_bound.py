"""Everything the cloud keeps between requests stays within CLOUD_API_CACHE_MB, all
enterprises together, as /metrics shows; what was dropped is computed again, the same."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from services.cloud_api.settings import Settings
from tests.builders import OPERATOR_TOKEN, auth, connect, new_enterprise, push, report

ENTERPRISES = 12
USERS = 400


@pytest.fixture
def cloud_settings(new_database_url: object) -> Settings:
    """A process with the smallest budget: 1 MB for every enterprise's figures and lists."""
    return Settings(
        database_url=new_database_url(),  # type: ignore[operator]
        admin_token=SecretStr(OPERATOR_TOKEN),
        cache_mb=1,
    )


def metric(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


async def test_the_caches_stay_within_their_bound_and_evicted_figures_come_back(
    cloud: httpx.AsyncClient,
) -> None:
    owners = []
    for n in range(ENTERPRISES):
        slug = f"bound{n}"
        owner = await new_enterprise(cloud, slug)
        for i in range(2):
            token = await connect(
                cloud, owner, slug=slug, hostname=f"h{i}", server_id=f"{slug}-{i}"
            )
            users = [(u, f"{slug}.{u % (USERS // 2 + i)}@example.com") for u in range(1, USERS)]
            body = report(users, server_id=f"{slug}-{i}", hostname=f"h{i}")
            assert (await push(cloud, token, body)).status_code == 201
        owners.append(owner)
        listing = await cloud.get(
            "/enterprise/licenses", params={"include": "users"}, headers=auth(owner)
        )
        assert listing.status_code == 200

    metrics = (await cloud.get("/metrics")).text
    held = metric(metrics, "license_sync_cloud_cache_bytes")
    limit = metric(metrics, "license_sync_cloud_cache_limit_bytes")
    assert limit == 2**20
    assert 0 < held <= limit
    assert metric(metrics, "license_sync_cloud_cache_evictions_total") > 0

    # The first enterprises were dropped long ago: read again, the same figure.
    for owner in owners:
        view = (await cloud.get("/enterprise/licenses", headers=auth(owner))).json()
        # Each instance has USERS // 2 + i distinct addresses; instance 1's include 0's.
        assert view["total_seats_consumed"] == USERS // 2 + 1
