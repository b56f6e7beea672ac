"""Property-based fuzzing of both services' OpenAPI descriptions (schemathesis): whatever
a client sends, no 5xx, and every answer matches its declared schema.

Each service runs as a real uvicorn process on loopback, set up with an enterprise, an
instance and a report so that the fuzzer reaches past authentication."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from scripts.servers import ROOT, uvicorn_server
from tests.builders import report

OPERATOR = "lsop_fuzz-operator"
AGENT_ADMIN = "lsa_fuzz-admin"
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def _checks() -> dict[str, Any]:
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return {
        "checks": [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    }


@pytest.fixture(scope="module")
def cloud_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("fuzz-cloud")
    env = {
        "CLOUD_API_DATABASE_URL": f"sqlite:///{workdir / 'cloud.db'}",
        "CLOUD_API_ADMIN_TOKEN": OPERATOR,
        # The fuzzer sends wrong tokens by the hundred; locked out, it would test nothing.
        "CLOUD_API_AUTH_FAILURE_LIMIT": "1000000",
        # Generated hook URLs are neither resolved nor sent to: nothing leaves the machine.
        "CLOUD_API_HOOKS_ALLOW_PRIVATE": "true",
        "CLOUD_API_HOOKS_DELIVERY_ENABLED": "false",
    }
    with uvicorn_server("services.cloud_api.main:create_app", env, workdir / "log") as url:
        with httpx.Client(base_url=url) as http:
            owner = http.post(
                "/admin/enterprises",
                json={"slug": "acme", "name": "Acme", "seats_purchased": 10},
                headers={"Authorization": f"Bearer {OPERATOR}"},
            ).json()["owner_token"]
            accounts = json.loads((ROOT / "demo" / "cloud_accounts.json").read_text())
            http.put(
                "/enterprises/acme/accounts",
                json=accounts,
                headers={"Authorization": f"Bearer {owner}"},
            )
            instance = http.post(
                "/enterprises/acme/server-instances",
                json={"hostname": "ghes.example.com", "server_id": "srv-1"},
                headers={"Authorization": f"Bearer {owner}"},
            ).json()["instance_token"]
            http.post(
                "/server-usage",
                json=report(server_id="srv-1"),
                headers={"Authorization": f"Bearer {instance}"},
            )
            hook = http.post(
                "/enterprises/acme/hooks",
                json={"url": "http://127.0.0.1:9/hook", "secret": "fuzz"},
                headers={"Authorization": f"Bearer {owner}"},
            ).json()["id"]
        yield {"url": url, "owner": owner, "instance": instance, "hook": str(hook)}


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("fuzz-agent")
    env = {
        "GHES_AGENT_DATA_DIR": str(workdir / "data"),
        "GHES_AGENT_USERS_CSV": str(ROOT / "demo" / "all_users.csv"),
        "GHES_AGENT_ADMIN_TOKEN": AGENT_ADMIN,
        "GHES_AGENT_HOSTNAME": "ghes.example.com",
        "GHES_AGENT_SCHEDULER_ENABLED": "false",
        "GHES_AGENT_AUTH_FAILURE_LIMIT": "1000000",
    }
    with uvicorn_server("services.ghes_agent.main:create_app", env, workdir / "log") as url:
        yield {"url": url}


def fuzz(schema_url: str, base_url: str, headers_for: Any, path_values: dict[str, str]) -> None:
    """Every operation, ``max_examples`` generated requests each, all checks applied."""
    schema = schemathesis.openapi.from_url(schema_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 3
    for operation in operations:

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            for name, value in path_values.items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = value  # reach real data, not just 404s
            case.call_and_validate(base_url=base_url, headers=headers_for(case.path), **_checks())

        run()


def test_cloud_api_survives_fuzzing(cloud_server: dict[str, str]) -> None:
    def headers_for(path: str) -> dict[str, str]:
        if path.startswith("/admin"):
            token = OPERATOR
        elif path == "/server-usage":
            token = cloud_server["instance"]
        else:
            token = cloud_server["owner"]
        return {"Authorization": f"Bearer {token}"}

    url = cloud_server["url"]
    # The hook's first ping is delivery 1: paths with ids reach real data.
    path_values = {"enterprise": "acme", "hook_id": cloud_server["hook"], "delivery_id": "1"}
    fuzz(f"{url}/openapi.json", url, headers_for, path_values)


def test_agent_api_survives_fuzzing(agent_server: dict[str, str]) -> None:
    url = agent_server["url"]
    fuzz(
        f"{url}/openapi.json",
        url,
        lambda _path: {"Authorization": f"Bearer {AGENT_ADMIN}"},
        {},
    )


def test_fuzz_setup_reaches_real_data(cloud_server: dict[str, str]) -> None:
    response = httpx.get(
        f"{cloud_server['url']}/enterprise/licenses",
        headers={"Authorization": f"Bearer {cloud_server['owner']}"},
    )
    assert response.json()["total_seats_consumed"] > 0
