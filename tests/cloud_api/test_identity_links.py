"""Owners' identity links (SPEC 7.4): join a GHES account to a cloud account e-mail matching
misses, keep one apart from an automatic merge; the figure moves at once, links outlive new
reports and go dangling (not applied, shown) when an account they name is gone."""

from __future__ import annotations

from typing import Any

import httpx

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

SERVER = "11111111-2222-3333-4444-555555555555"
LINKS = "/enterprises/acme/identity-links"


async def setup(
    cloud: httpx.AsyncClient,
    accounts: list[dict[str, Any]],
    users: list[tuple[int, str | None]],
) -> tuple[str, str]:
    owner = await new_enterprise(cloud)
    response = await import_accounts(cloud, owner, accounts)
    assert response.status_code == 200, response.text
    token = await connect(cloud, owner, server_id=SERVER)
    assert (await push(cloud, token, report(users, server_id=SERVER))).is_success
    return owner, token


async def link(cloud: httpx.AsyncClient, owner: str, **body: Any) -> httpx.Response:
    return await cloud.post(LINKS, json={"server_id": SERVER, **body}, headers=auth(owner))


async def listed(cloud: httpx.AsyncClient, owner: str) -> list[dict[str, Any]]:
    response = await cloud.get(LINKS, headers=auth(owner))
    assert response.status_code == 200, response.text
    links: list[dict[str, Any]] = response.json()["links"]
    return links


