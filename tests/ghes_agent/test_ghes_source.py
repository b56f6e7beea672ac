"""The agent reading a real (fake) GHES over real HTTPS: users, license, version, and the
errors administrators meet, each shown in /sync/status with what to do."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import respx
from pydantic import SecretStr

from scripts.servers import free_port
from services.ghes_agent.clients.ghes import GhesError, license_info
from services.ghes_agent.main import create_app
from services.ghes_agent.settings import AgentSettings
from tests.ghes_agent.conftest import CLOUD_URL, DEFAULT_USERS, client_for, sync_now, users_csv_text
from tests.ghes_agent.fake_ghes import (
    TOKEN,
    FakeGhesState,
    Pki,
    create_fake_ghes,
    make_pki,
    serve_https,
)
from tests.ghes_agent.test_sync_api import receipt_for, sent_report


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def ghes_state() -> FakeGhesState:
    return FakeGhesState()


@pytest.fixture(scope="module")
def ghes_url(ghes_state: FakeGhesState, pki: Pki) -> Iterator[str]:
    with serve_https(create_fake_ghes(ghes_state), pki) as url:
        yield url


@pytest.fixture
def ghes(ghes_state: FakeGhesState, ghes_url: str) -> FakeGhesState:
    """The module's fake GHES, reset for each test."""
    ghes_state.users_csv = users_csv_text(DEFAULT_USERS)
    ghes_state.preparing_answers = 2
    ghes_state.status = {}
    ghes_state.requests = []
    ghes_state.committers = {}
    return ghes_state


@pytest.fixture
def ghes_settings(agent_settings: AgentSettings, ghes_url: str, pki: Pki) -> AgentSettings:
    return agent_settings.model_copy(
        update={
            "users_csv": None,
            "ghes_url": ghes_url,
            "ghes_token": SecretStr(TOKEN),
            "ghes_ca_bundle": pki.ca_file,
            "ghes_report_poll_seconds": 0.01,
            "ghes_report_max_wait_seconds": 5.0,
        }
    )


