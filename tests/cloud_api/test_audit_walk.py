"""Every acting operation of the cloud's OpenAPI description leaves exactly one audit entry,
with the action the operation declares (``x-audit-action``).

ROWS says how to call each operation with valid input. An acting operation without a row,
or without a declared action, fails the test: a new route cannot forget its audit entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import select

from services.cloud_api.api.deps import SESSION_COOKIE, CloudState
from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.access.browser_sessions import (
    Person,
    StartedSession,
    start_session,
)
from shared import public_key_text, sign_report
from tests.builders import account, auth, connect, new_enterprise, report
from tests.conftest import OPERATOR_TOKEN

ACTING = ("post", "put", "patch", "delete")
ACTION = "x-audit-action"
SLUG = "acme"
KEY = Ed25519PrivateKey.generate()


@dataclass
class Walk:
    """The enterprise every row acts on, and what the rows set up for themselves."""

    cloud: httpx.AsyncClient
    owner: str
    instance_token: str
    app: FastAPI
    counter: int = 0
    made: dict[str, Any] = field(default_factory=dict)

    def next(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}-{self.counter}"


Prepared = Any
Prepare = Callable[[Walk], Awaitable[Prepared]]
Act = Callable[[Walk, Prepared], Awaitable[tuple[httpx.Response, str]]]
"""Calls the operation; returns the answer and the slug of the log the entry belongs in."""


async def nothing(_walk: Walk) -> None:
    return None


async def create_enterprise(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    slug = walk.next("walk")
    body = {"slug": slug, "name": "Walk", "seats_purchased": 5}
    return await walk.cloud.post(
        "/admin/enterprises", json=body, headers=auth(OPERATOR_TOKEN)
    ), slug


async def update_enterprise(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    body = {"seats_purchased": 100 + walk.counter}
    url = f"/admin/enterprises/{SLUG}"
    return await walk.cloud.patch(url, json=body, headers=auth(OPERATOR_TOKEN)), SLUG


async def issue_owner_token(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    url = f"/admin/enterprises/{SLUG}/owner-tokens"
    return await walk.cloud.post(url, headers=auth(OPERATOR_TOKEN)), SLUG


async def import_accounts(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    body = {"accounts": [account(1, "mona", ["mona@example.com"])]}
    url = f"/enterprises/{SLUG}/accounts"
    return await walk.cloud.put(url, json=body, headers=auth(walk.owner)), SLUG


async def connect_instance(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    body = {"hostname": "new.example.com", "server_id": walk.next("srv")}
    url = f"/enterprises/{SLUG}/server-instances"
    return await walk.cloud.post(url, json=body, headers=auth(walk.owner)), SLUG


async def connected(walk: Walk) -> str:
    server_id = walk.next("srv")
    await connect(walk.cloud, walk.owner, server_id=server_id)
    return server_id


async def disconnect_instance(walk: Walk, server_id: str) -> tuple[httpx.Response, str]:
    url = f"/enterprises/{SLUG}/server-instances/{server_id}"
    return await walk.cloud.delete(url, headers=auth(walk.owner)), SLUG


async def rotate_instance_token(walk: Walk, server_id: str) -> tuple[httpx.Response, str]:
    url = f"/enterprises/{SLUG}/server-instances/{server_id}/token"
    return await walk.cloud.post(url, headers=auth(walk.owner)), SLUG


async def another_owner_token(walk: Walk) -> str:
    url = f"/admin/enterprises/{SLUG}/owner-tokens"
    response = await walk.cloud.post(url, headers=auth(OPERATOR_TOKEN))
    token: str = response.json()["owner_token"]
    return token


async def revoke_token(walk: Walk, token: str) -> tuple[httpx.Response, str]:
    url = f"/enterprises/{SLUG}/tokens/revoke"
    return await walk.cloud.post(url, json={"token": token}, headers=auth(walk.owner)), SLUG


async def push_report(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    walk.counter += 1  # sequences only go up
    body = report(server_id="srv-push", sequence=walk.counter)
    return await walk.cloud.post(
        "/server-usage", json=body, headers=auth(walk.instance_token)
    ), SLUG


async def upload_only_instance(walk: Walk) -> bytes:
    server_id = walk.next("air")
    body = {
        "hostname": "air.example.com",
        "server_id": server_id,
        "public_key": public_key_text(KEY),
        "upload_only": True,
    }
    await walk.cloud.post(
        f"/enterprises/{SLUG}/server-instances", json=body, headers=auth(walk.owner)
    )
    return sign_report(report(server_id=server_id), KEY)


async def upload_file(walk: Walk, content: bytes) -> tuple[httpx.Response, str]:
    url = f"/enterprises/{SLUG}/server-usage/uploads"
    files = {"file": ("export.json", content, "application/json")}
    return await walk.cloud.post(url, files=files, headers=auth(walk.owner)), SLUG


HOOKS = f"/enterprises/{SLUG}/hooks"
PUBLIC_URL = "https://93.184.215.14/hook"  # never sent to: the test app sends no deliveries


async def create_hook(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    body = {"url": PUBLIC_URL, "secret": "walk-secret"}
    return await walk.cloud.post(HOOKS, json=body, headers=auth(walk.owner)), SLUG


async def a_hook(walk: Walk) -> int:
    response = await create_hook(walk, None)
    hook_id: int = response[0].json()["id"]
    return hook_id


async def update_hook(walk: Walk, hook_id: int) -> tuple[httpx.Response, str]:
    url = f"{HOOKS}/{hook_id}"
    return await walk.cloud.patch(url, json={"active": False}, headers=auth(walk.owner)), SLUG


async def delete_hook(walk: Walk, hook_id: int) -> tuple[httpx.Response, str]:
    return await walk.cloud.delete(f"{HOOKS}/{hook_id}", headers=auth(walk.owner)), SLUG


async def ping_hook(walk: Walk, hook_id: int) -> tuple[httpx.Response, str]:
    return await walk.cloud.post(f"{HOOKS}/{hook_id}/pings", headers=auth(walk.owner)), SLUG


async def a_delivery(walk: Walk) -> str:
    hook_id = await a_hook(walk)
    deliveries = await walk.cloud.get(f"{HOOKS}/{hook_id}/deliveries", headers=auth(walk.owner))
    return f"{HOOKS}/{hook_id}/deliveries/{deliveries.json()[0]['id']}"


async def redeliver(walk: Walk, delivery_url: str) -> tuple[httpx.Response, str]:
    url = f"{delivery_url}/attempts"
    return await walk.cloud.post(url, headers=auth(walk.owner)), SLUG


async def replace_owner_identities(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    body = {"emails": [f"{walk.next('owner')}@example.com"], "groups": ["license-admins"]}
    url = f"/enterprises/{SLUG}/owner-identities"
    return await walk.cloud.put(url, json=body, headers=auth(walk.owner)), SLUG


async def signed_in_person(walk: Walk) -> StartedSession:
    """A session as the provider's callback starts one (the sign-in itself goes through a
    real provider in test_sign_in_api.py)."""
    state: CloudState = walk.app.state.cloud
    with state.sessions.begin() as session:
        enterprise = session.scalar(select(Enterprise).where(Enterprise.slug == SLUG))
        assert enterprise is not None
        person = Person(subject=walk.next("sub"), email="walker@example.com", name=None)
        return start_session(
            session, enterprise.id, person, "email:walker@example.com", timedelta(hours=1)
        )


async def sign_out(walk: Walk, started: StartedSession) -> tuple[httpx.Response, str]:
    headers = {
        "Cookie": f"{SESSION_COOKIE}={started.cookie}",
        "Origin": str(walk.cloud.base_url).rstrip("/"),
        "X-CSRF-Token": started.csrf_token,
    }
    return await walk.cloud.post("/auth/sign-out", headers=headers), SLUG


async def reported_user(walk: Walk) -> int:
    """A GHES account in srv-push's current report, for a link to name."""
    walk.counter += 1  # sequences only go up; the counter is the user ID too
    user_id = walk.counter
    body = report([(user_id, f"u{user_id}@example.com")], server_id="srv-push", sequence=user_id)
    await walk.cloud.post("/server-usage", json=body, headers=auth(walk.instance_token))
    return user_id