async def history(cloud: httpx.AsyncClient, owner: str) -> list[dict[str, Any]]:
    response = await cloud.get("/enterprise/licenses/history", headers=auth(owner))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def last_changes(cloud: httpx.AsyncClient, owner: str) -> dict[str, Any]:
    """Who started and stopped at the latest history point."""
    response = await cloud.get("/enterprise/licenses/changes", headers=auth(owner))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def persons(cloud: httpx.AsyncClient, owner: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = (await licenses(cloud, owner, include="users"))["users"]
    return users


async def test_a_join_merges_what_email_matching_misses_at_once(cloud: httpx.AsyncClient) -> None:
    owner, _ = await setup(
        cloud, [account(1, "mona", ["mona@users.example.com"])], [(7, "mona@corp.example.com")]
    )
    assert await consumed(cloud, owner) == 2

    response = await link(cloud, owner, user_id=7, cloud_account_id=1)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "applied"
    assert created["separate"] is False
    assert created["cloud_account_id"] == 1
    assert await consumed(cloud, owner) == 1
    (person,) = await persons(cloud, owner)
    assert person["cloud_account"]["login"] == "mona"
    assert [a["user_id"] for a in person["server_accounts"]] == [7]
    assert person["match_rule"] == "identity_link"
    assert [entry["id"] for entry in person["identity_links"]] == [created["id"]]
    last = (await history(cloud, owner))[-1]
    assert (last["cause"], last["total_seats_consumed"], last["started"], last["stopped"]) == (
        "identity_link_created",
        1,
        0,
        1,
    )
    (stopped,) = (await last_changes(cloud, owner))["stopped"]
    assert stopped["reason"] == "accounts_merged"
    assert [a["user_id"] for a in stopped["server_accounts"]] == [7]


async def test_separate_keeps_an_account_out_of_the_automatic_merge(
    cloud: httpx.AsyncClient,
) -> None:
    owner, _ = await setup(
        cloud, [account(1, "mona", ["shared@example.com"])], [(7, "shared@example.com")]
    )
    assert await consumed(cloud, owner) == 1

    response = await link(cloud, owner, user_id=7, separate=True)

    assert response.status_code == 201, response.text
    assert response.json()["cloud_account_id"] is None
    assert await consumed(cloud, owner) == 2
    rules = sorted(p["match_rule"] for p in await persons(cloud, owner))
    assert rules == ["cloud_only", "kept_separate"]
    last = (await history(cloud, owner))[-1]
    assert (last["cause"], last["started"], last["stopped"]) == ("identity_link_created", 1, 0)
    (started,) = (await last_changes(cloud, owner))["started"]
    assert started["reason"] == "accounts_split"
    assert started["cloud_account"] is None
    assert [a["user_id"] for a in started["server_accounts"]] == [7]


async def test_deleting_a_link_restores_the_automatic_rules(cloud: httpx.AsyncClient) -> None:
    owner, _ = await setup(
        cloud, [account(1, "mona", ["shared@example.com"])], [(7, "shared@example.com")]
    )
    created = (await link(cloud, owner, user_id=7, separate=True)).json()
    assert await consumed(cloud, owner) == 2

    response = await cloud.delete(f"{LINKS}/{created['id']}", headers=auth(owner))

    assert response.status_code == 204, response.text
    assert await consumed(cloud, owner) == 1
    assert await listed(cloud, owner) == []
    last = (await history(cloud, owner))[-1]
    assert (last["cause"], last["total_seats_consumed"], last["stopped"]) == (
        "identity_link_deleted",
        1,
        1,
    )
    missing = await cloud.delete(f"{LINKS}/{created['id']}", headers=auth(owner))
    assert missing.status_code == 404
    assert f"identity link {created['id']}" in missing.json()["detail"]


async def test_links_outlive_new_reports_and_dangle_while_an_account_is_gone(
    cloud: httpx.AsyncClient,
) -> None:
    owner, token = await setup(
        cloud, [account(1, "mona", ["mona@users.example.com"])], [(7, "mona@corp.example.com")]
    )
    await link(cloud, owner, user_id=7, cloud_account_id=1)
    users = [(7, "mona@corp.example.com"), (8, "hubot@corp.example.com")]
    assert (await push(cloud, token, report(users, server_id=SERVER, sequence=2))).is_success
    assert await consumed(cloud, owner) == 2  # mona (linked) and hubot
    assert (await listed(cloud, owner))[0]["state"] == "applied"

    # The GHES account leaves the report: the link dangles and is shown, not applied.
    assert (await push(cloud, token, report([(8, None)], server_id=SERVER, sequence=3))).is_success
    (dangling,) = await listed(cloud, owner)
    assert dangling["state"] == "dangling"
    assert f"{SERVER}:7 is not in the instance's current report" in dangling["dangling_reason"]
    assert await consumed(cloud, owner) == 2  # mona by her cloud account, user 8

    # Back in a later report: applied again, without the owner doing anything.
    assert (await push(cloud, token, report(users, server_id=SERVER, sequence=4))).is_success
    assert (await listed(cloud, owner))[0]["state"] == "applied"
    assert await consumed(cloud, owner) == 2


async def test_a_join_dangles_when_its_cloud_account_is_no_longer_imported(
    cloud: httpx.AsyncClient,
) -> None:
    owner, _ = await setup(
        cloud,
        [account(1, "mona", ["mona@users.example.com"]), account(2, "hubot", [])],
        [(7, "mona@corp.example.com")],
    )
    await link(cloud, owner, user_id=7, cloud_account_id=1)
    assert await consumed(cloud, owner) == 2  # mona with her GHES account, hubot

    await import_accounts(cloud, owner, [account(2, "hubot", [])])

    (dangling,) = await listed(cloud, owner)
    assert dangling["state"] == "dangling"
    assert "cloud account 1 is not among the imported accounts" in dangling["dangling_reason"]
    assert await consumed(cloud, owner) == 2  # the GHES account alone, hubot
    (server_only,) = [p for p in await persons(cloud, owner) if p["cloud_account"] is None]
    assert server_only["match_rule"] == "server_only"
    assert server_only["identity_links"][0]["state"] == "dangling"


async def test_joining_one_ghes_account_to_a_second_cloud_account_is_refused(
    cloud: httpx.AsyncClient,
) -> None:
    owner, _ = await setup(
        cloud,
        [account(1, "mona", ["m@users.example.com"]), account(2, "hubot", ["h@users.example.com"])],
        [(7, "mona@corp.example.com")],
    )
    first = (await link(cloud, owner, user_id=7, cloud_account_id=1)).json()
    before_history = await history(cloud, owner)
    before = await consumed(cloud, owner)

    response = await link(cloud, owner, user_id=7, cloud_account_id=2)

    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "identity_link_conflict"
    assert f"{SERVER}:7 is already joined to cloud account 1" in body["detail"]
    assert f"identity link {first['id']}" in body["detail"]
    assert [entry["id"] for entry in await listed(cloud, owner)] == [first["id"]]
    assert await consumed(cloud, owner) == before
    assert await history(cloud, owner) == before_history
    separate = await link(cloud, owner, user_id=7, separate=True)
    assert separate.status_code == 409
    assert "already joined" in separate.json()["detail"]


async def test_bad_links_are_refused_naming_the_problem(cloud: httpx.AsyncClient) -> None:
    owner, _ = await setup(cloud, [account(1, "mona", [])], [(7, "mona@corp.example.com")])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"user_id": 7}, "either cloud_account_id"),
        ({"user_id": 7, "cloud_account_id": 1, "separate": True}, "not both"),
        ({"user_id": 7, "cloud_account_id": 99}, "cloud_account_id: no cloud account 99"),
        ({"user_id": 99, "separate": True}, f"user_id: GHES account {SERVER}:99"),
        ({"user_id": 7, "separate": True, "server_id": "nope"}, "server_id: no instance 'nope'"),
    ]
    for body, words in cases:
        response = await cloud.post(LINKS, json={"server_id": SERVER, **body}, headers=auth(owner))
        assert response.status_code == 422, (body, response.text)
        assert words in response.json()["detail"], (body, response.text)
    not_a_number = await link(cloud, owner, user_id="seven", separate=True)
    assert not_a_number.status_code == 422
    assert "user_id" in not_a_number.text
    assert await listed(cloud, owner) == []
    assert await consumed(cloud, owner) == 2


