"""Every page of every listing (persons pages, searches, GitHub's consumed-licenses pages
and CSV) equals the persons matched one by one (``rules.match_persons`` over every
account), after reports arrive, after owners link accounts (joined, kept separate) and
import Visual Studio subscribers, after a newer report changes some persons (and leaves
some links dangling), and after the cloud accounts change (hypothesis, through the API,
on both databases)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.accounts.consumption import consumes_license
from services.cloud_api.domain.accounts.importing import identity_keys
from services.cloud_api.domain.accounts.input import CLOUD_ACCOUNT
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    Person,
    ServerAccount,
    Subscriber,
    match_persons,
)
from shared import normalize_email
from tests.builders import account, auth, connect, import_accounts, new_enterprise, push, report

POOL = [f"p{n}@example.com" for n in range(8)] + ["P1@Example.com", "p1+ci@example.com"]
PER_PAGE = 3

Users = list[tuple[int, str | None]]
Links = dict[tuple[int, int], int | None]
"""(instance's place, GHES user ID) -> the cloud account joined to, None: kept separate."""


@st.composite
def clouds(draw: st.DrawFn) -> list[dict[str, Any]]:
    verified = draw(st.lists(st.sampled_from(POOL[:8]), unique=True, max_size=5))
    accounts = []
    for n, email in enumerate(verified):
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["saml_identity"] = {"name_id": draw(st.sampled_from(POOL[:8]))}
        role = draw(st.sampled_from(["member", "billing_manager", None]))
        accounts.append(account(100 + n, f"C{n}", [email], role=role, **extra))
    return accounts


def users() -> st.SearchStrategy[Users]:
    return st.lists(
        st.tuples(st.integers(1, 30), st.one_of(st.none(), st.sampled_from(POOL))),
        max_size=10,
        unique_by=lambda user: user[0],
    )


def identity(body: dict[str, Any]) -> CloudIdentity:
    parsed = CLOUD_ACCOUNT.validate_python(body)
    emails = parsed.get("emails", ())
    return CloudIdentity(
        parsed["id"],
        parsed["login"],
        consumes_license(parsed),
        tuple(sorted(normalize_email(e["email"]) for e in emails if e["verified"])),
        tuple(sorted(identity_keys(parsed))),
    )


def link_choices() -> st.SearchStrategy[list[tuple[int, int, int | None]]]:
    """(instance, user, cloud account) as places in what was drawn; None: kept separate."""
    return st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 9), st.one_of(st.none(), st.integers(0, 4))),
        max_size=4,
    )


def chosen_links(
    choices: list[tuple[int, int, int | None]],
    instances: list[Users],
    cloud: list[dict[str, Any]],
) -> Links:
    """The drawn links that can be made now: a reported account, an imported account."""
    links: Links = {}
    for instance, user, target in choices:
        users_of = sorted(instances[instance % len(instances)])
        if not users_of or (target is not None and target >= len(cloud)):
            continue
        where = (instance % len(instances), users_of[user % len(users_of)][0])
        links.setdefault(where, None if target is None else cloud[target]["id"])
    return links


def subscriber_rows(upns: list[str]) -> list[Subscriber]:
    return [
        Subscriber(normalize_email(upn), upn, f"Visual Studio {n}") for n, upn in enumerate(upns)
    ]


def reference(
    cloud: list[dict[str, Any]],
    instances: list[Users],
    saml: bool,
    links: Links | None = None,
    upns: list[str] | None = None,
) -> list[Person]:
    """Every person, matched one by one; accounts by instance, then user ID."""
    server = [
        ServerAccount(i, user_id, normalize_email(email) if email else None, email)
        for i, users_of in enumerate(instances)
        for user_id, email in sorted(users_of)
    ]
    return match_persons(
        [identity(a) for a in cloud],
        server,
        saml_enabled=saml,
        links=links,
        subscribers=subscriber_rows(upns or []),
    )