async def create_identity_link(walk: Walk, user_id: int) -> tuple[httpx.Response, str]:
    body = {"server_id": "srv-push", "user_id": user_id, "separate": True}
    url = f"/enterprises/{SLUG}/identity-links"
    return await walk.cloud.post(url, json=body, headers=auth(walk.owner)), SLUG


async def existing_identity_link(walk: Walk) -> int:
    response, _ = await create_identity_link(walk, await reported_user(walk))
    link_id: int = response.json()["id"]
    return link_id


async def delete_identity_link(walk: Walk, link_id: int) -> tuple[httpx.Response, str]:
    url = f"/enterprises/{SLUG}/identity-links/{link_id}"
    return await walk.cloud.delete(url, headers=auth(walk.owner)), SLUG


async def import_subscriptions(walk: Walk, _: None) -> tuple[httpx.Response, str]:
    body = {"subscribers": [{"upn": "mona@example.com", "subscription": "Enterprise"}]}
    url = f"/enterprises/{SLUG}/visual-studio-subscriptions"
    return await walk.cloud.put(url, json=body, headers=auth(walk.owner)), SLUG


ROWS: dict[tuple[str, str], tuple[Prepare, Act]] = {
    ("post", "/admin/enterprises"): (nothing, create_enterprise),
    ("patch", "/admin/enterprises/{enterprise}"): (nothing, update_enterprise),
    ("post", "/admin/enterprises/{enterprise}/owner-tokens"): (nothing, issue_owner_token),
    ("put", "/enterprises/{enterprise}/accounts"): (nothing, import_accounts),
    ("post", "/enterprises/{enterprise}/server-instances"): (nothing, connect_instance),
    ("delete", "/enterprises/{enterprise}/server-instances/{server_id}"): (
        connected,
        disconnect_instance,
    ),
    ("post", "/enterprises/{enterprise}/server-instances/{server_id}/token"): (
        connected,
        rotate_instance_token,
    ),
    ("post", "/enterprises/{enterprise}/tokens/revoke"): (another_owner_token, revoke_token),
    ("post", "/server-usage"): (nothing, push_report),
    ("post", "/enterprises/{enterprise}/server-usage/uploads"): (
        upload_only_instance,
        upload_file,
    ),
    ("post", "/enterprises/{enterprise}/hooks"): (nothing, create_hook),
    ("patch", "/enterprises/{enterprise}/hooks/{hook_id}"): (a_hook, update_hook),
    ("delete", "/enterprises/{enterprise}/hooks/{hook_id}"): (a_hook, delete_hook),
    ("post", "/enterprises/{enterprise}/hooks/{hook_id}/pings"): (a_hook, ping_hook),
    ("post", "/enterprises/{enterprise}/hooks/{hook_id}/deliveries/{delivery_id}/attempts"): (
        a_delivery,
        redeliver,
    ),
    ("put", "/enterprises/{enterprise}/owner-identities"): (nothing, replace_owner_identities),
    ("post", "/auth/sign-out"): (signed_in_person, sign_out),
    ("post", "/enterprises/{enterprise}/identity-links"): (reported_user, create_identity_link),
    ("put", "/enterprises/{enterprise}/visual-studio-subscriptions"): (
        nothing,
        import_subscriptions,
    ),
    ("delete", "/enterprises/{enterprise}/identity-links/{link_id}"): (
        existing_identity_link,
        delete_identity_link,
    ),
}