async def test_other_enterprises_neither_see_nor_delete_the_links(cloud: httpx.AsyncClient) -> None:
    owner, _ = await setup(cloud, [account(1, "mona", [])], [(7, "mona@corp.example.com")])
    created = (await link(cloud, owner, user_id=7, cloud_account_id=1)).json()
    other = await new_enterprise(cloud, "other")
    assert (await cloud.get(LINKS, headers=auth(other))).status_code == 404
    deleting = await cloud.delete(f"{LINKS}/{created['id']}", headers=auth(other))
    assert deleting.status_code == 404
    own = await cloud.delete(
        f"/enterprises/other/identity-links/{created['id']}", headers=auth(other)
    )
    assert own.status_code == 404
    assert len(await listed(cloud, owner)) == 1


async def test_the_explanation_names_the_link(cloud: httpx.AsyncClient) -> None:
    owner, _ = await setup(
        cloud, [account(1, "mona", ["shared@example.com"])], [(7, "shared@example.com")]
    )
    created = (await link(cloud, owner, user_id=7, separate=True)).json()

    response = await cloud.get(
        "/enterprise/licenses/explain",
        params={"email": "shared@example.com"},
        headers=auth(owner),
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["merged"] is False
    separated = [p for p in answer["persons"] if p["match_rule"] == "kept_separate"]
    assert [link["id"] for link in separated[0]["identity_links"]] == [created["id"]]
    assert any(
        f"kept separate from every automatic merge by identity link {created['id']}" in note
        for note in answer["notes"]
    )


async def test_creating_and_deleting_leave_audit_entries(cloud: httpx.AsyncClient) -> None:
    owner, _ = await setup(cloud, [account(1, "mona", [])], [(7, "mona@corp.example.com")])
    created = (await link(cloud, owner, user_id=7, cloud_account_id=1)).json()
    await cloud.delete(f"{LINKS}/{created['id']}", headers=auth(owner))

    deleted, made = (await audit_log(cloud, owner))[:2]

    assert made["action"] == "identity_link.create"
    assert (made["identity_link_id"], made["user_id"], made["cloud_account_id"]) == (
        created["id"],
        7,
        1,
    )
    assert made["total_seats_consumed"] == 1
    assert deleted["action"] == "identity_link.delete"
    assert deleted["identity_link_id"] == created["id"]
    assert deleted["total_seats_consumed"] == 2