def mentions(person: Person, needle: str) -> bool:
    """What an owner's search finds: login, IDs and addresses, case-insensitive."""
    texts: list[str] = []
    if person.cloud is not None:
        cloud = person.cloud
        texts += [cloud.login, str(cloud.account_id), *cloud.verified_emails]
        texts += [key for _, key in cloud.identity_keys]
    for a in person.server_accounts:
        texts += [a.email or "", str(a.user_id)]
    return any(needle.casefold() in text.casefold() for text in texts)


def listed(person: Person, slug: str) -> tuple[Any, ...]:
    """A person as the listings show it: who, which accounts, how they matched."""
    match = person.match
    return (
        person.cloud.login if person.cloud else None,
        [(f"{slug}-{a.instance}", a.user_id, a.email) for a in person.server_accounts],
        person.rule.value,
        match.ambiguous if match else False,
        list(match.candidates) if match else [],
        person.subscriptions[0].upn if person.subscriptions else None,
    )


def shown(view: dict[str, Any]) -> tuple[Any, ...]:
    cloud = view["cloud_account"]
    return (
        cloud["login"] if cloud else None,
        [(a["server_id"], a["user_id"], a["email"]) for a in view["server_accounts"]],
        view["match_rule"],
        view["ambiguous"],
        view["candidate_cloud_account_ids"],
        view["visual_studio_subscription_email"],
    )


def consumed_row(person: Person, slug: str) -> tuple[Any, ...]:
    ids = [f"h{a.instance}.{slug}:{a.user_id}" for a in person.server_accounts]
    held = person.subscriptions[0] if person.subscriptions else None
    return (
        person.cloud.login if person.cloud else "",
        ids,
        person.total_user_accounts,
        "Visual Studio subscription" if held else "Enterprise",
        held.upn if held else None,
    )


async def all_pages(client: httpx.AsyncClient, owner: str, **params: Any) -> list[Any]:
    found: list[Any] = []
    page = 1
    while True:
        body = (
            await client.get(
                "/enterprise/licenses",
                params={"include": "users", "per_page": PER_PAGE, "page": page, **params},
                headers=auth(owner),
            )
        ).json()
        found += [shown(view) for view in body["users"]]
        if page * PER_PAGE >= body["total_persons"]:
            assert len(found) == body["total_persons"]
            return found
        page += 1


async def consumed_pages(client: httpx.AsyncClient, owner: str, slug: str) -> list[Any]:
    found: list[Any] = []
    page = 1
    while True:
        response = await client.get(
            f"/enterprises/{slug}/consumed-licenses",
            params={"per_page": PER_PAGE, "page": page},
            headers=auth(owner),
        )
        rows = response.json()["users"]
        found += [
            (
                u["github_com_login"],
                u["enterprise_server_user_ids"],
                u["total_user_accounts"],
                u["license_type"],
                u["visual_studio_subscription_email"],
            )
            for u in rows
        ]
        if 'rel="next"' not in response.headers.get("link", ""):
            return found
        page += 1


async def csv_rows(client: httpx.AsyncClient, owner: str, slug: str) -> list[Any]:
    response = await client.get(f"/enterprises/{slug}/consumed-licenses.csv", headers=auth(owner))
    return [
        (
            row["github_com_login"],
            row["enterprise_server_user_ids"].split(", ")
            if row["enterprise_server_user_ids"]
            else [],
            int(row["total_user_accounts"]),
            row["license_type"],
            row["visual_studio_subscription_email"] or None,
        )
        for row in csv.DictReader(io.StringIO(response.text))
    ]


async def check_every_listing(
    client: httpx.AsyncClient, owner: str, slug: str, persons: list[Person]
) -> None:
    assert await all_pages(client, owner) == [listed(p, slug) for p in persons]
    expected_rows = [consumed_row(p, slug) for p in persons]
    assert await consumed_pages(client, owner, slug) == expected_rows
    assert await csv_rows(client, owner, slug) == expected_rows
    for needle in ("p1", "EXAMPLE", "c0", "1", "+ci", "101"):
        found = await all_pages(client, owner, q=needle)
        assert found == [listed(p, slug) for p in persons if mentions(p, needle)], needle


