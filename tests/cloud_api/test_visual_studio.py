"""Visual Studio subscriptions (SPEC 7.4, NOTES-wave2 section 1): the import, GitHub's
matching rules one row each, one license per person, and the fields GitHub's consumed-
licenses API and CSV carry."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.builders import (
    account,
    audit_log,
    auth,
    connect,
    consumed,
    import_accounts,
    licenses,
    new_enterprise,
    push,
    report,
)
from tests.cloud_api.test_github_compat import schema

URL = "/enterprises/acme/visual-studio-subscriptions"


def subscriber(upn: str, subscription: str = "Visual Studio Enterprise") -> dict[str, str]:
    return {"upn": upn, "subscription": subscription}


async def put_subscribers(
    cloud: httpx.AsyncClient, owner: str, subscribers: list[dict[str, Any]]
) -> httpx.Response:
    return await cloud.put(URL, json={"subscribers": subscribers}, headers=auth(owner))


async def listing(cloud: httpx.AsyncClient, owner: str, **params: Any) -> dict[str, Any]:
    response = await cloud.get(URL, headers=auth(owner), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Case:
    """A world, the subscribers, and what GitHub's rules make of them."""

    accounts: list[dict[str, Any]]
    users: list[tuple[int, str | None]]
    upns: list[str]
    consumed_before: int
    consumed_after: int
    subscribed: list[str]
    """Each person with a subscription: its cloud login, or its first GHES e-mail."""
    unmatched: list[str] = field(default_factory=list)
    saml: bool = False


