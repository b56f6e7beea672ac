"""A cloud_api process with the dashboard demo data, and headless Chromium to look at it.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright; Playwright's own
browser download is not used (the machines are closed to the internet). Without Chromium
the browser tests skip and say so, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
class Tab:
    """A page and what it did: every request it made, every error it logged."""

    page: Page
    cloud: Cloud
    requests: list[Request] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def sign_in(self) -> None:
        sign_in(self.page, self.cloud.url, self.cloud.seeded.owner)

    def show(self, view: str) -> None:
        self.page.click(f"#nav a[data-view={view}]")
        self.page.wait_for_selector(f"main[data-view={view}]:not([aria-busy])")


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


def _open_tab(browser: Browser, cloud: Cloud, width: int, height: int) -> Iterator[Tab]:
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    tab = Tab(page, cloud)
    page.on("request", lambda request: tab.requests.append(request))
    page.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: tab.problems.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def tab(browser: Browser, dashboard_cloud: Cloud) -> Iterator[Tab]:
    yield from _open_tab(browser, dashboard_cloud, 1280, 800)


@pytest.fixture
def phone(browser: Browser, dashboard_cloud: Cloud) -> Iterator[Tab]:
    yield from _open_tab(browser, dashboard_cloud, 375, 740)