async def make_links(client: httpx.AsyncClient, owner: str, slug: str, links: Links) -> None:
    for (instance, user_id), target in links.items():
        body: dict[str, Any] = {"server_id": f"{slug}-{instance}", "user_id": user_id}
        body.update({"separate": True} if target is None else {"cloud_account_id": target})
        response = await client.post(
            f"/enterprises/{slug}/identity-links", json=body, headers=auth(owner)
        )
        assert response.status_code == 201, response.text


async def import_subscribers(
    client: httpx.AsyncClient, owner: str, slug: str, upns: list[str]
) -> None:
    rows = [{"upn": s.upn, "subscription": s.subscription} for s in subscriber_rows(upns)]
    response = await client.put(
        f"/enterprises/{slug}/visual-studio-subscriptions",
        json={"subscribers": rows},
        headers=auth(owner),
    )
    assert response.status_code == 200, response.text


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cloud_accounts=clouds(),
    instances=st.lists(users(), min_size=1, max_size=3),
    newer=users(),
    saml=st.booleans(),
    dropped=st.integers(0, 5),
    choices=link_choices(),
    upns=st.lists(st.sampled_from(POOL), max_size=4, unique_by=normalize_email),
)
async def test_every_page_of_every_listing_equals_the_persons_matched_one_by_one(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    cloud_accounts: list[dict[str, Any]],
    instances: list[Users],
    newer: Users,
    saml: bool,
    dropped: int,
    choices: list[tuple[int, int, int | None]],
    upns: list[str],
) -> None:
    slug = f"e{uuid.uuid4().hex[:12]}"
    owner = await new_enterprise(cloud, slug, saml=saml)
    assert (await import_accounts(cloud, owner, cloud_accounts, slug=slug)).status_code == 200
    tokens = []
    for n, users_of in enumerate(instances):
        server_id = f"{slug}-{n}"
        token = await connect(cloud, owner, slug=slug, hostname=f"h{n}.{slug}", server_id=server_id)
        tokens.append(token)
        body = report(users_of, server_id=server_id, hostname=f"h{n}.{slug}")
        assert (await push(cloud, token, body)).status_code == 201
    # The server IDs name instances by their place, as ``reference`` numbers them; the
    # instances' primary keys follow the order they were connected in.
    await check_every_listing(cloud, owner, slug, reference(cloud_accounts, instances, saml))

    # Owners' corrections: links joining accounts or keeping them separate, subscribers.
    links = chosen_links(choices, instances, cloud_accounts)
    await make_links(cloud, owner, slug, links)
    await import_subscribers(cloud, owner, slug, upns)
    persons = reference(cloud_accounts, instances, saml, links, upns)
    await check_every_listing(cloud, owner, slug, persons)

    # A newer report for the first instance: the listing moves by the keys it changes
    # (a link naming an account it no longer has dangles).
    instances = [newer, *instances[1:]]
    body = report(newer, server_id=f"{slug}-0", hostname=f"h0.{slug}", sequence=2)
    assert (await push(cloud, tokens[0], body)).status_code == 201
    persons = reference(cloud_accounts, instances, saml, links, upns)
    await check_every_listing(cloud, owner, slug, persons)

    # Other cloud accounts: every key may move, and the listing is built again (a join
    # naming the account that is gone dangles).
    cloud_accounts = [a for n, a in enumerate(cloud_accounts) if n != dropped]
    assert (await import_accounts(cloud, owner, cloud_accounts, slug=slug)).status_code == 200
    persons = reference(cloud_accounts, instances, saml, links, upns)
    await check_every_listing(cloud, owner, slug, persons)
