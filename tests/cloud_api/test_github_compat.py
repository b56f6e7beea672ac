"""The GitHub-compatible read API: GitHub's fields, paging, Link headers and schemas."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from tests.builders import account, auth, connect, import_accounts, new_enterprise, push, report
from tests.conftest import OPERATOR_TOKEN

COMPAT = Path(__file__).resolve().parents[1] / "compat"


def schema(name: str) -> OAS30Validator:
    return OAS30Validator(json.loads((COMPAT / f"{name}.schema.json").read_text()))


async def _enterprise_with_people(cloud: httpx.AsyncClient, extra_server: int = 0) -> str:
    owner = await new_enterprise(cloud, seats=50)
    await import_accounts(
        cloud,
        owner,
        [
            account(
                1,
                "mona",
                ["mona@example.com"],
                role="owner",
                name="Mona Lisa",
                two_factor_auth=True,
                enterprise_owner=True,
                saml_identity={"name_id": "mona"},
                pending_invitations=["octo-labs"],
            ),
            account(2, "billy", ["billy@example.com"], role="billing_manager"),
        ],
    )
    token = await connect(cloud, owner, hostname="ghes.example.com")
    users = [(7, "Mona@Example.com"), (8, "solo@example.com")]
    users += [(100 + i, f"extra{i:03}@example.com") for i in range(extra_server)]
    assert (await push(cloud, token, report(users))).status_code == 201
    return owner


async def _page(cloud: httpx.AsyncClient, owner: str, **params: Any) -> httpx.Response:
    response = await cloud.get(
        "/enterprises/acme/consumed-licenses", params=params, headers=auth(owner)
    )
    assert response.status_code == 200, response.text
    return response


async def test_consumed_licenses_carry_githubs_fields(cloud: httpx.AsyncClient) -> None:
    owner = await _enterprise_with_people(cloud)
    body = (await _page(cloud, owner)).json()
    schema("consumed-licenses").validate(body)
    assert (body["total_seats_consumed"], body["total_seats_purchased"]) == (2, 50)
    mona, solo = body["users"]
    assert mona == {
        "github_com_login": "mona",
        "github_com_name": "Mona Lisa",
        "enterprise_server_user_ids": ["ghes.example.com:7"],
        "github_com_user": True,
        "enterprise_server_user": True,
        "visual_studio_subscription_user": False,
        "license_type": "Enterprise",
        "github_com_profile": "https://github.com/mona",
        "github_com_member_roles": ["acme:Owner"],
        "github_com_enterprise_roles": ["Owner", "Member"],
        "github_com_verified_domain_emails": ["mona@example.com"],
        "github_com_saml_name_id": "mona",
        "github_com_orgs_with_pending_invites": ["octo-labs"],
        "github_com_two_factor_auth": True,
        "github_com_advanced_security_license_user": False,
        "enterprise_server_emails": ["Mona@Example.com"],
        "enterprise_server_primary_emails": ["Mona@Example.com"],
        "enterprise_server_advanced_security_user_ids": [],
        "visual_studio_license_status": None,
        "visual_studio_subscription_email": None,
        "total_user_accounts": 2,
    }
    # No cloud account: plain-string fields are "", nullable ones null, as GitHub does.
    assert solo["github_com_login"] == ""
    assert solo["github_com_name"] is None
    assert solo["github_com_profile"] is None
    assert solo["github_com_user"] is False
    assert solo["github_com_two_factor_auth"] is None
    assert solo["enterprise_server_primary_emails"] == ["solo@example.com"]
    assert solo["total_user_accounts"] == 1


async def test_paging_and_link_headers_follow_github(cloud: httpx.AsyncClient) -> None:
    owner = await _enterprise_with_people(cloud, extra_server=5)  # 7 persons
    first = await _page(cloud, owner, per_page=3)
    assert len(first.json()["users"]) == 3
    base = "http://cloud.test/enterprises/acme/consumed-licenses?per_page=3"
    assert first.headers["link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    middle = await _page(cloud, owner, per_page=3, page=2)
    assert middle.headers["link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    last = await _page(cloud, owner, per_page=3, page=3)
    assert last.headers["link"] == f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"'
    assert len(last.json()["users"]) == 1
    past = await _page(cloud, owner, per_page=3, page=4)
    assert past.json()["users"] == []
    for response in (first, middle, last, past):
        assert response.json()["total_seats_consumed"] == 7
        assert response.json()["total_seats_purchased"] == 50
    logins = [
        u["enterprise_server_user_ids"][0] for r in (first, middle, last) for u in r.json()["users"]
    ]
    assert len(set(logins)) == 7


async def test_default_page_size_is_thirty_and_single_page_has_no_link(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await _enterprise_with_people(cloud, extra_server=40)  # 42 persons
    first = await _page(cloud, owner)
    assert len(first.json()["users"]) == 30
    assert 'rel="last"' in first.headers["link"]
    assert "page=2" in first.headers["link"]
    whole = await _page(cloud, owner, per_page=100)
    assert len(whole.json()["users"]) == 42
    assert "link" not in whole.headers


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page": -1}, {"per_page": 0}, {"per_page": 101}, {"page": "two"}]
)
async def test_bad_paging_values_are_422(
    cloud: httpx.AsyncClient, params: dict[str, object]
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get(
        "/enterprises/acme/consumed-licenses", params=params, headers=auth(owner)
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"


@pytest.mark.parametrize(
    "path",
    [
        "/enterprises/acme/consumed-licenses",
        "/enterprises/acme/license-sync-status",
        "/enterprises/acme/consumed-licenses.csv",
    ],
)
async def test_another_enterprise_is_404(cloud: httpx.AsyncClient, path: str) -> None:
    await _enterprise_with_people(cloud)
    other = await new_enterprise(cloud, "globex")
    response = await cloud.get(path, headers=auth(other))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    unauthenticated = await cloud.get(path)
    assert unauthenticated.status_code == 401


async def test_github_token_scheme_is_accepted(cloud: httpx.AsyncClient) -> None:
    owner = await _enterprise_with_people(cloud)
    response = await cloud.get(
        "/enterprises/acme/consumed-licenses", headers={"Authorization": f"token {owner}"}
    )
    assert response.status_code == 200
    assert response.json() == (await _page(cloud, owner)).json()  # as with a Bearer token


async def test_license_sync_status_matches_githubs_schema(cloud: httpx.AsyncClient) -> None:
    owner = await _enterprise_with_people(cloud)
    await connect(cloud, owner, hostname="quiet.example.com", server_id="quiet")
    response = await cloud.get("/enterprises/acme/license-sync-status", headers=auth(owner))
    assert response.status_code == 200
    body = response.json()
    schema("license-sync-status").validate(body)
    by_host = {i["hostname"]: i for i in body["server_instances"]}
    synced = by_host["ghes.example.com"]
    assert synced["server_id"] == "11111111-2222-3333-4444-555555555555"
    assert synced["last_sync"]["status"] == "success"
    assert synced["last_sync"]["error"] == ""
    assert synced["last_sync"]["date"].endswith("Z")
    assert synced["source"] == "connect"
    quiet = by_host["quiet.example.com"]
    assert quiet["last_sync"] == {"date": "", "status": "never_synced", "error": ""}
    assert quiet["source"] == "never_synced"


async def test_csv_has_githubs_columns_and_neutralizes_formulas(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(
        cloud,
        owner,
        [account(1, "evil", ["evil@example.com"], name='=HYPERLINK("http://x","y")')],
    )
    token = await connect(cloud, owner, hostname="ghes.example.com")
    await push(cloud, token, report([(1, "evil@example.com"), (2, "-2+3@example.com")]))
    response = await cloud.get("/enterprises/acme/consumed-licenses.csv", headers=auth(owner))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0])[:3] == [
        "github_com_login",
        "github_com_name",
        "enterprise_server_user_ids",
    ]
    assert "enterprise_server_primary_emails" in rows[0]
    evil, dash = rows
    assert evil["github_com_name"] == '\'=HYPERLINK("http://x","y")'
    assert evil["enterprise_server_user_ids"] == "ghes.example.com:1"
    assert evil["total_user_accounts"] == "2"
    assert dash["enterprise_server_primary_emails"] == "'-2+3@example.com"
    assert dash["github_com_user"] == "false"


async def test_seat_changes_show_at_once(cloud: httpx.AsyncClient) -> None:
    owner = await _enterprise_with_people(cloud)
    response = await cloud.patch(
        "/admin/enterprises/acme", json={"seats_purchased": 3}, headers=auth(OPERATOR_TOKEN)
    )
    assert response.status_code == 200
    assert response.json()["seats_purchased"] == 3
    body = (await _page(cloud, owner)).json()
    assert body["total_seats_purchased"] == 3
    refused = await cloud.patch(
        "/admin/enterprises/acme", json={"seats_purchased": 9}, headers=auth(owner)
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert (await _page(cloud, owner)).json()["total_seats_purchased"] == 3
    missing = await cloud.patch(
        "/admin/enterprises/nope", json={"seats_purchased": 9}, headers=auth(OPERATOR_TOKEN)
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def test_turning_saml_on_moves_the_figure(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(
        cloud, owner, [account(1, "mona", saml_identity={"name_id": "mona@corp.example"})]
    )
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "mona@corp.example")]))
    assert (await _page(cloud, owner)).json()["total_seats_consumed"] == 2
    await cloud.patch(
        "/admin/enterprises/acme", json={"saml_enabled": True}, headers=auth(OPERATOR_TOKEN)
    )
    assert (await _page(cloud, owner)).json()["total_seats_consumed"] == 1
