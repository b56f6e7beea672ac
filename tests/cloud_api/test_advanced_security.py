"""GitHub Advanced Security committers (issue 14, SPEC 7.4): reports of schema version 2
name them, the accounts import flags cloud ones, and the cloud counts unique committers
with the same person matching as licenses."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from shared import public_key_text, sign_report
from tests.builders import (
    account,
    auth,
    connect,
    import_accounts,
    licenses,
    new_enterprise,
    push,
    report,
)

NONE = {"total_committers": 0, "cloud_only": 0, "server_only": 0, "both": 0}


def on(instance: str, users: list[tuple[int, str | None]], **options: Any) -> dict[str, Any]:
    """A report of instance ``a`` or ``b`` (``ghes-a.example.com``, ...)."""
    return report(users, server_id=instance, hostname=f"ghes-{instance}.example.com", **options)


async def _two_instances(cloud: httpx.AsyncClient) -> tuple[str, str, str]:
    owner = await new_enterprise(cloud)
    first = await connect(cloud, owner, hostname="ghes-a.example.com", server_id="a")
    second = await connect(cloud, owner, hostname="ghes-b.example.com", server_id="b")
    return owner, first, second


async def test_a_version_1_report_still_applies_and_names_no_committers(
    cloud: httpx.AsyncClient,
) -> None:
    owner, first, _ = await _two_instances(cloud)
    response = await push(cloud, first, on("a", [(1, "a@example.com")]))
    assert response.status_code == 201, response.text
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 1
    assert view["advanced_security"] == NONE
    by_host = {i["hostname"]: i for i in view["server_instances"]}
    assert by_host["ghes-a.example.com"]["advanced_security_committers"] is None


async def test_a_committer_on_two_instances_with_one_email_is_one_committer(
    cloud: httpx.AsyncClient,
) -> None:
    owner, first, second = await _two_instances(cloud)
    users_a = [(1, "Mona@Example.com"), (2, "hubot@example.com"), (3, None)]
    users_b = [(70, "mona@example.com"), (71, "solo@example.com"), (72, None)]
    a = on("a", users_a, committers=[1, 3])
    b = on("b", users_b, committers=[70, 72])
    assert (await push(cloud, first, a)).status_code == 201
    assert (await push(cloud, second, b)).status_code == 201
    view = await licenses(cloud, owner)
    # mona (one person over both instances) and the two accounts without an e-mail (each a
    # person of its own): three committers, all on GHES.
    assert view["advanced_security"] == {
        "total_committers": 3,
        "cloud_only": 0,
        "server_only": 3,
        "both": 0,
    }
    by_host = {i["hostname"]: i for i in view["server_instances"]}
    assert by_host["ghes-a.example.com"]["advanced_security_committers"] == 2
    assert by_host["ghes-b.example.com"]["advanced_security_committers"] == 2


async def test_cloud_committers_merge_with_ghes_ones_by_the_license_matching(
    cloud: httpx.AsyncClient,
) -> None:
    owner, first, _ = await _two_instances(cloud)
    accounts = [
        # Commits on both: its GHES account is a committer too.
        account(1, "mona", ["mona@example.com"], advanced_security_committer=True),
        # Commits on the cloud only.
        account(2, "cleo", ["cleo@example.com"], advanced_security_committer=True),
        # Flagged, but a billing manager with no GHES account: consumes no license, so no
        # Advanced Security license either.
        account(3, "bill", ["bill@example.com"], role=None, advanced_security_committer=True),
        # Flagged and consuming nothing on the cloud, but a GHES account makes the person
        # consume: it commits on the cloud (only).
        account(4, "gus", ["gus@example.com"], role=None, advanced_security_committer=True),
        account(5, "nora", ["nora@example.com"]),
    ]
    assert (await import_accounts(cloud, owner, accounts)).status_code == 200
    users = [(1, "mona@example.com"), (2, "gus@example.com"), (3, "nora@example.com")]
    users.append((4, "srv@example.com"))
    assert (await push(cloud, first, on("a", users, committers=[1, 4]))).is_success
    view = await licenses(cloud, owner)
    assert view["advanced_security"] == {
        "total_committers": 4,
        "cloud_only": 2,  # cleo, gus
        "server_only": 1,  # srv
        "both": 1,  # mona
    }
    listed = await licenses(cloud, owner, include="users", per_page=100)
    flagged = {_name(p) for p in listed["users"] if p["advanced_security_committer"]}
    assert flagged == {"mona", "cleo", "gus", "srv@example.com"}


def _name(person: dict[str, Any]) -> str:
    if person["cloud_account"]:
        return str(person["cloud_account"]["login"])
    return str(person["server_accounts"][0]["email"])


async def test_an_id_that_is_not_a_user_is_refused_by_name_and_nothing_changes(
    cloud: httpx.AsyncClient,
) -> None:
    owner, first, _ = await _two_instances(cloud)
    kept = on("a", [(1, "a@example.com")], committers=[1])
    assert (await push(cloud, first, kept)).status_code == 201
    bad = on("a", [(1, "a@example.com"), (2, "b@example.com")], sequence=2)
    bad["schema_version"], bad["advanced_security_user_ids"] = 2, [2, 99]
    response = await push(cloud, first, bad)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert "advanced_security_user_ids[1]: user id 99 is not a user" in response.json()["detail"]
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 1
    assert view["advanced_security"]["total_committers"] == 1
    assert view["server_instances"][0]["current_sequence"] == 1


async def test_a_newer_report_replaces_the_committers_and_a_v1_one_clears_them(
    cloud: httpx.AsyncClient,
) -> None:
    owner, first, _ = await _two_instances(cloud)
    users = [(1, "a@example.com"), (2, "b@example.com")]
    await push(cloud, first, on("a", users, committers=[1, 2]))
    assert (await licenses(cloud, owner))["advanced_security"]["total_committers"] == 2
    await push(cloud, first, on("a", users, sequence=2, committers=[2]))
    assert (await licenses(cloud, owner))["advanced_security"]["total_committers"] == 1
    await push(cloud, first, on("a", users, sequence=3))
    view = await licenses(cloud, owner)
    assert view["advanced_security"] == NONE
    assert view["server_instances"][0]["advanced_security_committers"] is None


async def test_disconnecting_an_instance_drops_its_committers(cloud: httpx.AsyncClient) -> None:
    owner, first, _ = await _two_instances(cloud)
    await push(cloud, first, on("a", [(1, "a@example.com")], committers=[1]))
    response = await cloud.delete("/enterprises/acme/server-instances/a", headers=auth(owner))
    assert response.status_code == 204, response.text
    assert (await licenses(cloud, owner))["advanced_security"] == NONE


async def test_consumed_licenses_and_csv_carry_githubs_advanced_security_columns(
    cloud: httpx.AsyncClient,
) -> None:
    owner, first, second = await _two_instances(cloud)
    accounts = [
        account(1, "mona", ["mona@example.com"], advanced_security_committer=True),
        account(2, "cleo", ["cleo@example.com"]),
    ]
    await import_accounts(cloud, owner, accounts)
    users = [(7, "mona@example.com"), (8, "cleo@example.com"), (9, "solo@example.com")]
    await push(cloud, first, on("a", users, committers=[8, 9]))
    # GHES-only persons: one with accounts on both instances, committing on one of them;
    # one with a single account committing nowhere (the CSV writes these without models).
    others = [(5, "solo@example.com"), (6, "quiet@example.com")]
    await push(cloud, second, on("b", others, committers=[]))
    body = (await cloud.get("/enterprises/acme/consumed-licenses", headers=auth(owner))).json()
    got = {
        (u["github_com_login"] or u["enterprise_server_user_ids"][0]): (
            u["github_com_advanced_security_license_user"],
            u["enterprise_server_advanced_security_user_ids"],
        )
        for u in body["users"]
    }
    assert got == {
        "mona": (True, []),
        "cleo": (False, ["ghes-a.example.com:8"]),
        "ghes-a.example.com:9": (False, ["ghes-a.example.com:9"]),
        "ghes-b.example.com:6": (False, []),
    }
    response = await cloud.get("/enterprises/acme/consumed-licenses.csv", headers=auth(owner))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    columns = (
        "github_com_advanced_security_license_user",
        "enterprise_server_advanced_security_user_ids",
    )
    by_person = {
        row["github_com_login"] or row["enterprise_server_user_ids"]: tuple(map(row.get, columns))
        for row in rows
    }
    assert by_person == {
        "mona": ("true", ""),
        "cleo": ("false", "ghes-a.example.com:8"),
        "ghes-a.example.com:9, ghes-b.example.com:5": ("false", "ghes-a.example.com:9"),
        "ghes-b.example.com:6": ("false", ""),
    }


async def test_a_replica_that_never_saw_the_enterprise_counts_the_same_committers(
    cloud: httpx.AsyncClient, cloud_settings: Settings
) -> None:
    owner, first, second = await _two_instances(cloud)
    await import_accounts(
        cloud, owner, [account(1, "mona", ["mona@example.com"], advanced_security_committer=True)]
    )
    await push(cloud, first, on("a", [(1, "mona@example.com"), (2, None)], committers=[1, 2]))
    await push(cloud, second, on("b", [(5, "x@example.com")], committers=[5]))
    warm = (await licenses(cloud, owner))["advanced_security"]
    replica = create_app(cloud_settings)  # a second process on the same database
    async with (
        replica.router.lifespan_context(replica),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=replica), base_url="http://replica.test"
        ) as other,
    ):
        cold = (await licenses(other, owner))["advanced_security"]
    assert cold == warm == {"total_committers": 3, "cloud_only": 0, "server_only": 2, "both": 1}


async def test_an_import_with_a_flag_that_is_not_a_boolean_is_refused_and_changes_nothing(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    good = [account(1, "mona", ["mona@example.com"], advanced_security_committer=True)]
    assert (await import_accounts(cloud, owner, good)).status_code == 200
    bad = [account(1, "mona", ["mona@example.com"], advanced_security_committer="yes")]
    response = await import_accounts(cloud, owner, bad)
    assert response.status_code == 422
    assert "advanced_security_committer" in response.json()["detail"]
    assert (await licenses(cloud, owner))["advanced_security"]["cloud_only"] == 1


async def test_an_uploaded_version_2_export_brings_its_committers(
    cloud: httpx.AsyncClient,
) -> None:
    key = Ed25519PrivateKey.generate()
    owner = await new_enterprise(cloud)
    response = await cloud.post(
        "/enterprises/acme/server-instances",
        json={
            "hostname": "ghes-c.example.com",
            "server_id": "c",
            "public_key": public_key_text(key),
            "upload_only": True,
        },
        headers=auth(owner),
    )
    assert response.status_code == 201, response.text
    signed = sign_report(on("c", [(1, "a@example.com"), (2, None)], committers=[2]), key)
    uploaded = await cloud.post(
        "/enterprises/acme/server-usage/uploads",
        files={"file": ("usage.json", signed, "application/json")},
        headers=auth(owner),
    )
    assert uploaded.status_code == 201, uploaded.text
    view = await licenses(cloud, owner)
    assert view["advanced_security"]["server_only"] == 1
    assert view["server_instances"][0]["advanced_security_committers"] == 1
