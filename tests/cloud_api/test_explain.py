"""GET /enterprise/licenses/explain: why is this person billed twice?"""

from __future__ import annotations

from typing import Any

import httpx

from tests.builders import account, auth, connect, import_accounts, new_enterprise, push, report


async def explain(cloud: httpx.AsyncClient, owner: str, email: str) -> dict[str, Any]:
    response = await cloud.get(
        "/enterprise/licenses/explain", params={"email": email}, headers=auth(owner)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _setup(cloud: httpx.AsyncClient, accounts: list[dict[str, Any]], users: Any) -> str:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, accounts)
    token = await connect(cloud, owner)
    await push(cloud, token, report(users))
    return owner


async def test_merged_accounts_say_by_which_rule(cloud: httpx.AsyncClient) -> None:
    owner = await _setup(
        cloud, [account(1, "mona", ["mona@example.com"])], [(5, "MONA@example.com")]
    )
    answer = await explain(cloud, owner, "mona@example.com")
    assert answer["merged"] is True
    assert answer["normalized"] == "mona@example.com"
    assert [a["attribute"] for a in answer["cloud_accounts"]] == ["verified_email"]
    assert [a["user_id"] for a in answer["server_accounts"]] == [5]
    (person,) = answer["persons"]
    assert person["match_rule"] == "verified_email"
    assert person["total_user_accounts"] == 2
    assert answer["near_misses"] == []
    assert any("primary e-mail" in note for note in answer["notes"])


async def test_unverified_cloud_email_explains_double_billing(cloud: httpx.AsyncClient) -> None:
    owner = await _setup(
        cloud, [account(1, "octocat", [("octo@example.com", False)])], [(3, "octo@example.com")]
    )
    answer = await explain(cloud, owner, "octo@example.com")
    assert answer["merged"] is False
    assert len(answer["persons"]) == 2
    (miss,) = answer["near_misses"]
    assert miss["reason"] == "unverified_email"
    assert miss["cloud_account_id"] == 1
    assert "not verified" in miss["detail"]


async def test_tag_and_dot_variants_are_named(cloud: httpx.AsyncClient) -> None:
    owner = await _setup(
        cloud,
        [account(1, "alice", ["a.lice@example.com"])],
        [(1, "alice@example.com"), (2, "alice+ci@example.com")],
    )
    answer = await explain(cloud, owner, "alice@example.com")
    reasons = sorted((m["reason"], m["address"]) for m in answer["near_misses"])
    assert reasons == [
        ("tag_or_dot_variant", "a.lice@example.com"),
        ("tag_or_dot_variant", "alice+ci@example.com"),
    ]


async def test_saml_identity_ignored_without_saml_is_a_near_miss(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await _setup(
        cloud,
        [account(1, "mona", saml_identity={"emailaddress_claim": "mona@corp.example"})],
        [(1, "mona@corp.example")],
    )
    answer = await explain(cloud, owner, "mona@corp.example")
    (miss,) = answer["near_misses"]
    assert miss["reason"] == "saml_disabled"
    assert "email_claim" in miss["detail"]
    assert answer["merged"] is False


async def test_ambiguous_match_is_flagged(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud, saml=True)
    await import_accounts(
        cloud,
        owner,
        [
            account(4, "first", saml_identity={"name_id": "x@corp.example"}),
            account(2, "second", saml_identity={"username": "x@corp.example"}),
        ],
    )
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "x@corp.example")]))
    answer = await explain(cloud, owner, "x@corp.example")
    (miss,) = answer["near_misses"]
    assert miss["reason"] == "ambiguous"
    assert miss["cloud_account_id"] == 2
    merged = next(p for p in answer["persons"] if p["server_accounts"])
    assert merged["ambiguous"] is True
    assert merged["cloud_account"]["id"] == 2
    assert merged["candidate_cloud_account_ids"] == [2, 4]


async def test_invalid_address_is_422(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get(
        "/enterprise/licenses/explain", params={"email": "nope"}, headers=auth(owner)
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert "email" in response.json()["detail"]


async def test_an_ambiguous_match_with_a_cloud_account_that_consumes_nothing_is_flagged(
    cloud: httpx.AsyncClient,
) -> None:
    # Account 1 consumes no license and has no GHES account, so it is nobody's person; the
    # explanation must still see it claim the address, as the figure's matcher does.
    owner = await new_enterprise(cloud, saml=True)
    await import_accounts(
        cloud,
        owner,
        [
            account(1, "idle", ["k@example.com"], role=None),
            account(2, "kay", saml_identity={"emails": ["k@example.com"]}),
        ],
    )
    token = await connect(cloud, owner)
    await push(cloud, token, report([(7, "k@example.com")]))
    answer = await explain(cloud, owner, "k@example.com")
    (person,) = answer["persons"]
    assert person["ambiguous"] is True
    assert person["candidate_cloud_account_ids"] == [1, 2]
    (miss,) = answer["near_misses"]
    assert miss["reason"] == "ambiguous"
    assert miss["cloud_account_id"] == 2
    assert "1, 2" in miss["detail"]