async def run_sync(settings: AgentSettings) -> tuple[dict[str, object], dict[str, object]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        run = await sync_now(client)
        status = (await client.get("/sync/status")).json()
    return run, status


@pytest.fixture
def cloud_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(f"{CLOUD_URL}/server-usage", name="server_usage").mock(side_effect=receipt_for)
        yield router


async def test_users_license_and_version_come_from_ghes_over_tls(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    run, _status = await run_sync(ghes_settings)
    assert run["status"] == "succeeded", run
    # Two 202 answers while GHES prepared the report, then the report.
    assert ghes.requests.count("/stafftools/reports/all_users.csv") == 3
    body = sent_report(cloud_mock.calls[-1])
    assert body["ghes_version"] == "3.14.2"
    assert body["license"] == {"seats": 1400, "expires_at": "2027-06-30T12:41:52-06:00"}
    assert [user["id"] for user in body["users"]] == [1, 2, 3]
    assert body["excluded"] == {"suspended": 1}


async def test_instance_shows_the_version_and_license_ghes_gave(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    ghes.version = "3.15.1"  # not the configured 3.14.2: read from the instance
    try:
        run, _ = await run_sync(ghes_settings)
        instance = await read_instance(ghes_settings)
    finally:
        ghes.version = "3.14.2"
    assert run["status"] == "succeeded"
    assert instance["ghes_version"] == "3.15.1"
    assert instance["license"] == {
        "seats": 1400,
        "unlimited": False,
        "expires_at": "2027-06-30T12:41:52-06:00",
    }
    assert instance["facts_read_at"] is not None


async def read_instance(settings: AgentSettings) -> dict[str, object]:
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        body: dict[str, object] = (await client.get("/instance")).json()
    return body


async def test_ghes_is_reached_directly_whatever_the_proxy_variables_say(
    ghes: FakeGhesState,
    ghes_settings: AgentSettings,
    cloud_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # HTTPS_PROXY is for the way out to the cloud; nothing listens where this one points.
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    run, _status = await run_sync(ghes_settings)
    assert run["status"] == "succeeded", run
    assert "/api/v3/meta" in ghes.requests


COMMITTERS_PATH = "/api/v3/enterprises/acme/settings/billing/advanced-security"


async def test_without_an_enterprise_slug_committers_are_not_read_and_the_report_is_v1(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    ghes.committers = {"acme/app": ["user1"]}
    run, _ = await run_sync(ghes_settings)
    assert run["status"] == "succeeded", run
    body = sent_report(cloud_mock.calls[-1])
    assert body["schema_version"] == 1
    assert "advanced_security_user_ids" not in body
    assert not any("advanced-security" in path for path in ghes.requests)


async def test_committers_are_read_over_every_page_and_sent_as_user_ids(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    # 150 repositories: two pages of 100. user1 pushed everywhere (one committer), USER2
    # only to a repository on the second page (logins are case-insensitive), user4 is
    # suspended (not reported, so not a committer) and nobody here is "departed".
    ghes.committers = {f"acme/repo{n:03}": ["user1"] for n in range(150)}
    ghes.committers["acme/repo140"] = ["user1", "USER2", "departed"]
    ghes.committers["acme/repo005"] = ["user1", "user4"]
    settings = ghes_settings.model_copy(update={"ghes_enterprise": "acme"})
    run, _ = await run_sync(settings)
    assert run["status"] == "succeeded", run
    assert [p for p in ghes.requests if "advanced-security" in p] == [
        f"{COMMITTERS_PATH}?page=1",
        f"{COMMITTERS_PATH}?page=2",
    ]
    body = sent_report(cloud_mock.calls[-1])
    assert body["schema_version"] == 2
    assert body["advanced_security_user_ids"] == [1, 2]
    assert [user["id"] for user in body["users"]] == [1, 2, 3]
    assert "user1" not in json.dumps(body)  # logins never leave the agent


async def test_no_committers_is_a_v2_report_with_none(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    settings = ghes_settings.model_copy(update={"ghes_enterprise": "acme"})
    run, _ = await run_sync(settings)
    assert run["status"] == "succeeded", run
    body = sent_report(cloud_mock.calls[-1])
    assert (body["schema_version"], body["advanced_security_user_ids"]) == (2, [])


@pytest.mark.parametrize(
    ("enterprise", "status", "advice"),
    [
        ("wrong-slug", None, "check GHES_AGENT_GHES_ENTERPRISE"),
        ("acme", 403, "manage_billing:enterprise"),
        ("acme", 401, "wrong, expired or revoked"),
        ("acme", 503, "maintenance mode"),
    ],
)
async def test_committer_errors_fail_the_run_with_advice_and_send_nothing(
    ghes: FakeGhesState,
    ghes_settings: AgentSettings,
    cloud_mock: respx.MockRouter,
    enterprise: str,
    status: int | None,
    advice: str,
) -> None:
    if status is not None:
        ghes.status = {COMMITTERS_PATH: status}
    settings = ghes_settings.model_copy(update={"ghes_enterprise": enterprise})
    run, sync_status = await run_sync(settings)
    assert run["status"] == "failed"
    assert advice in str(run["error"])
    assert advice in str(sync_status["last_error"])
    assert not cloud_mock["server_usage"].called


async def test_unlimited_license_is_reported_as_null_seats(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    ghes.license = {**ghes.license, "seats": "unlimited", "seats_available": "unlimited"}
    try:
        run, _ = await run_sync(ghes_settings)
    finally:
        ghes.license = {**ghes.license, "seats": 1400}
    assert run["status"] == "succeeded"
    assert sent_report(cloud_mock.calls[-1])["license"]["seats"] is None
    license_shown = (await read_instance(ghes_settings))["license"]
    assert license_shown == {
        "seats": None,
        "unlimited": True,
        "expires_at": "2027-06-30T12:41:52-06:00",
    }


@pytest.mark.parametrize(
    ("path", "status", "advice"),
    [
        ("/api/v3/meta", 401, "wrong, expired or revoked"),
        ("/stafftools/reports/all_users.csv", 403, "not a site administrator"),
        ("/stafftools/reports/all_users.csv", 404, "not a site administrator"),
        ("/api/v3/enterprise/settings/license", 503, "maintenance mode"),
    ],
)
async def test_ghes_errors_fail_the_run_with_advice_and_send_nothing(
    ghes: FakeGhesState,
    ghes_settings: AgentSettings,
    cloud_mock: respx.MockRouter,
    path: str,
    status: int,
    advice: str,
) -> None:
    ghes.status = {path: status}
    run, sync_status = await run_sync(ghes_settings)
    assert run["status"] == "failed"
    assert advice in str(run["error"])
    assert advice in str(sync_status["last_error"])
    assert run["error_code"] == "users_unavailable"
    assert sync_status["advice"] is None  # the message itself says what to do
    assert not cloud_mock["server_usage"].called


async def test_wrong_token_is_reported(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    settings = ghes_settings.model_copy(update={"ghes_token": SecretStr("ghp_expired")})
    run, _ = await run_sync(settings)
    assert run["status"] == "failed"
    assert "(401)" in str(run["error"])


async def test_report_never_ready_is_bounded(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    ghes.preparing_answers = 10_000
    settings = ghes_settings.model_copy(update={"ghes_report_max_wait_seconds": 0.2})
    run, _ = await run_sync(settings)
    assert run["status"] == "failed"
    assert "still preparing" in str(run["error"])
    assert "GHES_AGENT_GHES_REPORT_MAX_WAIT_SECONDS" in str(run["error"])


async def test_unexpected_columns_send_nothing(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    ghes.users_csv = "login,mail\nmona,mona@example.com\n"
    run, _ = await run_sync(ghes_settings)
    assert run["status"] == "failed"
    assert "lacks the column(s)" in str(run["error"])
    assert not cloud_mock["server_usage"].called


async def test_unknown_certificate_authority_is_refused_with_advice(
    ghes: FakeGhesState, ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    settings = ghes_settings.model_copy(update={"ghes_ca_bundle": None})
    run, _ = await run_sync(settings)
    assert run["status"] == "failed"
    assert "TLS verification" in str(run["error"])
    assert "GHES_AGENT_GHES_CA_BUNDLE" in str(run["error"])


async def test_turning_verification_off_works_and_is_logged_loudly(
    ghes: FakeGhesState,
    ghes_settings: AgentSettings,
    cloud_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = ghes_settings.model_copy(update={"ghes_ca_bundle": None, "ghes_verify_tls": False})
    with caplog.at_level(logging.WARNING):
        run, _ = await run_sync(settings)
    assert run["status"] == "succeeded"
    assert any("TLS VERIFICATION" in record.getMessage() for record in caplog.records)


async def test_unreachable_host_is_reported(
    ghes_settings: AgentSettings, cloud_mock: respx.MockRouter
) -> None:
    settings = ghes_settings.model_copy(update={"ghes_url": "https://127.0.0.1:9"})
    run, _ = await run_sync(settings)
    assert run["status"] == "failed"
    assert "cannot reach GHES" in str(run["error"])


@pytest.mark.parametrize(
    ("body", "seats", "expires"),
    [
        (
            {"seats": 1400, "expire_at": "2016/02/06 12:41:52 -0600"},
            1400,
            "2016-02-06T18:41:52+00:00",
        ),
        (
            {"seats": "unlimited", "expire_at": "2030/01/01 00:00:00 +0000"},
            None,
            "2030-01-01T00:00:00+00:00",
        ),
        ({"seats": "250"}, 250, None),
    ],
)
def test_license_facts_as_ghes_writes_them(
    body: dict[str, object], seats: int | None, expires: str | None
) -> None:
    parsed = license_info(body)
    assert parsed is not None
    assert parsed.seats == seats
    got = (
        parsed.expires_at.astimezone(__import__("datetime").UTC).isoformat()
        if parsed.expires_at
        else None
    )
    assert got == expires


def test_license_seats_not_understood_is_an_error() -> None:
    with pytest.raises(GhesError, match="not understood"):
        license_info({"seats": "lots"})
