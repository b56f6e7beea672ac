"""A cloud_api process with the dashboard demo data, and headless Chromium to look at it.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright; Playwright's own
browser download is not used (the machines are closed to the internet). Without Chromium
the browser tests skip and say so, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request

from scripts.dashboard_demo import Seeded
from scripts.screenshots import CHROMIUM, chromium, seeded_cloud, sign_in


@dataclass
class Cloud:
    url: str
    admin: str
    seeded: Seeded

    def api(self, path: str, **params: object) -> httpx.Response:
        response = httpx.get(
            f"{self.url}{path}",
            params=params,  # type: ignore[arg-type]
            headers={"Authorization": f"Bearer {self.seeded.owner}"},
        )
        assert response.status_code == 200, response.text
        return response


@dataclass
class Agent:
    url: str
    admin: str

    def api(self, path: str) -> httpx.Response:
        response = httpx.get(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {self.admin}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        return response


@dataclass
class Watched:
    """A page and what it did: every request it made, every error it logged."""

    page: Page
    requests: list[Request] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def watch(self) -> None:
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on(
            "console", lambda m: self.problems.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))


@dataclass
class Tab(Watched):
    """The owner dashboard of ``cloud``."""

    cloud: Cloud = field(kw_only=True)

    def sign_in(self) -> None:
        sign_in(self.page, self.cloud.url, self.cloud.seeded.owner)

    def show(self, view: str) -> None:
        self.page.click(f"#nav a[data-view={view}]")
        self.page.wait_for_selector(f"main[data-view={view}]:not([aria-busy])")


@dataclass
class AgentTab(Watched):
    """The page of ``agent``."""

    agent: Agent = field(kw_only=True)

    def sign_in(self, token: str | None = None) -> None:
        self.page.goto(f"{self.agent.url}/dashboard")
        self.page.fill("#token", token or self.agent.admin)
        self.page.click("button[type=submit]")
        if token is None:
            self.page.wait_for_selector("main[data-view=agent]:not([aria-busy])")


@pytest.fixture(scope="module")
def dashboard_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    workdir = tmp_path_factory.mktemp("dashboard")
    with seeded_cloud(Path(workdir)) as (url, admin, seeded):
        yield Cloud(url, admin, seeded)


# Module scope, not session: Playwright's sync API keeps its event loop running in this
# thread while the browser is open, which would stop every async test that came after.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with chromium() as launched:
        yield launched


@contextmanager
def open_page(browser: Browser, width: int = 1280, height: int = 800) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        yield context.new_page()
    finally:
        context.close()


def _open_tab(browser: Browser, cloud: Cloud, width: int, height: int) -> Iterator[Tab]:
    with open_page(browser, width, height) as page:
        tab = Tab(page, cloud=cloud)
        tab.watch()
        yield tab


@contextmanager
def open_agent_tab(browser: Browser, agent: Agent, width: int = 1280) -> Iterator[AgentTab]:
    with open_page(browser, width, 800 if width > 500 else 740) as page:
        tab = AgentTab(page, agent=agent)
        tab.watch()
        yield tab


@pytest.fixture
def tab(browser: Browser, dashboard_cloud: Cloud) -> Iterator[Tab]:
    yield from _open_tab(browser, dashboard_cloud, 1280, 800)


@pytest.fixture
def phone(browser: Browser, dashboard_cloud: Cloud) -> Iterator[Tab]:
    yield from _open_tab(browser, dashboard_cloud, 375, 740)