UNAFFILIATED = {"role": None}  # in the enterprise, in no organization: consumes nothing
CASES = {
    "a verified cloud e-mail matches; the member consumes one license, of the other type": Case(
        [account(1, "mona", ["mona@example.com"])], [], ["mona@example.com"], 1, 1, ["mona"]
    ),
    "an unaffiliated account with a matched subscription consumes its license": Case(
        [account(1, "eve", ["eve@example.com"], **UNAFFILIATED)],
        [],
        ["eve@example.com"],
        0,
        1,
        ["eve"],
    ),
    "an unverified cloud e-mail never matches": Case(
        [account(1, "eve", [("eve@example.com", False)], **UNAFFILIATED)],
        [],
        ["eve@example.com"],
        0,
        0,
        [],
        ["eve@example.com"],
    ),
    "a GHES-only person matches by its primary e-mail": Case(
        [], [(7, "ghes@example.com")], ["ghes@example.com"], 1, 1, ["ghes@example.com"]
    ),
    "a UPN compares like every e-mail (case, white space)": Case(
        [account(1, "mona", ["mona@example.com"])], [], [" Mona@EXAMPLE.com"], 1, 1, ["mona"]
    ),
    "a SAML identity attribute matches where the enterprise uses SAML": Case(
        [account(1, "sam", [], saml_identity={"name_id": "sam@corp.example"}, **UNAFFILIATED)],
        [],
        ["sam@corp.example"],
        0,
        1,
        ["sam"],
        saml=True,
    ),
    "identity attributes are not matched without SAML": Case(
        [account(1, "sam", [], saml_identity={"name_id": "sam@corp.example"}, **UNAFFILIATED)],
        [],
        ["sam@corp.example"],
        0,
        0,
        [],
        ["sam@corp.example"],
    ),
    "a subscription, a cloud account and two GHES accounts are one license": Case(
        [account(1, "mona", ["mona@example.com"])],
        [(7, "mona@example.com"), (8, "mona@example.com")],
        ["mona@example.com"],
        1,
        1,
        ["mona"],
    ),
    "a cloud account the UPN matches takes it, not its GHES-only namesake elsewhere": Case(
        [account(1, "eve", ["eve@example.com"], **UNAFFILIATED)],
        [(7, "eve@example.com")],
        ["eve@example.com"],
        1,
        1,
        ["eve"],
    ),
    "two subscriptions of one person are one license": Case(
        [account(1, "eve", ["eve@example.com", "eve@work.example"], **UNAFFILIATED)],
        [],
        ["eve@example.com", "eve@work.example"],
        0,
        1,
        ["eve"],
    ),
    "a subscriber matched to nobody is listed and consumes nothing": Case(
        [account(1, "mona", ["mona@example.com"])],
        [(7, "ghes@example.com")],
        ["nobody@example.com"],
        2,
        2,
        [],
        ["nobody@example.com"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_githubs_matching_rules(cloud: httpx.AsyncClient, name: str) -> None:
    case = CASES[name]
    owner = await new_enterprise(cloud, saml=case.saml)
    assert (await import_accounts(cloud, owner, case.accounts)).status_code == 200
    if case.users:
        token = await connect(cloud, owner)
        assert (await push(cloud, token, report(case.users))).is_success
    assert await consumed(cloud, owner) == case.consumed_before

    response = await put_subscribers(cloud, owner, [subscriber(upn) for upn in case.upns])

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["total_seats_consumed"] == case.consumed_after
    assert await consumed(cloud, owner) == case.consumed_after
    assert answer["subscribers"] == len(case.upns)
    assert answer["unmatched"] == len(case.unmatched)
    persons = (await licenses(cloud, owner, include="users"))["users"]
    with_subscription = [
        p["cloud_account"]["login"] if p["cloud_account"] else p["server_accounts"][0]["email"]
        for p in persons
        if p["license_type"] == "Visual Studio subscription"
    ]
    assert with_subscription == case.subscribed
    unmatched = await listing(cloud, owner, matched="false")
    assert [s["upn"].strip().lower() for s in unmatched["subscribers"]] == case.unmatched
    assert all(s["visual_studio_license_status"] is None for s in unmatched["subscribers"])


async def test_the_consumed_licenses_api_and_csv_carry_the_subscription(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(
        cloud,
        owner,
        [account(1, "mona", ["mona@example.com"]), account(2, "hubot", ["hubot@example.com"])],
    )
    await put_subscribers(cloud, owner, [subscriber("Mona@example.com", "Visual Studio Pro")])

    response = await cloud.get(
        "/enterprises/acme/consumed-licenses", headers=auth(owner), params={"per_page": 100}
    )

    assert response.status_code == 200, response.text
    schema("consumed-licenses").validate(response.json())
    users = {u["github_com_login"]: u for u in response.json()["users"]}
    assert users["mona"]["license_type"] == "Visual Studio subscription"
    assert users["mona"]["visual_studio_subscription_user"] is True
    assert users["mona"]["visual_studio_subscription_email"] == "Mona@example.com"
    assert users["mona"]["visual_studio_license_status"] == "Matched"
    assert users["hubot"]["license_type"] == "Enterprise"
    assert users["hubot"]["visual_studio_subscription_user"] is False
    assert users["hubot"]["visual_studio_license_status"] is None
    exported = await cloud.get("/enterprises/acme/consumed-licenses.csv", headers=auth(owner))
    rows = {r["github_com_login"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows["mona"]["license_type"] == "Visual Studio subscription"
    assert rows["mona"]["visual_studio_subscription_user"] == "true"
    assert rows["mona"]["visual_studio_subscription_email"] == "Mona@example.com"
    assert rows["mona"]["visual_studio_license_status"] == "Matched"
    assert rows["hubot"]["license_type"] == "Enterprise"


async def test_the_listing_names_whom_each_subscriber_matched(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "mona", ["mona@example.com"])])
    token = await connect(cloud, owner)
    await push(cloud, token, report([(7, "ghes@example.com")]))
    await put_subscribers(
        cloud,
        owner,
        [subscriber("mona@example.com"), subscriber("ghes@example.com"), subscriber("x@y.example")],
    )

    answer = await listing(cloud, owner)

    assert (answer["total"], answer["matched"], answer["unmatched"]) == (3, 2, 1)
    by_upn = {s["upn"]: s for s in answer["subscribers"]}
    assert by_upn["mona@example.com"]["cloud_account"]["login"] == "mona"
    assert by_upn["ghes@example.com"]["cloud_account"] is None
    assert [a["user_id"] for a in by_upn["ghes@example.com"]["server_accounts"]] == [7]
    assert by_upn["x@y.example"]["visual_studio_license_status"] is None
    assert by_upn["x@y.example"]["server_accounts"] == []
    only_matched = await listing(cloud, owner, matched="true")
    assert sorted(s["upn"] for s in only_matched["subscribers"]) == [
        "ghes@example.com",
        "mona@example.com",
    ]


async def test_the_import_replaces_and_moves_the_history(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "eve", ["eve@example.com"], role=None)])
    await put_subscribers(cloud, owner, [subscriber("eve@example.com")])
    assert await consumed(cloud, owner) == 1

    replaced = await put_subscribers(cloud, owner, [subscriber("other@example.com")])

    assert replaced.json()["total_seats_consumed"] == 0
    assert [s["upn"] for s in (await listing(cloud, owner))["subscribers"]] == ["other@example.com"]
    history = (await cloud.get("/enterprise/licenses/history", headers=auth(owner))).json()
    first, second = history["entries"][-2:]
    assert (first["cause"], first["started"], first["stopped"]) == ("visual_studio_import", 1, 0)
    assert (second["cause"], second["started"], second["stopped"]) == ("visual_studio_import", 0, 1)
    changes = (await cloud.get("/enterprise/licenses/changes", headers=auth(owner))).json()
    (stopped,) = changes["stopped"]
    assert stopped["reason"] == "subscription_removed"
    assert stopped["cloud_account"]["login"] == "eve"
    (entry, *_) = await audit_log(cloud, owner)
    assert entry["action"] == "visual_studio_subscriptions.import"
    assert (entry["subscribers"], entry["total_seats_consumed"]) == (1, 0)


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([subscriber("not an address")], "subscribers[0].upn: not a valid e-mail address"),
        (
            [subscriber("a@example.com"), subscriber("A@example.com")],
            "subscribers[1].upn: 'A@example.com' is already subscribers[0]",
        ),
        ([subscriber("a@example.com"), {"upn": "b@example.com"}], "subscribers.1.subscription"),
        ([{"upn": "a@example.com", "subscription": ""}], "subscribers.0.subscription"),
        ([{**subscriber("a@example.com"), "extra": 1}], "subscribers.0.extra"),
    ],
)
async def test_a_bad_row_is_refused_by_its_position_and_nothing_changes(
    cloud: httpx.AsyncClient, rows: list[dict[str, Any]], words: str
) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "eve", ["eve@example.com"], role=None)])
    await put_subscribers(cloud, owner, [subscriber("eve@example.com")])
    entries = len(await audit_log(cloud, owner))

    response = await put_subscribers(cloud, owner, rows)

    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    assert [s["upn"] for s in (await listing(cloud, owner))["subscribers"]] == ["eve@example.com"]
    assert await consumed(cloud, owner) == 1
    assert len(await audit_log(cloud, owner)) == entries
