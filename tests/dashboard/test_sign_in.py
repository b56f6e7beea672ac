"""Owners signing in through their identity provider, in Debian's Chromium, against a real
OpenID provider process (tests/oidc_provider: panva's oidc-provider) and a real cloud_api.

The provider's own development pages take any password for a login; the accounts below
give each login its claims. The cloud runs on http://127.0.0.1, which Chromium treats as a
secure context: the session cookie is Secure (and ``__Host-``) as in production.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from scripts.dashboard_demo import seed
from scripts.servers import free_port, uvicorn_process
from tests.dashboard.axe import assert_accessible
from tests.oidc_provider import Account, running_provider

SESSION_COOKIE = "__Host-license-sync-session"
ACCOUNTS = {
    # An owner of acme through a group of the provider.
    "mona": Account("Mona@ACME.example", name="Mona Lisa", groups=["acme-license-admins"]),
    # An owner of globex by e-mail, and of nothing else.
    "eve": Account("eve@globex.example", groups=["globex-staff"]),
}
SHORT_LIFETIME = 20
"""Seconds a session lasts on the second cloud, where the expiry test runs."""


@dataclass
class SignInCloud:
    url: str
    admin: str
    owner: str
    log: Path

    def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        return httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token or self.owner}"},
            timeout=30,
        )

    def audit(self, slug: str, phrase: str) -> list[dict[str, Any]]:
        response = self.get(f"/enterprises/{slug}/audit-log", self.admin, phrase=phrase)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries


@dataclass
class SignInClouds:
    main: SignInCloud
    short: SignInCloud


def _cloud_env(
    workdir: Path, name: str, admin: str, provider_env: dict[str, str]
) -> dict[str, str]:
    return {
        "CLOUD_API_DATABASE_URL": f"sqlite:///{workdir / f'{name}.db'}",
        "CLOUD_API_ADMIN_TOKEN": admin,
        **provider_env,
    }


def _call(method: str, url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.request(
        method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code < 300, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _name_owners(url: str, admin: str) -> str:
    """globex (eve by e-mail) beside acme (mona's group); returns globex's owner token."""
    globex = _call(
        "POST",
        f"{url}/admin/enterprises",
        admin,
        {"slug": "globex", "name": "Globex", "seats_purchased": 5},
    )
    _call(
        "PUT",
        f"{url}/enterprises/globex/owner-identities",
        admin,
        {"emails": ["EVE@globex.example"]},
    )
    _call(
        "PUT",
        f"{url}/enterprises/acme/owner-identities",
        admin,
        {"groups": ["acme-license-admins"]},
    )
    return str(globex["owner_token"])


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignInClouds]:
    workdir = tmp_path_factory.mktemp("sign-in")
    ports = free_port(), free_port()
    callbacks = [f"http://127.0.0.1:{port}/auth/oidc/callback" for port in ports]
    with running_provider(callbacks, ACCOUNTS, workdir / "provider.log") as provider:
        main_env = _cloud_env(workdir, "main", "lsop_main-admin", provider.cloud_env())
        short_env = {
            **_cloud_env(workdir, "short", "lsop_short-admin", provider.cloud_env()),
            "CLOUD_API_OIDC_SESSION_LIFETIME_SECONDS": str(SHORT_LIFETIME),
        }
        app = "services.cloud_api.main:create_app"
        with (
            uvicorn_process(app, main_env, workdir / "main.log", port=ports[0]) as (main, _p),
            uvicorn_process(app, short_env, workdir / "short.log", port=ports[1]) as (short, _q),
        ):
            assert [main, short] == [f"http://127.0.0.1:{port}" for port in ports], (
                "a port chosen for the provider's redirect URIs was taken meanwhile"
            )
            seeded = seed(main, "lsop_main-admin")
            _name_owners(main, "lsop_main-admin")
            short_acme = _call(
                "POST",
                f"{short}/admin/enterprises",
                "lsop_short-admin",
                {"slug": "acme", "name": "Acme", "seats_purchased": 5},
            )
            _call(
                "PUT",
                f"{short}/enterprises/acme/owner-identities",
                "lsop_short-admin",
                {"groups": ["acme-license-admins"]},
            )
            yield SignInClouds(
                SignInCloud(main, "lsop_main-admin", seeded.owner, workdir / "main.log"),
                SignInCloud(
                    short, "lsop_short-admin", short_acme["owner_token"], workdir / "short.log"
                ),
            )


LOOPBACK = re.compile(r"^https?://(127\.0\.0\.1|localhost)(:\d+)?/")


@contextmanager
def browsing(
    browser: Browser, cloud: SignInCloud, width: int = 1280
) -> Iterator[tuple[BrowserContext, Page, list[str]]]:
    """A fresh browser profile. Problems are the cloud's pages' errors: the provider's
    development pages ask for a web font from the internet, which is refused here before
    it leaves the machine."""
    context = browser.new_context(viewport={"width": width, "height": 800 if width > 500 else 740})
    context.route(lambda url: not LOOPBACK.match(url), lambda route: route.abort())
    page = context.new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and page.url.startswith(cloud.url):
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield context, page, problems
    finally:
        context.close()


def through_provider(page: Page, login: str) -> None:
    """The provider's own pages: its sign-in form (any password), then its consent."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: the provider's development pages")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/interaction/" in page.url:  # the consent page
        page.click("button[type=submit]")
    page.wait_for_load_state()


def sign_in(page: Page, cloud: SignInCloud, login: str, enterprise: str = "acme") -> None:
    page.goto(f"{cloud.url}/dashboard")
    page.fill("#enterprise-slug", enterprise)
    page.click("#provider-sign-in button[type=submit]")
    through_provider(page, login)


def signed_in(page: Page, cloud: SignInCloud, login: str, enterprise: str = "acme") -> None:
    sign_in(page, cloud, login, enterprise)
    page.wait_for_selector("main[data-view=overview]:not([aria-busy])")


def session_cookie(context: BrowserContext) -> dict[str, Any]:
    (cookie,) = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    return dict(cookie)


def with_cookie(cloud: SignInCloud, path: str, cookie: str) -> httpx.Response:
    """A request as the browser would make it with this session cookie, and nothing else."""
    return httpx.get(f"{cloud.url}{path}", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})


