"""``python -m scripts.screenshots``: both services' pages as PNG files under docs/.

Starts cloud_api on SQLite in a temporary directory, fills it with the dashboard demo data
(scripts/dashboard_demo.py), signs in with the owner token in headless Chromium (Debian's
``chromium``, driven by Playwright) and saves each page at a laptop and a phone width; then
the server instances' dialogs and uploads, and the agent's page (a ghes_agent process
connected to that cloud, and one whose cloud is unreachable).
"""

from __future__ import annotations

import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Page, sync_playwright

from scripts.dashboard_demo import Seeded, seed, signed_export
from scripts.demo import DEMO, HOSTNAME, call
from scripts.servers import ROOT, free_port, uvicorn_process
from shared import public_key_text

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
VIEWS = ("overview", "instances", "persons", "changes")
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
        seeded_cloud(Path(tmp)) as (url, _admin, seeded),
        chromium() as browser,
    ):
        for label, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            sign_in(page, url, seeded.owner)
            for view in VIEWS:
                page.goto(f"{url}/dashboard#/{view}")
                page.wait_for_selector(f"main[data-view={view}]:not([aria-busy])")
                shoot(page, out, f"dashboard-{view}-{label}")
            page.close()
        instance_states(browser, url, seeded, Path(tmp), out)
        agent_pages(browser, url, seeded, Path(tmp), out)


def shoot(page: Page, out: Path, name: str) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(ROOT))


def instance_states(browser: Browser, url: str, seeded: Seeded, tmp: Path, out: Path) -> None:
    """The instance token shown once, and an upload applied and refused."""
    key, server_id = Ed25519PrivateKey.generate(), str(uuid.uuid4())
    body = {
        "hostname": "closed-net.acme.example",
        "upload_only": True,
        "server_id": server_id,
        "public_key": public_key_text(key),
    }
    call("POST", f"{url}/enterprises/{seeded.slug}/server-instances", seeded.owner, body)
    files = {
        "applied": signed_export(key, server_id, "closed-net.acme.example", 1, 6),
        "refused": signed_export(key, server_id, "closed-net.acme.example", 1, 6),
    }
    for label, (width, height) in WIDTHS.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        sign_in(page, url, seeded.owner)
        page.goto(f"{url}/dashboard#/instances")
        page.wait_for_selector("main[data-view=instances]:not([aria-busy])")
        page.click("#connect-instance")
        page.fill("#connect-hostname", f"ghes-{label}.acme.example")
        page.click("dialog button[type=submit]")
        page.wait_for_selector("dialog[open] #shown-secret")
        shoot(page, out, f"dashboard-instance-token-{label}")
        page.click("dialog[open] button:has-text('Done')")
        for outcome, content in files.items():
            path = tmp / f"closed-net-{label}-{outcome}.json"
            path.write_bytes(content)
            page.set_input_files("#usage-file", str(path))
            page.wait_for_selector(f"#upload-result [data-outcome={outcome}]")
            shoot(page, out, f"dashboard-upload-{outcome}-{label}")
        page.close()
        files["applied"] = signed_export(key, server_id, "closed-net.acme.example", 2, 8)


def agent_pages(browser: Browser, url: str, seeded: Seeded, tmp: Path, out: Path) -> None:
    """The agent's page signed out, after a sync, and after a sync the cloud never got."""
    body = {"hostname": HOSTNAME}
    connected = call(
        "POST", f"{url}/enterprises/{seeded.slug}/server-instances", seeded.owner, body
    )
    with running_agent(tmp / "agent", url, connected["instance_token"]) as (agent, admin):
        for label, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{agent}/dashboard")
            if label == "laptop":
                shoot(page, out, "agent-sign-in-laptop")
            agent_sync(page, admin)
            shoot(page, out, f"agent-page-{label}")
            page.close()
    nowhere = f"http://127.0.0.1:{free_port()}"
    with running_agent(tmp / "unreachable", nowhere, "lsi_unused") as (agent, admin):
        width, height = WIDTHS["laptop"]
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{agent}/dashboard")
        agent_sync(page, admin)
        shoot(page, out, "agent-cloud-unreachable-laptop")
        page.close()


def agent_sync(page: Page, admin: str) -> None:
    page.fill("#token", admin)
    page.click("button[type=submit]")
    page.wait_for_selector("main[data-view=agent]:not([aria-busy])")
    page.click("#sync-now")
    run_id = page.get_attribute("#run-progress[data-run-id]", "data-run-id")
    page.wait_for_selector(f"main[data-followed='{run_id}']")
    page.wait_for_selector("#preview[data-state]:not([aria-busy])")


if __name__ == "__main__":
    main()
