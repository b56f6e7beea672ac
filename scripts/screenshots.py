"""``python -m scripts.screenshots``: the dashboard's pages as PNG files under docs/.

Starts cloud_api on SQLite in a temporary directory, fills it with the dashboard demo data
(scripts/dashboard_demo.py), signs in with the owner token in headless Chromium (Debian's
``chromium``, driven by Playwright) and saves each page at a laptop and a phone width.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from scripts.dashboard_demo import Seeded, seed
from scripts.demo import DEMO, HOSTNAME
from scripts.servers import ROOT, uvicorn_process

CHROMIUM = "/usr/bin/chromium"
# Without these Chromium reaches for Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWS = ("overview", "instances", "persons")
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}


@contextmanager
def seeded_cloud(
    workdir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, str, Seeded]]:
    """A cloud_api process on SQLite with the dashboard demo data: (url, admin, seeded)."""
    admin = "lsop_" + secrets.token_urlsafe(24)
    env = {
        "CLOUD_API_DATABASE_URL": f"sqlite:///{workdir / 'cloud_api.db'}",
        "CLOUD_API_ADMIN_TOKEN": admin,
        **(extra_env or {}),
    }
    with uvicorn_process("services.cloud_api.main:create_app", env, workdir / "cloud.log") as (
        url,
        _process,
    ):
        yield url, admin, seed(url, admin)


@contextmanager
def running_agent(
    workdir: Path, cloud: str | None, instance_token: str | None, **env: str
) -> Iterator[tuple[str, str]]:
    """A ghes_agent process reading the demo users file, sending to ``cloud`` with
    ``instance_token`` (when given), on a weekly schedule: (url, admin token). ``env``
    overrides its ``GHES_AGENT_*`` settings (``users_csv=None`` is written ``USERS_CSV=""``)."""
    admin = "lsa_" + secrets.token_urlsafe(24)
    settings = {
        "DATA_DIR": str(workdir),
        "USERS_CSV": str(DEMO / "all_users.csv"),
        "HOSTNAME": HOSTNAME,
        "GHES_VERSION": "3.14.2",
        "ADMIN_TOKEN": admin,
        "SYNC_CRON": "37 14 * * tue",
        **({"CLOUD_URL": cloud} if cloud else {}),
        **({"INSTANCE_TOKEN": instance_token} if instance_token else {}),
        **{name.upper(): value for name, value in env.items()},
    }
    variables = {f"GHES_AGENT_{name}": value for name, value in settings.items() if value}
    workdir.mkdir(parents=True, exist_ok=True)
    with uvicorn_process(
        "services.ghes_agent.main:create_app", variables, workdir / "agent.log"
    ) as (url, _process):
        yield url, admin


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/dashboard")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("main[data-view]:not([aria-busy])")


def main() -> None:
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        seeded_cloud(Path(tmp)) as (url, _, seeded),
        chromium() as browser,
    ):
        for label, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            sign_in(page, url, seeded.owner)
            for view in VIEWS:
                page.goto(f"{url}/dashboard#/{view}")
                page.wait_for_selector(f"main[data-view={view}]:not([aria-busy])")
                path = out / f"dashboard-{view}-{label}.png"
                page.screenshot(path=str(path), full_page=True)
                print(path.relative_to(ROOT))
            page.close()


if __name__ == "__main__":
    main()
