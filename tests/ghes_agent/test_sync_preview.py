"""GET /sync/preview (SPEC 7.2): what a sync now would send, against the last report the
cloud accepted; it sends and stores nothing, and works while the cloud is unreachable."""

from __future__ import annotations

import httpx
import respx

from services.ghes_agent.settings import AgentSettings
from tests.ghes_agent.conftest import CLOUD_URL, sync_now, users_csv_text
from tests.ghes_agent.test_sync_api import receipt_for, sent_report


@respx.mock
async def test_before_any_accepted_report_everyone_is_added(agent: httpx.AsyncClient) -> None:
    cloud = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=httpx.ConnectError("down"))

    preview = (await agent.get("/sync/preview")).json()

    assert preview == {
        "users": 3,
        "suspended_excluded": 1,
        "invalid_emails": 0,
        "added": 3,
        "removed": 0,
        "email_changed": 0,
        "samples": {
            "added": [
                {"id": 1, "login": "user1"},
                {"id": 2, "login": "user2"},
                {"id": 3, "login": "user3"},
            ],
            "removed": [],
            "email_changed": [],
        },
        "last_accepted_report_id": None,
        "last_accepted_sequence": None,
        "last_accepted_at": None,
    }
    assert cloud.call_count == 0


@respx.mock
async def test_changes_against_the_last_accepted_report_with_samples(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    accepted = await sync_now(agent)
    assert accepted["status"] == "succeeded"
    # Since then: 2 suspended, 3's e-mail set, 1's changed only in case, 5 and 6 hired
    # (6 with an address the cloud would refuse), 4 still suspended.
    agent_settings.users_csv.write_text(
        users_csv_text(
            [
                (1, "MONA@example.com", False, False),
                (2, "Hubot@Example.com", True, False),
                (3, "three@example.com", False, False),
                (4, "sus@example.com", True, False),
                (5, "five@example.com", False, False),
                (6, "not an address", False, False),
            ]
        )
    )
    route.mock(side_effect=httpx.ConnectError("the cloud is down now"))

    preview = (await agent.get("/sync/preview")).json()

    assert (preview["users"], preview["suspended_excluded"], preview["invalid_emails"]) == (
        4,
        2,
        1,
    )
    assert (preview["added"], preview["removed"], preview["email_changed"]) == (2, 1, 1)
    assert preview["samples"] == {
        "added": [{"id": 5, "login": "user5"}, {"id": 6, "login": "user6"}],
        "removed": [{"id": 2, "login": "user2"}],
        "email_changed": [{"id": 3, "login": "user3"}],
    }
    assert preview["last_accepted_report_id"] == accepted["report_id"]
    assert preview["last_accepted_sequence"] == accepted["sequence"] == 1
    assert route.call_count == 1  # the accepted sync's push, none since


@respx.mock
async def test_a_preview_stores_nothing_and_takes_no_sequence(agent: httpx.AsyncClient) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    for _ in range(3):
        assert (await agent.get("/sync/preview")).status_code == 200

    runs = (await agent.get("/sync/runs")).json()["runs"]
    status = (await agent.get("/sync/status")).json()
    run = await sync_now(agent)

    assert runs == []
    assert status["pending_reports"] == 0
    assert sent_report(route.calls[0])["sequence"] == run["sequence"] == 1


async def test_samples_are_at_most_twenty(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    agent_settings.users_csv.write_text(
        users_csv_text([(n, f"u{n}@example.com", False, False) for n in range(1, 31)])
    )

    preview = (await agent.get("/sync/preview")).json()

    assert preview["added"] == 30
    assert [sample["id"] for sample in preview["samples"]["added"]] == list(range(1, 21))


async def test_an_unreadable_users_file_says_so(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    agent_settings.users_csv.write_text("login,mail\nmona,mona@example.com\n")

    response = await agent.get("/sync/preview")

    assert response.status_code >= 400
    assert "users" in response.json()["detail"]


async def test_the_preview_needs_the_admin_token(agent: httpx.AsyncClient) -> None:
    response = await agent.get("/sync/preview", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