def acting_operations(app: FastAPI) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in ACTING
    }


async def log(cloud: httpx.AsyncClient, slug: str) -> list[dict[str, Any]]:
    response = await cloud.get(
        f"/enterprises/{slug}/audit-log", params={"per_page": 100}, headers=auth(OPERATOR_TOKEN)
    )
    if response.status_code == 404:  # an enterprise the row is about to create
        return []
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def test_every_acting_operation_has_a_row_and_declares_an_action(cloud_app: FastAPI) -> None:
    operations = acting_operations(cloud_app)
    assert sorted(set(operations) - set(ROWS)) == [], "add a row to ROWS for these"
    assert sorted(set(ROWS) - set(operations)) == [], "these rows name no operation"
    undeclared = [key for key, operation in operations.items() if ACTION not in operation]
    assert undeclared == [], "declare audited(...) on these routes"
    actions = [operation[ACTION] for operation in operations.values()]
    assert len(set(actions)) == len(actions), "two operations record the same action"


async def test_every_acting_operation_leaves_exactly_one_entry_naming_it(
    cloud: httpx.AsyncClient, cloud_app: FastAPI
) -> None:
    owner = await new_enterprise(cloud, SLUG)
    walk = Walk(cloud, owner, await connect(cloud, owner, server_id="srv-push"), cloud_app)
    checked = []
    for key, operation in acting_operations(cloud_app).items():
        if key not in ROWS:
            continue  # the test above names it
        prepare, act = ROWS[key]
        prepared = await prepare(walk)
        before = await log(cloud, SLUG)
        response, slug = await act(walk, prepared)
        assert response.is_success, (key, response.status_code, response.text)
        if slug != SLUG:
            before = []  # a new enterprise, with a log of its own
        new = [e for e in await log(cloud, slug) if e not in before]
        assert [e["action"] for e in new] == [operation[ACTION]], key
        assert new[0]["request_id"] == response.headers["x-request-id"], key
        checked.append(key)
    assert len(checked) == len(ROWS)