# --- signing in ---------------------------------------------------------------------------


def test_an_owner_signs_in_through_the_provider_and_the_audit_log_names_them(
    browser: Browser, clouds: SignInClouds
) -> None:
    cloud = clouds.main
    summary = cloud.get("/enterprise/licenses").json()
    with browsing(browser, cloud) as (context, page, problems):
        signed_in(page, cloud, "mona")
        assert page.url == f"{cloud.url}/dashboard"
        shown = int(page.inner_text("[data-figure=consumed]").replace(",", ""))
        assert shown == summary["total_seats_consumed"]
        assert page.inner_text("#signed-in-as") == "Signed in as Mona@ACME.example"

        cookie = session_cookie(context)
        assert cookie["httpOnly"] is True
        assert cookie["secure"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/"
        lifetime = cookie["expires"] - time.time()
        assert 7 * 3600 < lifetime <= 8 * 3600, "the cookie's lifetime is the session's"
        assert page.evaluate("document.cookie") == "", "the page's script cannot read it"
        assert page.evaluate("sessionStorage.length") == 0, "no token is kept"

        # A change through the page, as the signed-in person.
        page.click("#nav a[data-view=instances]")
        page.wait_for_selector("main[data-view=instances]:not([aria-busy])")
        page.click("#connect-instance")
        page.fill("#connect-hostname", "ghes-sso.acme.example")
        page.click("dialog button[type=submit]")
        page.wait_for_selector("#shown-secret")
        assert problems == []

    (connected,) = cloud.audit("acme", "action:server_instance.connect actor:Mona@ACME.example")
    assert connected["actor_kind"] == "person"
    assert connected["hostname"] == "ghes-sso.acme.example"
    assert "token_id" not in connected
    assert "hashed_token" not in connected
    (signed,) = cloud.audit("acme", "action:session.sign_in actor:Mona@ACME.example")
    assert signed["matched_by"] == "group:acme-license-admins"
    assert signed["subject"] == "mona"
    assert cookie["value"] not in str(signed), "the audit log never holds the session"


@pytest.mark.parametrize(
    ("login", "enterprise"),
    [("eve", "acme"), ("mona", "globex"), ("mona", "no-such-enterprise")],
    ids=["another-enterprise's-owner", "owner-elsewhere", "unknown-enterprise"],
)
def test_a_person_who_is_not_an_owner_of_the_enterprise_is_refused(
    browser: Browser, clouds: SignInClouds, login: str, enterprise: str
) -> None:
    cloud = clouds.main
    before = cloud.audit("acme", "action:session.sign_in")
    with browsing(browser, cloud) as (context, page, _problems):
        page.goto(f"{cloud.url}/dashboard")
        page.fill("#enterprise-slug", enterprise)
        with page.expect_response(re.compile(r"/auth/oidc/callback")) as callback:
            page.click("#provider-sign-in button[type=submit]")
            through_provider(page, login)
        assert callback.value.status == 403
        problem = page.inner_text("#sign-in-problem")
        assert f"not an owner of enterprise '{enterprise}'" in problem
        assert page.inner_text("h1") == "You are not an owner of this enterprise"
        assert_accessible(page, "a refused sign-in")
        assert [c["name"] for c in context.cookies() if c["name"].startswith("__Host-")] == []
        page.click("text=Back to the sign-in page")
        page.wait_for_selector("#enterprise-slug")
        answer = page.evaluate("fetch('/auth/session').then(r => r.json())")
        assert answer["signed_in"] is False
    assert cloud.audit("acme", "action:session.sign_in") == before
    if enterprise == "acme":
        refusals = cloud.audit(
            "acme", f"action:session.sign_in_refuse actor:{ACCOUNTS[login].email}"
        )
        assert refusals
        assert refusals[0]["subject"] == login


# --- forgery, sign-out and expiry ---------------------------------------------------------

ATTACK = """<!doctype html><title>Win a prize</title>
<form id="forged" method="post" action="{cloud}/auth/sign-out"></form>
<script>
  fetch("{cloud}/enterprises/acme/server-instances", {{
    method: "POST", mode: "no-cors", credentials: "include",
    headers: {{"Content-Type": "text/plain"}},
    body: JSON.stringify({{hostname: "forged-{tag}.example"}}),
  }}).finally(() => {{ document.title = "sent"; }});
</script>"""


@contextmanager
def attacker_site(cloud: str, tag: str) -> Iterator[str]:
    """Another site's page that tries, with the victim's browser, to connect an instance
    and to sign the victim out. Its address: http://localhost:<port>/."""
    page = ATTACK.format(cloud=cloud, tag=tag).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("host", "answer"),
    # localhost is another site than 127.0.0.1: the Strict cookie is not sent at all (401).
    # Another port of 127.0.0.1 is the same site, another origin: the cookie is sent, and
    # the Origin and CSRF checks refuse the request (403).
    [("localhost", 401), ("127.0.0.1", 403)],
    ids=["cross-site", "same-site-other-origin"],
)
def test_a_forged_cross_site_request_is_refused_and_changes_nothing(
    browser: Browser, clouds: SignInClouds, host: str, answer: int
) -> None:
    cloud = clouds.main
    tag = f"{host.replace('.', '-')}-{int(time.time() * 1000)}"
    with (
        browsing(browser, cloud) as (context, page, _problems),
        attacker_site(cloud.url, tag) as port,
    ):
        signed_in(page, cloud, "mona")
        cookie = session_cookie(context)["value"]
        evil = context.new_page()
        with evil.expect_response(re.compile(r"/server-instances$")) as forged:
            evil.goto(f"http://{host}:{port}/")
        evil.wait_for_function("document.title === 'sent'")
        with evil.expect_navigation():
            evil.eval_on_selector("#forged", "form => form.submit()")
        evil.close()
        # The browser hid the answer from the other site's script; the log did not.
        assert forged.value.status == 0 or forged.value.status == answer
        log = cloud.log.read_text()
        assert f'"POST /enterprises/acme/server-instances HTTP/1.1" {answer}' in log
        instances = cloud.get("/enterprise/licenses").json()["server_instances"]
        assert instances, "the listing the check reads"
        assert all(i["hostname"] != f"forged-{tag}.example" for i in instances)
        assert with_cookie(cloud, "/auth/session", cookie).json()["signed_in"] is True, (
            "the forged sign-out must not end the session"
        )
        # The page itself still works, and can change things.
        page.reload()
        page.wait_for_selector("main[data-view=overview]:not([aria-busy])")


