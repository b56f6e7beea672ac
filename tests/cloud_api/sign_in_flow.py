"""Signing in through the real OpenID provider without a browser: the cloud in process
(httpx's ASGI transport, at https://cloud.test so that its Secure cookies are kept), the
provider over loopback, its development pages filled in by plain form posts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

CLOUD = "https://cloud.test"
CALLBACK = f"{CLOUD}/auth/oidc/callback"
SESSION_COOKIE = "__Host-license-sync-session"
SIGN_IN_COOKIE = "__Host-license-sync-sign-in"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@dataclass(frozen=True)
class Callback:
    """Where the provider sent the browser back: the callback URL with its parameters."""

    url: str

    @property
    def path_and_query(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.path}?{parts.query}"


async def start(cloud: httpx.AsyncClient, enterprise: str = "acme") -> str:
    """The provider's authorization URL the cloud redirects to (and its sign-in cookie)."""
    response = await cloud.get("/auth/oidc/login", params={"enterprise": enterprise})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def at_provider(authorize_url: str, login: str, *, consent: bool = True) -> Callback:
    """A person signing in at the provider as ``login``; returns where it sends them back."""
    with httpx.Client(timeout=30) as provider:
        response = provider.get(authorize_url)
        for _step in range(8):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(CLOUD):
                    return Callback(location)
                response = provider.get(location)
                continue
            assert response.status_code == 200, response.text
            action = _FORM.search(response.text)
            assert action is not None, response.text
            fields = dict(_HIDDEN.findall(response.text))
            if fields.get("prompt") == "login":
                fields |= {"login": login, "password": "any"}
            elif not consent:
                abort = re.search(r'href="([^"]*/abort)"', response.text)
                assert abort is not None, response.text
                response = provider.get(urljoin(str(response.url), abort.group(1)))
                continue
            response = provider.post(urljoin(str(response.url), action.group(1)), data=fields)
    raise AssertionError("the provider did not send the browser back")


async def sign_in(cloud: httpx.AsyncClient, login: str, enterprise: str = "acme") -> httpx.Response:
    """The whole sign-in; returns the callback's answer (the cookies land in ``cloud``)."""
    callback = at_provider(await start(cloud, enterprise), login)
    return await cloud.get(callback.path_and_query)


def session_headers(cloud: httpx.AsyncClient, csrf: str | None) -> dict[str, str]:
    """What the dashboard sends with a changing request."""
    headers = {"Origin": CLOUD}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers
