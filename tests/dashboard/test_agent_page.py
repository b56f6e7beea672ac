"""The agent's page in headless Chromium against real agent and cloud processes (issue #12):
Sync now, Export license usage, the panels, and what a person sees when something fails.

Each figure on the page is compared with what the agent's (or the cloud's) API answers, and
each action with what changed behind it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import APIResponse, Browser, Route

from scripts.demo import DEMO
from scripts.screenshots import running_agent
from scripts.servers import free_port
from services.ghes_agent.domain.users_csv import read_users_file
from shared import read_export, verify_export
from tests.dashboard.axe import assert_accessible
from tests.dashboard.conftest import Agent, AgentTab, Cloud, open_agent_tab
from tests.ghes_agent.conftest import users_csv_text
from tests.ghes_agent.fake_ghes import (
    TOKEN,
    FakeGhesState,
    Pki,
    create_fake_ghes,
    make_pki,
    serve_https,
)

AGENT_HOST = "ghes-agent.acme.example"


def connect(cloud: Cloud, hostname: str) -> str:
    """Connects an instance to the cloud's enterprise: its instance token."""
    connected = httpx.post(
        f"{cloud.url}/enterprises/{cloud.seeded.slug}/server-instances",
        json={"hostname": hostname},
        headers={"Authorization": f"Bearer {cloud.seeded.owner}"},
    )
    assert connected.status_code == 201, connected.text
    token: str = connected.json()["instance_token"]
    return token


