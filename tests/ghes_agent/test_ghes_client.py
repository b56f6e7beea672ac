"""The GHES client alone, its HTTP answered by respx."""

from __future__ import annotations

import io
import re

import httpx
import pytest
import respx

from services.ghes_agent.clients.ghes import GhesClient, GhesError
from tests.ghes_agent.conftest import DEFAULT_USERS, users_csv_text

URL = "https://ghes.example.com"
REPORT = f"{URL}/stafftools/reports/all_users.csv"
LICENSE = f"{URL}/api/v3/enterprise/settings/license"
META = f"{URL}/api/v3/meta"


def client(**options: float) -> GhesClient:
    return GhesClient(URL, "ghp_token", report_poll_interval=0.001, **options)


@respx.mock
async def test_waits_through_202_then_reads_the_report() -> None:
    route = respx.get(REPORT).mock(
        side_effect=[
            httpx.Response(202, text="generating"),
            httpx.Response(202, text="generating"),
            httpx.Response(200, text=users_csv_text(DEFAULT_USERS)),
        ]
    )
    respx.get(LICENSE).mock(return_value=httpx.Response(200, json={"seats": "unlimited"}))
    respx.get(META).mock(return_value=httpx.Response(200, json={"installed_version": "3.15.0"}))
    async with client() as ghes:
        facts = await ghes.collect()
    assert route.call_count == 3
    assert route.calls[0].request.headers["authorization"] == "token ghp_token"
    assert facts.ghes_version == "3.15.0"
    assert facts.license is not None
    assert facts.license.seats is None
    assert [user_id for user_id, _ in facts.snapshot.users] == [1, 2, 3]


@respx.mock
async def test_the_wait_for_the_report_is_bounded() -> None:
    respx.get(REPORT).mock(return_value=httpx.Response(202))
    async with client(report_max_wait=0.05) as ghes:
        with pytest.raises(GhesError, match="still preparing"):
            await ghes.download_users_report(io.BytesIO())


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        (401, "wrong, expired or revoked"),
        (403, "site administrator"),
        (404, "site administrator"),
        (503, "maintenance mode"),
        (500, "answered 500"),
    ],
)
@respx.mock
async def test_error_answers_become_advice(status: int, advice: str) -> None:
    respx.get(META).mock(return_value=httpx.Response(status))
    async with client() as ghes:
        with pytest.raises(GhesError, match=advice):
            await ghes.installed_version()


@respx.mock
async def test_an_unreachable_host_is_named() -> None:
    respx.get(META).mock(side_effect=httpx.ConnectError("connection refused"))
    async with client() as ghes:
        with pytest.raises(GhesError, match=re.escape("cannot reach GHES at " + URL)):
            await ghes.installed_version()


@respx.mock
async def test_an_answer_that_is_not_ghes_is_refused() -> None:
    respx.get(META).mock(return_value=httpx.Response(200, text="<html>login</html>"))
    async with client() as ghes:
        with pytest.raises(GhesError, match="is this a GHES instance"):
            await ghes.installed_version()


COMMITTERS = f"{URL}/api/v3/enterprises/acme/settings/billing/advanced-security"


def committers_page(*logins: str) -> dict[str, object]:
    return {
        "total_advanced_security_committers": len(logins),
        "total_count": 1,
        "maximum_advanced_security_committers": len(logins),
        "purchased_advanced_security_committers": 10,
        "repositories": [
            {
                "name": "acme/app",
                "advanced_security_committers": len(logins),
                "advanced_security_committers_breakdown": [
                    {"user_login": login, "last_pushed_date": "2026-11-20", "last_pushed_email": ""}
                    for login in logins
                ],
            }
        ],
    }


async def read_committers(**options: float) -> frozenset[str]:
    from services.ghes_agent.clients.advanced_security import read_committers as read

    async with client(**options) as ghes:
        return await read(ghes.get_page, ghes.base_url, "acme")


@respx.mock
async def test_committer_pages_are_followed_by_their_link_header() -> None:
    route = respx.get(url__startswith=COMMITTERS).mock(
        side_effect=[
            httpx.Response(
                200,
                json=committers_page("Mona", "hubot"),
                headers={"Link": f'<{COMMITTERS}?per_page=100&page=2>; rel="next"'},
            ),
            httpx.Response(200, json=committers_page("mona", "octocat")),
        ]
    )
    assert await read_committers() == {"mona", "hubot", "octocat"}
    assert [call.request.url.params["page"] for call in route.calls] == ["1", "2"]
    assert all(c.request.url.params["per_page"] == "100" for c in route.calls)
    assert route.calls[1].request.headers["authorization"] == "token ghp_token"


@respx.mock
async def test_a_next_page_on_another_host_is_not_followed() -> None:
    respx.get(url__startswith=COMMITTERS).mock(
        return_value=httpx.Response(
            200,
            json=committers_page("mona"),
            headers={"Link": '<https://elsewhere.example/steal?page=2>; rel="next"'},
        )
    )
    elsewhere = respx.get(url__startswith="https://elsewhere.example")
    with pytest.raises(GhesError, match="on another host"):
        await read_committers()
    assert not elsewhere.called


@respx.mock
async def test_pages_that_lead_back_are_refused() -> None:
    respx.get(url__startswith=COMMITTERS).mock(
        return_value=httpx.Response(
            200,
            json=committers_page("mona"),
            headers={"Link": f'<{COMMITTERS}?per_page=100&page=1>; rel="next"'},
        )
    )
    with pytest.raises(GhesError, match="lead back"):
        await read_committers()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"total_count": 0}, "did not list repositories"),
        ({"repositories": [{"name": "acme/app"}]}, "without its committers breakdown"),
        (
            {"repositories": [{"advanced_security_committers_breakdown": [{"login": "x"}]}]},
            "without user_login",
        ),
    ],
)
@respx.mock
async def test_answers_unlike_githubs_documented_one_are_refused(
    body: dict[str, object], problem: str
) -> None:
    respx.get(url__startswith=COMMITTERS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(GhesError, match=problem):
        await read_committers()


@respx.mock
async def test_a_transport_failure_on_a_later_page_fails_the_whole_read() -> None:
    respx.get(url__startswith=COMMITTERS).mock(
        side_effect=[
            httpx.Response(
                200,
                json=committers_page("mona"),
                headers={"Link": f'<{COMMITTERS}?per_page=100&page=2>; rel="next"'},
            ),
            httpx.ConnectError("connection reset"),
        ]
    )
    with pytest.raises(GhesError, match="cannot reach GHES"):
        await read_committers()
