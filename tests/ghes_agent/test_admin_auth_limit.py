"""The agent's admin token is limited like the cloud's tokens (tests/test_auth_limit.py)."""

from __future__ import annotations

from fastapi import FastAPI

from tests.builders import auth, metric_samples
from tests.conftest import AGENT_ADMIN_TOKEN
from tests.test_auth_limit import ATTACKER, NEIGHBOUR, from_address


async def test_the_agent_limits_its_admin_token_the_same_way(agent_app: FastAPI) -> None:
    base = "http://agent.test"
    async with (
        from_address(agent_app, ATTACKER, base) as attacker,
        from_address(agent_app, NEIGHBOUR, base) as neighbour,
    ):
        statuses = [
            (await attacker.get("/sync/status", headers=auth("lsa_wrong"))).status_code
            for _ in range(21)
        ]
        assert statuses == [401] * 20 + [429]
        locked = await attacker.get("/sync/status", headers=auth(AGENT_ADMIN_TOKEN))
        assert locked.status_code == 429
        assert "Retry-After" in locked.headers
        assert (await neighbour.get("/sync/status", headers=auth(AGENT_ADMIN_TOKEN))).is_success
        values = metric_samples((await neighbour.get("/metrics")).text)
    assert values[("license_sync_agent_auth_failures_total", ())] == 20
    assert values[("license_sync_agent_auth_rate_limited_total", ())] == 2