@pytest.fixture(scope="module")
def agent(dashboard_cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """An agent connected to the dashboard's cloud, reading the demo users file."""
    token = connect(dashboard_cloud, AGENT_HOST)
    workdir = tmp_path_factory.mktemp("agent")
    with running_agent(workdir, dashboard_cloud.url, token, hostname=AGENT_HOST) as (url, admin):
        yield Agent(url, admin)


@pytest.fixture
def page(browser: Browser, agent: Agent) -> Iterator[AgentTab]:
    with open_agent_tab(browser, agent) as tab:
        yield tab


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def fact(tab: AgentTab, name: str) -> str:
    return tab.page.inner_text(f"[data-fact={name}]").strip()


def sync_now(tab: AgentTab) -> str:
    """Presses Sync now and waits, on the page, for the run to end: its id."""
    tab.page.click("#sync-now")
    done = tab.page.wait_for_selector(
        "#run-progress[data-run-status=succeeded], #run-progress[data-run-status=failed]"
    )
    assert done is not None
    run_id = done.get_attribute("data-run-id")
    assert run_id
    # The page shows the agent's state after the run once it has read it again.
    tab.page.wait_for_selector(f"main[data-followed='{run_id}']")
    return run_id


# --- signing in ---------------------------------------------------------------------------


def test_sign_in_sends_the_admin_token_only_as_a_header(page: AgentTab) -> None:
    page.page.goto(f"{page.agent.url}/dashboard")
    assert_accessible(page.page, "signed out")
    page.sign_in()
    assert_accessible(page.page, "signed in")
    token = page.agent.admin
    calls = [r for r in page.requests if not urlsplit(r.url).path.startswith("/dashboard")]
    assert calls, "the page made no API request"
    assert all(r.headers.get("authorization") == f"Bearer {token}" for r in calls)
    assert all(token not in r.url for r in page.requests)
    assert page.page.evaluate("document.cookie") == ""
    assert {urlsplit(r.url).netloc for r in page.requests} == {urlsplit(page.agent.url).netloc}

    page.page.click("#sign-out")
    assert page.page.is_visible("#token")
    assert page.page.evaluate("sessionStorage.length") == 0
    page.page.reload()
    assert page.page.is_visible("#token"), "a reload after signing out must not sign in again"
    assert page.problems == []


def test_a_wrong_token_says_which_token_and_is_not_kept(page: AgentTab) -> None:
    page.sign_in("lsa_not-the-token")
    message = page.page.wait_for_selector("#sign-in-error")
    assert message is not None
    assert "agent's admin token" in message.inner_text()
    assert "GHES_AGENT_ADMIN_TOKEN" in message.inner_text()
    assert page.page.evaluate("sessionStorage.length") == 0
    assert_accessible(page.page, "a refused token")


# --- what the page shows ------------------------------------------------------------------


def test_the_panels_show_what_the_agent_answers(page: AgentTab) -> None:
    page.sign_in()
    instance = page.agent.api("/instance").json()
    status = page.agent.api("/sync/status").json()
    assert fact(page, "server-id") == instance["server_id"]
    assert fact(page, "hostname") == AGENT_HOST
    assert fact(page, "ghes-version") == instance["ghes_version"]
    assert fact(page, "fingerprint") == instance["public_key_fingerprint"]
    assert fact(page, "public-key") == instance["public_key"]
    assert fact(page, "schedule") == status["schedule_in_words"] == "every Tuesday at 14:37 UTC"
    assert number(fact(page, "pending-reports")) == status["pending_reports"]
    assert fact(page, "next-run") != "—"  # a date, as the browser formats it
    assert page.page.title() == "license-sync agent"
    assert page.page.inner_text("#instance-name") == AGENT_HOST


def test_sync_now_follows_the_run_to_its_end_without_a_reload(
    page: AgentTab, dashboard_cloud: Cloud
) -> None:
    page.sign_in()
    page.page.evaluate("window.notReloaded = true")
    run_id = sync_now(page)

    run = page.agent.api(f"/sync/runs/{run_id}").json()
    assert run["status"] == "succeeded"
    assert run["trigger"] == "manual"
    assert page.page.evaluate("window.notReloaded") is True
    progress = page.page.inner_text("#run-progress")
    assert f"{run['users_sent']} users sent" in progress
    # The panels and the list now show that run: it is the newest in /sync/runs.
    runs = page.agent.api("/sync/runs").json()["runs"]
    assert runs[0]["id"] == run_id
    first = page.page.eval_on_selector_all(
        "#runs tbody tr:first-child td", "cells => cells.map(c => c.innerText.trim())"
    )
    assert first[1] == "manual"
    assert first[2].startswith("delivered")
    assert (number(first[3]), number(first[4])) == (run["users_sent"], run["attempts"])
    assert fact(page, "last-status") == "delivered"
    assert number(fact(page, "users-sent")) == run["users_sent"]
    assert number(fact(page, "suspended-excluded")) == run["suspended_excluded"]
    # The cloud's figure from its receipt, which is the cloud's figure now.
    cloud_figure = dashboard_cloud.api("/enterprise/licenses").json()["total_seats_consumed"]
    assert number(fact(page, "cloud-figure")) == run["receipt"]["total_seats_consumed"]
    assert run["receipt"]["total_seats_consumed"] == cloud_figure
    assert_accessible(page.page, "after a sync")
    assert page.problems == []


def test_sync_now_is_operable_from_the_keyboard(page: AgentTab) -> None:
    page.sign_in()
    before = len(page.agent.api("/sync/runs").json()["runs"])
    for _ in range(20):
        page.page.keyboard.press("Tab")
        if page.page.evaluate("document.activeElement.id") == "sync-now":
            break
    else:
        pytest.fail("Tab never reached Sync now")
    outline = page.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused button shows no focus ring"
    page.page.keyboard.press("Enter")
    page.page.wait_for_selector("#run-progress[data-run-status=succeeded]")
    assert len(page.agent.api("/sync/runs").json()["runs"]) == before + 1


def test_export_downloads_the_signed_file_the_api_gave(page: AgentTab) -> None:
    page.sign_in()
    instance = page.agent.api("/instance").json()
    answers: list[APIResponse] = []

    def keep_the_answer(route: Route) -> None:
        # The API's answer to the page's own request, passed on to the page unchanged.
        answers.append(route.fetch())
        route.fulfill(response=answers[-1])

    page.page.route("**/license/usage/export", keep_the_answer)
    with page.page.expect_download() as downloading:
        page.page.click("#export-usage")
    download = downloading.value
    (response,) = answers
    content = download.path().read_bytes()
    assert content == response.body()
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="{download.suggested_filename}"'
    assert re.fullmatch(
        rf"{AGENT_HOST}-license-usage-\d{{4}}-\d\d-\d\d\.json", download.suggested_filename
    )
    export = read_export(content)
    verify_export(export, instance["public_key"])  # signed by this agent's key
    assert export.report["sequence"] == int(response.headers["x-report-sequence"])
    assert export.report["report_id"] == response.headers["x-report-id"]
    demo_users = read_users_file(DEMO / "all_users.csv")
    assert len(export.report["users"]) == len(demo_users.users)
    message = page.page.inner_text("#page-message")
    assert download.suggested_filename in message
    assert "Add server usage" in message


def test_pages_fit_a_phone_width(browser: Browser, agent: Agent) -> None:
    with open_agent_tab(browser, agent, width=375) as tab:
        tab.page.goto(f"{agent.url}/dashboard")
        assert _overflow(tab) <= 0
        tab.sign_in()
        assert _overflow(tab) <= 0, "the agent page is wider than a phone"
        assert tab.page.is_visible("#sync-now")
        assert tab.page.is_visible("#export-usage")
        assert_accessible(tab.page, "signed in, phone")
        assert tab.problems == []


def _overflow(tab: AgentTab) -> int:
    width: int = tab.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


# --- when something fails -----------------------------------------------------------------


def test_an_unreachable_cloud_is_a_clear_message_with_its_advice(
    browser: Browser, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_agent(tmp_path / "agent", nowhere, "lsi_unused") as (url, admin):
        agent = Agent(url, admin)
        with open_agent_tab(browser, agent) as tab:
            tab.sign_in()
            run_id = sync_now(tab)
            run = agent.api(f"/sync/runs/{run_id}").json()
            status = agent.api("/sync/status").json()
            assert (run["status"], run["error_code"]) == ("failed", "unreachable")
            assert "cannot reach the cloud" in tab.page.inner_text("#run-progress")
            assert tab.page.inner_text("#last-error-text") == status["last_error"]
            advice = tab.page.inner_text("#advice")
            assert status["advice"] in advice
            assert "GHES_AGENT_CLOUD_URL" in advice
            # The report is kept for delivery, and the page says so.
            assert number(fact(tab, "pending-reports")) == status["pending_reports"] == 1
            assert fact(tab, "next-retry") != "—"
            assert tab.page.inner_text("#runs tbody tr:first-child").count("failed") >= 1
            assert_accessible(tab.page, "an unreachable cloud")
            assert tab.problems == []


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def fake_ghes(pki: Pki) -> Iterator[tuple[str, FakeGhesState]]:
    state = FakeGhesState(users_csv=users_csv_text([(1, "mona@example.com", False, False)]))
    with serve_https(create_fake_ghes(state), pki) as url:
        yield url, state


@contextmanager
def ghes_agent(tmp_path: Path, ghes: str, pki: Pki, token: str, cloud: Cloud) -> Iterator[Agent]:
    """An agent reading the fake GHES with ``token``, connected to ``cloud``."""
    with running_agent(
        tmp_path / "agent",
        cloud.url,
        connect(cloud, f"ghes-{uuid.uuid4().hex[:8]}.acme.example"),
        users_csv="",
        ghes_url=ghes,
        ghes_token=token,
        ghes_ca_bundle=str(pki.ca_file),
        ghes_report_poll_seconds="0.05",
    ) as (url, admin):
        yield Agent(url, admin)


def test_a_ghes_refusing_the_token_is_a_clear_message(
    browser: Browser,
    tmp_path: Path,
    fake_ghes: tuple[str, FakeGhesState],
    pki: Pki,
    dashboard_cloud: Cloud,
) -> None:
    url, _state = fake_ghes
    with (
        ghes_agent(tmp_path, url, pki, "ghp_revoked", dashboard_cloud) as agent,
        open_agent_tab(browser, agent) as tab,
    ):
        tab.sign_in()
        run_id = sync_now(tab)
        run = agent.api(f"/sync/runs/{run_id}").json()
        assert (run["status"], run["error_code"]) == ("failed", "users_unavailable")
        shown = tab.page.inner_text("#last-error-text")
        assert shown == agent.api("/sync/status").json()["last_error"]
        assert "GHES refused the token (401)" in shown
        assert "GHES_AGENT_GHES_TOKEN" in shown  # what to do, in the message itself
        assert_accessible(tab.page, "GHES refused the token")

        tab.page.click("#export-usage")
        message = tab.page.wait_for_selector("#page-message .notice.bad")
        assert message is not None
        assert "Export failed" in message.inner_text()
        assert "GHES refused the token" in message.inner_text()
        assert tab.page.evaluate("document.activeElement.id") == "page-message"
        assert tab.problems == [] or all("409" in p for p in tab.problems)


def test_pressing_sync_now_during_a_run_shows_that_run(
    browser: Browser,
    tmp_path: Path,
    fake_ghes: tuple[str, FakeGhesState],
    pki: Pki,
    dashboard_cloud: Cloud,
) -> None:
    url, state = fake_ghes
    # GHES keeps "preparing" the users report until the test lets it be ready.
    state.preparing_answers = 10**6
    with (
        ghes_agent(tmp_path, url, pki, TOKEN, dashboard_cloud) as agent,
        open_agent_tab(browser, agent) as tab,
    ):
        tab.sign_in()
        tab.page.click("#sync-now")
        running = tab.page.wait_for_selector("#run-progress[data-run-status=running]")
        assert running is not None
        run_id = running.get_attribute("data-run-id")
        tab.page.click("#sync-now")
        tab.page.wait_for_selector("#run-progress:has-text('already running')")
        assert tab.page.get_attribute("#run-progress", "data-run-id") == run_id
        assert len(agent.api("/sync/runs").json()["runs"]) == 1  # no second run
        state.preparing_answers = 0
        tab.page.wait_for_selector(f"main[data-followed='{run_id}']")
        run = agent.api(f"/sync/runs/{run_id}").json()
        assert run["status"] == "succeeded"
        assert tab.page.get_attribute("#run-progress", "data-run-status") == "succeeded"
        # It read GHES: the instance panel shows the version and license GHES gave.
        assert fact(tab, "ghes-version") == state.version
        assert fact(tab, "license").startswith("1,400 seats, expires")


# --- the preview of the next sync ---------------------------------------------------------


def preview_shown(tab: AgentTab) -> dict[str, str]:
    """Waits for the page's preview and reads its facts (the preview-* ones)."""
    tab.page.wait_for_selector("#preview[data-state=shown]:not([aria-busy])")
    names = tab.page.eval_on_selector_all(
        "#preview [data-fact]", "cells => cells.map(c => c.dataset.fact)"
    )
    return {name.removeprefix("preview-"): fact(tab, name) for name in names}


def sample_rows(tab: AgentTab, kind: str) -> list[tuple[int, str | None]]:
    cells = tab.page.eval_on_selector_all(
        f"#preview-samples-{kind} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))",
    )
    return [(int(user), None if login == "—" else login) for user, login in cells]


def assert_preview_equals_the_api(tab: AgentTab, preview: dict[str, object]) -> None:
    shown = preview_shown(tab)
    counted = {key: number(value) for key, value in shown.items()}
    assert counted == {
        "users": preview["users"],
        "suspended": preview["suspended_excluded"],
        "invalid": preview["invalid_emails"],
        "added": preview["added"],
        "removed": preview["removed"],
        "email_changed": preview["email_changed"],
    }
    samples = preview["samples"]
    assert isinstance(samples, dict)
    for kind in ("added", "removed", "email_changed"):
        expected = [(user["id"], user["login"]) for user in samples[kind]]
        if preview[kind]:
            assert sample_rows(tab, kind) == expected, kind
        else:
            assert not tab.page.is_visible(f"#preview-samples-{kind}"), kind


def users_file(path: Path, rows: list[tuple[int, str, bool]]) -> Path:
    path.write_text(
        users_csv_text([(user, email, suspended, False) for user, email, suspended in rows])
    )
    return path


def test_the_preview_shows_what_the_next_sync_would_change(
    browser: Browser, tmp_path: Path, dashboard_cloud: Cloud
) -> None:
    users = users_file(
        tmp_path / "all_users.csv",
        [(n, f"user{n}@acme.example", False) for n in range(1, 31)]
        + [(31, "gone@acme.example", True)],
    )
    token = connect(dashboard_cloud, "preview.acme.example")
    with (
        running_agent(tmp_path / "agent", dashboard_cloud.url, token, users_csv=str(users)) as (
            url,
            admin,
        ),
        open_agent_tab(browser, Agent(url, admin)) as tab,
    ):
        agent = tab.agent
        tab.sign_in()
        # Before the first sync: every user is new to the cloud, and there is no baseline.
        first = agent.api("/sync/preview").json()
        assert (first["added"], first["last_accepted_report_id"]) == (30, None)
        assert_preview_equals_the_api(tab, first)
        assert "accepted no report" in tab.page.inner_text("#preview-baseline")
        assert "the first 20 of 30" in tab.page.inner_text("#preview-added-title")

        run_id = sync_now(tab)
        # A delivered report is the new baseline: the page reads the preview again.
        after_sync = agent.api("/sync/preview").json()
        assert (after_sync["added"], after_sync["removed"]) == (0, 0)
        sequence = agent.api(f"/sync/runs/{run_id}").json()["sequence"]
        assert after_sync["last_accepted_sequence"] == sequence
        assert_preview_equals_the_api(tab, after_sync)
        baseline = tab.page.inner_text("#preview-baseline")
        assert f"report {after_sync['last_accepted_sequence']}" in baseline

        # GHES changes: two users join, one is suspended, one leaves, two change address
        # (one only by case, which is no change), one address becomes invalid.
        rows = [(n, f"user{n}@acme.example", False) for n in range(1, 31) if n != 7]
        rows = [(n, "new3@acme.example" if n == 3 else e, s) for n, e, s in rows]
        rows = [(n, "USER4@acme.example" if n == 4 else e, s) for n, e, s in rows]
        rows = [(n, "not an address" if n == 5 else e, n == 6 or s) for n, e, s in rows]
        users_file(users, [*rows, (40, "joiner@acme.example", False), (41, "", False)])
        changed = agent.api("/sync/preview").json()
        assert (changed["added"], changed["removed"], changed["email_changed"]) == (2, 2, 2)
        assert changed["invalid_emails"] == 1
        # Shown without a reload, from the keyboard: tab to Preview again and press Enter.
        for _ in range(40):
            tab.page.keyboard.press("Tab")
            if tab.page.evaluate("document.activeElement.id") == "preview-again":
                break
        else:
            pytest.fail("Tab never reached Preview again")
        tab.page.keyboard.press("Enter")
        tab.page.wait_for_selector(
            "#preview[data-state=shown] [data-fact=preview-added]:text-is('2')"
        )
        assert_preview_equals_the_api(tab, changed)
        assert sample_rows(tab, "added") == [(40, "user40"), (41, "user41")]
        assert sample_rows(tab, "removed") == [(6, "user6"), (7, None)]
        assert sample_rows(tab, "email_changed") == [(3, "user3"), (5, "user5")]
        assert_accessible(tab.page, "the preview of the next sync")
        # Nothing was sent or kept: the cloud still has the one report, the agent one run.
        assert len(agent.api("/sync/runs").json()["runs"]) == 1
        assert agent.api("/sync/status").json()["pending_reports"] == 0
        assert tab.problems == []


def test_the_preview_is_shown_while_the_cloud_is_unreachable(
    browser: Browser, tmp_path: Path
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_agent(tmp_path / "agent", nowhere, "lsi_unused") as (url, admin):
        agent = Agent(url, admin)
        with open_agent_tab(browser, agent) as tab:
            tab.sign_in()
            sync_now(tab)  # fails: the cloud accepted nothing, and the preview says so
            preview = agent.api("/sync/preview").json()
            assert preview["last_accepted_report_id"] is None
            assert preview["added"] == len(read_users_file(DEMO / "all_users.csv").users)
            assert_preview_equals_the_api(tab, preview)
            assert "accepted no report" in tab.page.inner_text("#preview-baseline")
            assert tab.problems == []


def test_the_preview_fits_a_phone_width(browser: Browser, agent: Agent) -> None:
    with open_agent_tab(browser, agent, width=375) as tab:
        tab.sign_in()
        preview_shown(tab)
        tab.page.click("#preview-again")
        preview_shown(tab)
        assert _overflow(tab) <= 0, "the preview is wider than a phone"
        assert tab.page.is_visible("#preview-again")
        assert_accessible(tab.page, "the preview, phone")
        assert tab.problems == []


def test_a_preview_that_cannot_read_the_users_says_why(
    browser: Browser,
    tmp_path: Path,
    fake_ghes: tuple[str, FakeGhesState],
    pki: Pki,
    dashboard_cloud: Cloud,
) -> None:
    url, _state = fake_ghes
    with (
        ghes_agent(tmp_path, url, pki, "ghp_revoked", dashboard_cloud) as agent,
        open_agent_tab(browser, agent) as tab,
    ):
        tab.sign_in()
        tab.page.wait_for_selector("#preview[data-state=failed]:not([aria-busy])")
        shown = tab.page.inner_text("#preview-error")
        assert "GHES refused the token (401)" in shown
        assert "GHES_AGENT_GHES_TOKEN" in shown
        # The rest of the page is there: the preview failing does not fail the page.
        assert tab.page.is_visible("#last-sync")
        assert_accessible(tab.page, "no preview")
        assert all("409" in problem for problem in tab.problems)
