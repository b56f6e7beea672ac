"""A real GitHub API client library (PyGithub) pointed at the running cloud service lists
every consumed license through every page, Visual Studio subscriptions, an owner's
identity link and the Advanced Security columns included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from github import Auth, Github

from scripts.servers import uvicorn_server

OPERATOR = "lsop_pygithub-operator"


def test_pygithub_lists_every_consumed_license(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    env = {"CLOUD_API_DATABASE_URL": new_database_url(), "CLOUD_API_ADMIN_TOKEN": OPERATOR}
    with uvicorn_server("services.cloud_api.main:create_app", env, tmp_path / "cloud.log") as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            created = http.post(
                "/admin/enterprises",
                json={"slug": "beaver-group", "name": "Beaver", "seats_purchased": 103},
                headers={"Authorization": f"Bearer {OPERATOR}"},
            ).json()
            owner = {"Authorization": f"Bearer {created['owner_token']}"}
            accounts = [
                {
                    "id": 900 + i,
                    "login": f"beaver-user{i:03}",
                    "emails": [{"email": f"user{i}@beaver.example", "verified": True}],
                    "org_memberships": [{"org": "beaver", "role": "member"}],
                    "advanced_security_committer": i <= 3,
                }
                for i in range(1, 31)
            ]
            http.put(
                "/enterprises/beaver-group/accounts", json={"accounts": accounts}, headers=owner
            )
            instance = http.post(
                "/enterprises/beaver-group/server-instances",
                json={"hostname": "ghes.beaver.example", "server_id": "beaver-ghes"},
                headers=owner,
            ).json()
            users = [{"id": i, "email": f"user{i}@beaver.example"} for i in range(1, 73)]
            report = {
                "schema_version": 2,
                "report_id": "0b8e1f8e-5d2c-4c11-9a55-1b1c0f7d2a10",
                "server_id": "beaver-ghes",
                "hostname": "ghes.beaver.example",
                "ghes_version": "3.14.2",
                "sequence": 1,
                "generated_at": "2026-11-27T12:00:00Z",
                "license": None,
                "excluded": {"suspended": 0},
                "users": users,
                "advanced_security_user_ids": list(range(60, 73)),
            }
            pushed = http.post(
                "/server-usage",
                json=report,
                headers={"Authorization": f"Bearer {instance['instance_token']}"},
            )
            assert pushed.status_code == 201, pushed.text
            subscribers = [
                {"upn": f"user{i}@beaver.example", "subscription": "Visual Studio Enterprise"}
                for i in range(1, 11)
            ] + [{"upn": "nobody@beaver.example", "subscription": "Visual Studio Enterprise"}]
            imported = http.put(
                "/enterprises/beaver-group/visual-studio-subscriptions",
                json={"subscribers": subscribers},
                headers=owner,
            )
            assert imported.status_code == 200, imported.text
            # GHES user 72 is beaver-user001 too, whatever its e-mail says.
            linked = http.post(
                "/enterprises/beaver-group/identity-links",
                json={"server_id": "beaver-ghes", "user_id": 72, "cloud_account_id": 901},
                headers=owner,
            )
            assert linked.status_code == 201, linked.text

        client = Github(base_url=url, auth=Auth.Token(created["owner_token"]), retry=None)
        try:
            licenses = client.get_enterprise("beaver-group").get_consumed_licenses(
                licence_users_per_page=25
            )
            assert licenses.total_seats_consumed == 71
            assert licenses.total_seats_purchased == 103
            listed = list(licenses.get_users(licence_users_per_page=25))
        finally:
            client.close()
    assert len(listed) == 71
    ids = sorted(i for user in listed for i in user.enterprise_server_user_ids)
    assert ids == sorted(f"ghes.beaver.example:{i}" for i in range(1, 73))
    merged = {user.github_com_login: user for user in listed if user.github_com_user}
    assert len(merged) == 30
    assert merged["beaver-user001"].total_user_accounts == 3  # the linked account too
    assert all(
        u.total_user_accounts == 2 for login, u in merged.items() if login != "beaver-user001"
    )
    subscribed = sorted(u.github_com_login for u in listed if u.visual_studio_subscription_user)
    assert subscribed == [f"beaver-user{i:03}" for i in range(1, 11)]
    assert {u.license_type for u in listed if u.visual_studio_subscription_user} == {
        "Visual Studio subscription"
    }
    assert {
        u.visual_studio_license_status for u in listed if u.visual_studio_subscription_user
    } == {"Matched"}
    assert {u.license_type for u in listed if not u.visual_studio_subscription_user} == {
        "Enterprise"
    }
    # The Advanced Security columns are on every user, through every page. PyGithub models
    # no attribute for them; _rawData is the object as received (raw_data would fetch the
    # user's own URL, which a consumed-license user has not).
    received = [u._rawData for u in listed]
    assert all("github_com_advanced_security_license_user" in u for u in received)
    cloud_committers = [u for u in received if u["github_com_advanced_security_license_user"]]
    assert sorted(u["github_com_login"] for u in cloud_committers) == [
        "beaver-user001",
        "beaver-user002",
        "beaver-user003",
    ]
    server_committers = sorted(
        id for u in received for id in u["enterprise_server_advanced_security_user_ids"]
    )
    assert server_committers == sorted(f"ghes.beaver.example:{i}" for i in range(60, 73))