def test_sign_out_ends_the_session_on_the_server(browser: Browser, clouds: SignInClouds) -> None:
    cloud = clouds.main
    with browsing(browser, cloud) as (context, page, problems):
        signed_in(page, cloud, "mona")
        cookie = session_cookie(context)["value"]
        assert with_cookie(cloud, "/enterprise/licenses", cookie).status_code == 200
        page.click("#sign-out")
        page.wait_for_selector("#enterprise-slug")
        assert [c for c in context.cookies() if c["name"] == SESSION_COOKIE] == []
        page.reload()
        page.wait_for_selector("#enterprise-slug")
        assert not page.is_visible("#nav"), "a reload after signing out must not sign in again"
        assert problems == []
    # A copy of the cookie (another tab, a stolen one) is worth nothing now.
    ended = with_cookie(cloud, "/enterprise/licenses", cookie)
    assert ended.status_code == 401
    assert ended.json()["error"] == "session_ended"
    assert with_cookie(cloud, "/auth/session", cookie).status_code == 401
    (entry, *_older) = cloud.audit("acme", "action:session.sign_out")
    assert entry["actor"] == "Mona@ACME.example"


def test_an_expired_session_sends_the_page_back_to_sign_in(
    browser: Browser, clouds: SignInClouds
) -> None:
    cloud = clouds.short
    with browsing(browser, cloud) as (context, page, _problems):
        signed_in(page, cloud, "mona")
        cookie = session_cookie(context)["value"]
        session = with_cookie(cloud, "/auth/session", cookie).json()
        expires_at = datetime.fromisoformat(session["expires_at"]).timestamp()
        assert expires_at - time.time() <= SHORT_LIFETIME
        time.sleep(max(0.0, expires_at - time.time()) + 1)  # until the server's deadline
        refused = with_cookie(cloud, "/enterprise/licenses", cookie)
        assert refused.status_code == 401
        assert refused.json()["error"] == "session_expired"
        page.click("#nav a[data-view=persons]")
        message = page.wait_for_selector("#sign-in-error")
        assert message is not None
        assert "Your session has ended" in message.inner_text()
        assert page.is_visible("#enterprise-slug")


# --- the sign-in page ---------------------------------------------------------------------


def test_the_sign_in_page_is_accessible_keyboard_usable_and_fits_a_phone(
    browser: Browser, clouds: SignInClouds
) -> None:
    cloud = clouds.main
    with browsing(browser, cloud, width=375) as (_context, page, problems):
        page.goto(f"{cloud.url}/dashboard")
        page.wait_for_selector("#enterprise-slug")
        assert_accessible(page, "the sign-in page")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the sign-in page is {overflow}px wider than a phone"
        # Focus starts in the enterprise field; typing and Enter go to the provider.
        assert page.evaluate("document.activeElement.id") == "enterprise-slug"
        page.keyboard.type("acme")
        page.keyboard.press("Enter")
        page.wait_for_selector("input[name=login]")
        assert "/interaction/" in page.url, "the provider's sign-in page"
        through_provider(page, "mona")
        page.wait_for_selector("main[data-view=overview]:not([aria-busy])")
        assert_accessible(page, "signed in through the provider, on a phone")
        # The sign-out is reachable by keyboard from the top of the page.
        page.focus("#nav a[data-view=overview]")
        for _ in range(10):
            if page.evaluate("document.activeElement.id") == "sign-out":
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("#enterprise-slug")
        assert problems == []
