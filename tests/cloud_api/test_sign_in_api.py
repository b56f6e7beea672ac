"""Owners signing in through the OpenID provider, through the HTTP API, on both databases:
the session and CSRF rules, sign-out, expiry, owner identities, and every bad callback or
configuration answered with a 4xx (or a 502 when the provider itself fails), never a 500.

The provider is real (tests/oidc_provider); the cloud runs in process at https://cloud.test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from tests.builders import auth, new_enterprise
from tests.cloud_api.sign_in_flow import (
    CALLBACK,
    CLOUD,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    at_provider,
    session_headers,
    sign_in,
    start,
)
from tests.conftest import OPERATOR_TOKEN
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Account, Provider, running_provider

ACCOUNTS = {
    "mona": Account("mona@acme.example", groups=("acme-owners",)),
    "hubot": Account("Hubot@ACME.example"),
    "unverified": Account("hubot@acme.example", email_verified=False),
    "eve": Account("eve@globex.example", groups=("globex-owners",)),
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    log = tmp_path_factory.mktemp("provider") / "provider.log"
    with running_provider([CALLBACK], ACCOUNTS, log) as running:
        yield running


def sso_settings(database_url: str, provider: Provider, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": SecretStr(OPERATOR_TOKEN),
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": SecretStr(CLIENT_SECRET),
        "oidc_scopes": "openid email profile groups",
        **overrides,
    }
    return Settings(**values)


async def running_cloud(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app), from_address(app, "127.0.0.1") as client:
        client.app = app  # type: ignore[attr-defined]  # for clients from elsewhere
        yield client


def app_of(cloud: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = cloud.app  # type: ignore[attr-defined]  # set by running_cloud
    return app


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A browser at ``address`` (the failed-authentication limit counts per address)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=CLOUD)


@pytest.fixture
async def cloud(
    new_database_url: Callable[[], str], provider: Provider
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in running_cloud(sso_settings(new_database_url(), provider)):
        owner = await new_enterprise(client, "acme")
        client.headers["X-Test-Owner"] = owner  # the owner token, for the checks behind
        await new_enterprise(client, "globex")
        await name_owners(client, "acme", groups=("acme-owners",), emails=("hubot@acme.example",))
        await name_owners(client, "globex", groups=("globex-owners",))
        yield client


async def name_owners(
    cloud: httpx.AsyncClient,
    slug: str,
    *,
    emails: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> None:
    response = await cloud.put(
        f"/enterprises/{slug}/owner-identities",
        json={"emails": list(emails), "groups": list(groups)},
        headers=auth(OPERATOR_TOKEN),
    )
    assert response.status_code == 200, response.text


def owner_token(cloud: httpx.AsyncClient) -> str:
    return cloud.headers["X-Test-Owner"]


async def csrf_token(cloud: httpx.AsyncClient) -> str:
    answer = (await cloud.get("/auth/session")).json()
    assert answer["signed_in"] is True, answer
    return str(answer["csrf_token"])


async def audit(cloud: httpx.AsyncClient, phrase: str, slug: str = "acme") -> list[dict[str, Any]]:
    response = await cloud.get(
        f"/enterprises/{slug}/audit-log", params={"phrase": phrase}, headers=auth(OPERATOR_TOKEN)
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def identities(cloud: httpx.AsyncClient, slug: str = "acme") -> dict[str, Any]:
    response = await cloud.get(
        f"/enterprises/{slug}/owner-identities", headers=auth(OPERATOR_TOKEN)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# --- signing in ---------------------------------------------------------------------------


async def test_an_owner_signs_in_and_the_session_cookie_is_strict(
    cloud: httpx.AsyncClient,
) -> None:
    answer = await sign_in(cloud, "mona")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    cookies = answer.headers.get_list("set-cookie")
    (session,) = [c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")]
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "max-age", "path"} <= attributes
    assert "samesite=strict" in session.lower()
    assert "max-age=28800" in session.lower()
    assert "domain" not in attributes
    assert any(c.startswith(f'{SIGN_IN_COOKIE}=""') for c in cookies), "the attempt is over"

    me = (await cloud.get("/auth/session")).json()
    assert me["signed_in"] is True
    assert me["enterprise"] == "acme"
    assert me["person"] == {"subject": "mona", "email": "mona@acme.example", "name": None}
    assert (await cloud.get("/enterprise/licenses")).status_code == 200
    # The session is acme's: another enterprise is answered as absent.
    other = await cloud.get("/enterprises/globex/consumed-licenses")
    assert other.status_code == 404
    (entry,) = await audit(cloud, "action:session.sign_in")
    assert entry["actor"] == "mona@acme.example"
    assert entry["actor_kind"] == "person"
    assert entry["matched_by"] == "group:acme-owners"
    assert cloud.cookies[SESSION_COOKIE] not in str(entry)


async def test_an_owner_by_verified_e_mail_signs_in_whatever_its_case(
    cloud: httpx.AsyncClient,
) -> None:
    assert (await sign_in(cloud, "hubot")).status_code == 303
    (entry,) = await audit(cloud, "action:session.sign_in")
    assert entry["matched_by"] == "email:hubot@acme.example"


@pytest.mark.parametrize(
    ("login", "enterprise"),
    [("unverified", "acme"), ("eve", "acme"), ("mona", "globex"), ("mona", "nope")],
    ids=["unverified-e-mail", "other-enterprise's-owner", "owner-elsewhere", "no-such"],
)
async def test_a_person_who_is_not_an_owner_gets_no_session(
    cloud: httpx.AsyncClient, login: str, enterprise: str
) -> None:
    answer = await sign_in(cloud, login, enterprise)
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]
    assert f"is not an owner of enterprise &#x27;{enterprise}&#x27;" in answer.text
    assert SESSION_COOKIE not in cloud.cookies
    assert (await cloud.get("/auth/session")).json()["signed_in"] is False
    assert (await cloud.get("/enterprise/licenses")).status_code == 401
    if enterprise in ("acme", "globex"):
        (refused,) = await audit(cloud, "action:session.sign_in_refuse", enterprise)
        assert refused["subject"] == login
    assert await audit(cloud, "action:session.sign_in", "acme") == []


# --- the session and CSRF rules -----------------------------------------------------------


async def test_a_changing_request_needs_this_origin_and_the_session_csrf_token(
    cloud: httpx.AsyncClient,
) -> None:
    await sign_in(cloud, "mona")
    token = await csrf_token(cloud)
    before = await identities(cloud)
    body = {"emails": ["new-owner@acme.example"], "groups": ["acme-owners"]}
    path = "/enterprises/acme/owner-identities"
    refusals = [
        ({}, "cross_site_request"),
        ({"Origin": "https://evil.example"}, "cross_site_request"),
        (
            {"Origin": "https://cloud.test.evil.example", "X-CSRF-Token": token},
            "cross_site_request",
        ),
        ({"Origin": "null", "X-CSRF-Token": token}, "cross_site_request"),
        ({"Origin": CLOUD}, "csrf_token_invalid"),
        ({"Origin": CLOUD, "X-CSRF-Token": "not-the-token"}, "csrf_token_invalid"),
    ]
    for headers, error in refusals:
        refused = await cloud.put(path, json=body, headers=headers)
        assert refused.status_code == 403, (headers, refused.text)
        assert refused.json()["error"] == error
    assert await identities(cloud) == before, "a refused request changes nothing"
    assert await audit(cloud, "action:owner_identities.replace actor:mona@acme.example") == []

    done = await cloud.put(path, json=body, headers=session_headers(cloud, token))
    assert done.status_code == 200, done.text
    assert (await identities(cloud))["emails"] == ["new-owner@acme.example"]
    (entry,) = await audit(cloud, "action:owner_identities.replace actor:mona@acme.example")
    assert entry["emails_added"] == ["new-owner@acme.example"]
    assert entry["emails_removed"] == ["hubot@acme.example"]


async def test_reads_need_no_csrf_token_and_owner_tokens_need_neither(
    cloud: httpx.AsyncClient,
) -> None:
    await sign_in(cloud, "mona")
    assert (await cloud.get("/enterprise/licenses/history")).status_code == 200
    # A script with an owner token: no cookie, no Origin, no CSRF token, as before.
    cloud.cookies.clear()
    done = await cloud.post(
        "/enterprises/acme/server-instances",
        json={"hostname": "script.acme.example"},
        headers=auth(owner_token(cloud)),
    )
    assert done.status_code == 201, done.text
    (entry,) = await audit(cloud, "action:server_instance.connect")
    assert entry["actor_kind"] == "owner_token"


async def test_sign_out_ends_the_session_on_the_server(cloud: httpx.AsyncClient) -> None:
    await sign_in(cloud, "mona")
    cookie = cloud.cookies[SESSION_COOKIE]
    token = await csrf_token(cloud)
    forged = await cloud.post("/auth/sign-out", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert (await cloud.get("/auth/session")).json()["signed_in"] is True

    done = await cloud.post("/auth/sign-out", headers=session_headers(cloud, token))
    assert done.status_code == 204
    assert SESSION_COOKIE not in cloud.cookies, "the browser is told to drop it"
    # A copy of the cookie is worth nothing now.
    copy = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    ended = await cloud.get("/enterprise/licenses", headers=copy)
    assert ended.status_code == 401
    assert ended.json()["error"] == "session_ended"
    assert (await cloud.get("/auth/session", headers=copy)).status_code == 401
    again = await cloud.post("/auth/sign-out", headers={**copy, **session_headers(cloud, token)})
    assert again.status_code == 401
    (entry,) = await audit(cloud, "action:session.sign_out")
    assert entry["actor"] == "mona@acme.example"


async def test_an_unknown_session_cookie_is_refused(cloud: httpx.AsyncClient) -> None:
    forged = {"Cookie": f"{SESSION_COOKIE}=made-up"}
    for path in ("/enterprise/licenses", "/enterprise/licenses/history", "/auth/session"):
        answer = await cloud.get(path, headers=forged)
        assert answer.status_code == 401, path
        assert answer.json()["error"] == "session_ended"


async def test_a_session_expires_after_its_lifetime(
    new_database_url: Callable[[], str], provider: Provider
) -> None:
    settings = sso_settings(new_database_url(), provider, oidc_session_lifetime_seconds=10)
    async for cloud in running_cloud(settings):
        await new_enterprise(cloud, "acme")
        await name_owners(cloud, "acme", groups=("acme-owners",))
        await sign_in(cloud, "mona")
        cookie = {"Cookie": f"{SESSION_COOKIE}={cloud.cookies[SESSION_COOKIE]}"}
        session = (await cloud.get("/auth/session", headers=cookie)).json()
        expires_at = datetime.fromisoformat(session["expires_at"])
        assert (await cloud.get("/enterprise/licenses", headers=cookie)).status_code == 200
        # Waits for the deadline the server gave, not for an arbitrary time.
        await asyncio.sleep(max(0.0, expires_at.timestamp() - datetime.now().timestamp()) + 0.5)
        expired = await cloud.get("/enterprise/licenses", headers=cookie)
        assert expired.status_code == 401
        assert expired.json()["error"] == "session_expired"
        answer = await cloud.get("/auth/session", headers=cookie)
        assert answer.status_code == 401
        assert f'{SESSION_COOKIE}=""' in answer.headers["set-cookie"]


async def test_removing_an_owner_identity_ends_the_sessions_it_let_in(
    cloud: httpx.AsyncClient,
) -> None:
    async with from_address(app_of(cloud), "127.0.0.1") as hubot_browser:
        await sign_in(cloud, "mona")  # by the group acme-owners
        await sign_in(hubot_browser, "hubot")  # by the e-mail hubot@acme.example
        await name_owners(cloud, "acme", emails=("hubot@acme.example",))
        ended = await cloud.get("/enterprise/licenses")
        assert ended.status_code == 401
        assert ended.json()["error"] == "session_ended"
        assert (await hubot_browser.get("/enterprise/licenses")).status_code == 200
    (entry,) = await audit(cloud, "action:owner_identities.replace groups_removed:acme-owners")
    assert entry["sessions_ended"] == 1


# --- bad callbacks ------------------------------------------------------------------------


async def test_a_callback_is_answered_once_in_the_browser_that_started_it(
    cloud: httpx.AsyncClient,
) -> None:
    callback = at_provider(await start(cloud), "mona")
    async with from_address(app_of(cloud), "127.0.0.1") as stolen:  # another browser
        elsewhere = await stolen.get(callback.path_and_query)
    assert elsewhere.status_code == 422
    assert 'data-error="sign_in_not_started"' in elsewhere.text

    first = await cloud.get(callback.path_and_query)
    assert first.status_code == 303
    cloud.cookies.clear()
    replayed = await cloud.get(callback.path_and_query)
    assert replayed.status_code == 422
    assert SESSION_COOKIE not in cloud.cookies


@pytest.mark.parametrize(
    ("mangle", "status", "error"),
    [
        (lambda q: q.replace("state=", "state=x"), 422, "state_mismatch"),
        (
            lambda q: "&".join(p for p in q.split("&") if not p.startswith("state=")),
            422,
            "state_missing",
        ),
        (
            lambda q: "&".join(p for p in q.split("&") if not p.startswith("code=")),
            422,
            "code_missing",
        ),
        (lambda q: q.replace("code=", "code=forged"), 401, "code_refused"),
        (lambda q: q.replace("iss=", "iss=https%3A%2F%2Fevil.example%2F"), 401, "issuer_mismatch"),
    ],
    ids=["wrong-state", "no-state", "no-code", "forged-code", "other-issuer"],
)
async def test_a_bad_callback_is_a_4xx_page_and_starts_no_session(
    cloud: httpx.AsyncClient, mangle: Callable[[str], str], status: int, error: str
) -> None:
    callback = at_provider(await start(cloud), "mona")
    path, _, query = callback.path_and_query.partition("?")
    answer = await cloud.get(f"{path}?{mangle(query)}")
    assert answer.status_code == status, answer.text
    assert f'data-error="{error}"' in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert SESSION_COOKIE not in cloud.cookies
    assert await audit(cloud, "action:session.sign_in") == []


async def test_a_person_who_cancels_at_the_provider_is_told_so(cloud: httpx.AsyncClient) -> None:
    callback = at_provider(await start(cloud), "mona", consent=False)
    answer = await cloud.get(callback.path_and_query)
    assert answer.status_code == 401
    assert "access_denied" in answer.text
    assert 'data-error="provider_refused"' in answer.text
    assert SESSION_COOKIE not in cloud.cookies


@pytest.mark.parametrize(
    "query",
    [
        {"enterprise": "Not A Slug!"},
        {"enterprise": "x" * 65},
        {},
    ],
    ids=["not-a-slug", "too-long", "none"],
)
async def test_a_sign_in_for_a_malformed_enterprise_is_a_422(
    cloud: httpx.AsyncClient, query: dict[str, str]
) -> None:
    answer = await cloud.get("/auth/oidc/login", params=query)
    assert answer.status_code == 422
    assert SIGN_IN_COOKIE not in cloud.cookies


async def test_callback_parameters_beyond_their_limits_are_a_422(
    cloud: httpx.AsyncClient,
) -> None:
    answer = await cloud.get(CALLBACK, params={"code": "c" * 5000, "state": "s"})
    assert answer.status_code == 422


# --- bad configuration --------------------------------------------------------------------


async def test_without_a_provider_sign_in_is_a_404_and_tokens_work(cloud_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=cloud_app)
    async with httpx.AsyncClient(transport=transport, base_url=CLOUD) as cloud:
        await _without_a_provider(cloud)


async def _without_a_provider(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud, "acme")
    assert (await cloud.get("/enterprise/licenses", headers=auth(owner))).status_code == 200
    assert (await cloud.get("/auth/session")).json() == {
        "signed_in": False,
        "identity_provider": False,
        "enterprise": None,
        "person": None,
        "expires_at": None,
        "csrf_token": None,
    }
    login = await cloud.get("/auth/oidc/login", params={"enterprise": "acme"})
    assert login.status_code == 404
    assert login.json()["error"] == "identity_provider_not_configured"
    callback = await cloud.get("/auth/oidc/callback", params={"code": "c", "state": "s"})
    assert callback.status_code == 404
    assert "CLOUD_API_OIDC_ISSUER" in callback.text


async def test_a_wrong_client_secret_refuses_the_sign_in_with_a_4xx(
    new_database_url: Callable[[], str], provider: Provider
) -> None:
    settings = sso_settings(
        new_database_url(), provider, oidc_client_secret=SecretStr("not-the-secret")
    )
    async for cloud in running_cloud(settings):
        await new_enterprise(cloud, "acme")
        await name_owners(cloud, "acme", groups=("acme-owners",))
        answer = await sign_in(cloud, "mona")
        assert answer.status_code == 401
        assert "invalid_client" in answer.text
        assert SESSION_COOKIE not in cloud.cookies


@pytest.mark.parametrize("problem", ["nothing-listens", "other-issuer"])
async def test_a_provider_that_does_not_answer_as_configured_is_a_502(
    new_database_url: Callable[[], str], provider: Provider, problem: str
) -> None:
    port = provider.issuer.rsplit(":", 1)[1]
    # localhost: the same provider, whose discovery document names 127.0.0.1.
    issuer = "http://127.0.0.1:9" if problem == "nothing-listens" else f"http://localhost:{port}"
    async for cloud in running_cloud(
        sso_settings(new_database_url(), provider, oidc_issuer=issuer)
    ):
        await new_enterprise(cloud, "acme")
        answer = await cloud.get("/auth/oidc/login", params={"enterprise": "acme"})
        assert answer.status_code == 502
        assert answer.json()["error"] == "identity_provider_unavailable"
        token = (
            await cloud.post("/admin/enterprises/acme/owner-tokens", headers=auth(OPERATOR_TOKEN))
        ).json()["owner_token"]
        assert (await cloud.get("/enterprise/licenses", headers=auth(token))).status_code == 200


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"oidc_issuer": "https://id.example"},
            "CLOUD_API_OIDC_CLIENT_ID and CLOUD_API_OIDC_CLIENT_SECRET",
        ),
        (
            {"oidc_issuer": "http://id.example", "oidc_client_id": "c", "oidc_client_secret": "s"},
            "CLOUD_API_OIDC_ISSUER must be an https URL",
        ),
        (
            {
                "oidc_issuer": "https://id.example",
                "oidc_client_id": "c",
                "oidc_client_secret": "s",
                "public_url": "http://licenses.example",
            },
            "CLOUD_API_PUBLIC_URL must be an https URL",
        ),
        (
            {
                "oidc_issuer": "https://id.example",
                "oidc_client_id": "c",
                "oidc_client_secret": "s",
                "oidc_scopes": "email",
            },
            "must include openid",
        ),
        ({"oidc_session_lifetime_seconds": 0}, "oidc_session_lifetime_seconds"),
    ],
    ids=["no-client", "plain-http", "plain-http-public-url", "no-openid-scope", "no-lifetime"],
)
def test_incomplete_or_unsafe_settings_stop_the_service_with_their_name(
    values: dict[str, Any], named: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", **values)


# --- owner identities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"emails": ["mona@acme.example", "not an address"]}, "emails[1]"),
        ({"groups": [" padded "]}, "groups[0]"),
        ({"groups": [""]}, "groups[0]"),
        ({"emails": "mona@acme.example"}, "emails"),
        ({"owners": []}, "owners"),
    ],
    ids=["bad-e-mail", "padded-group", "empty-group", "not-a-list", "unknown-field"],
)
async def test_bad_owner_identities_are_refused_by_name_and_change_nothing(
    cloud: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    before = await identities(cloud)
    answer = await cloud.put(
        "/enterprises/acme/owner-identities", json=body, headers=auth(owner_token(cloud))
    )
    assert answer.status_code == 422
    assert named in answer.text
    assert await identities(cloud) == before


async def test_an_owner_reads_and_replaces_only_its_own_enterprise_identities(
    cloud: httpx.AsyncClient,
) -> None:
    owner = auth(owner_token(cloud))
    mine = await cloud.get("/enterprises/acme/owner-identities", headers=owner)
    assert mine.json() == {"emails": ["hubot@acme.example"], "groups": ["acme-owners"]}
    other = await cloud.put(
        "/enterprises/globex/owner-identities", json={"emails": ["me@acme.example"]}, headers=owner
    )
    assert other.status_code == 404
    assert (await identities(cloud, "globex"))["emails"] == []
    assert (await cloud.get("/enterprises/acme/owner-identities")).status_code == 401


# --- failed sign-ins count against the failed-authentication limit ------------------------

ATTACKER = "203.0.113.5"
NEIGHBOUR = "198.51.100.7"


async def test_made_up_session_cookies_count_as_failed_authentication(
    new_database_url: Callable[[], str], provider: Provider
) -> None:
    settings = sso_settings(new_database_url(), provider, auth_failure_limit=3)
    async for cloud in running_cloud(settings):
        await new_enterprise(cloud, "acme")
        await name_owners(cloud, "acme", groups=("acme-owners",))
        app = app_of(cloud)
        async with from_address(app, ATTACKER) as attacker, from_address(app, NEIGHBOUR) as owner:
            await sign_in(owner, "mona")
            guesses = [
                (await attacker.get("/enterprise/licenses", headers=guess)).status_code
                for guess in ({"Cookie": f"{SESSION_COOKIE}=guess-{n}"} for n in range(4))
            ]
            assert guesses == [401, 401, 401, 429]
            locked = await attacker.get("/auth/session", headers={"Cookie": f"{SESSION_COOKIE}=x"})
            assert locked.status_code == 429
            assert int(locked.headers["Retry-After"]) >= 1
            # The owner signed in from elsewhere is unaffected.
            assert (await owner.get("/enterprise/licenses")).status_code == 200


async def test_failed_callbacks_count_as_failed_authentication(
    new_database_url: Callable[[], str], provider: Provider
) -> None:
    settings = sso_settings(new_database_url(), provider, auth_failure_limit=2)
    async for cloud in running_cloud(settings):
        await new_enterprise(cloud, "acme")
        await name_owners(cloud, "acme", groups=("acme-owners",))
        app = app_of(cloud)
        async with (
            from_address(app, ATTACKER) as attacker,
            from_address(app, ATTACKER) as same_address,
        ):
            held = at_provider(await start(same_address), "mona")  # a good one, for later
            answers = []
            for _attempt in range(2):
                callback = at_provider(await start(attacker), "mona")
                forged = callback.path_and_query.replace("code=", "code=forged")
                answers.append((await attacker.get(forged)).status_code)
            assert answers == [401, 401]
            # Locked: even a good callback from this address (it comes with its sign-in
            # cookie, a credential) is answered 429, and starts no session.
            assert (await same_address.get(held.path_and_query)).status_code == 429
            assert SESSION_COOKIE not in same_address.cookies
        async with from_address(app, NEIGHBOUR) as neighbour:
            assert (await sign_in(neighbour, "mona")).status_code == 303
