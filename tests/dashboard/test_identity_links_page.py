"""Identity links on the dashboard's persons page, in headless Chromium: add a join by
keyboard and see the figure move, a refusal in words, a dangling link shown, delete after a
confirmation; the persons table names the link; at a phone's width; accessible."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from playwright.sync_api import Page

from scripts.dashboard_demo import BUILD_FARM
from scripts.demo import DEMO
from tests.dashboard.axe import assert_accessible
from tests.dashboard.conftest import Cloud, Tab

FARM = str(uuid.uuid5(uuid.NAMESPACE_DNS, BUILD_FARM))  # the demo's server_id for the farm
BUILDER = 500  # builder00@acme.example: a GHES account no cloud account matches
OCTOCAT = 1003  # a consuming cloud account


def figure(cloud: Cloud) -> int:
    return int(cloud.api("/enterprise/licenses").json()["total_seats_consumed"])


def links(cloud: Cloud) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cloud.api(
        f"/enterprises/{cloud.seeded.slug}/identity-links"
    ).json()["links"]
    return found


def add_by_keyboard(page: Page, user: str, cloud_account: str) -> None:
    page.focus("#link-instance")
    page.select_option("#link-instance", FARM)
    page.keyboard.press("Tab")
    page.keyboard.type(user)
    page.focus("#link-cloud-account")
    page.keyboard.type(cloud_account)
    page.keyboard.press("Enter")  # submits the form


def test_a_join_added_by_keyboard_moves_the_figure_and_shows_on_the_person(tab: Tab) -> None:
    before = figure(tab.cloud)
    tab.sign_in()
    tab.show("persons")
    tab.page.wait_for_selector("#no-links")
    assert_accessible(tab.page, "persons page with the identity links form")

    add_by_keyboard(tab.page, str(BUILDER), str(OCTOCAT))

    tab.page.wait_for_selector("#link-message .notice.good")
    after = figure(tab.cloud)
    assert after == before - 1
    assert f"{before} → {after}" in tab.page.inner_text("#link-message")
    (made,) = links(tab.cloud)
    assert (made["user_id"], made["cloud_account_id"], made["state"]) == (
        BUILDER,
        OCTOCAT,
        "applied",
    )
    shown = tab.page.inner_text("#links tbody tr")
    assert f"{BUILD_FARM} user {BUILDER}" in shown
    assert f"joined to cloud account #{OCTOCAT}" in shown
    assert "applied" in shown
    tab.page.fill("#person-search", "octocat")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("#persons-count:has-text('octocat')")
    note = tab.page.inner_text(f"#persons [data-link='{made['id']}']")
    assert f"joined to cloud account #{OCTOCAT}" in note
    assert "Joined by an owner's identity link" in tab.page.inner_text("#persons tbody")
    assert_accessible(tab.page, "persons page with an applied identity link")

    # A second cloud account for the same GHES account: refused in words, nothing changed.
    add_by_keyboard(tab.page, str(BUILDER), "1002")
    tab.page.wait_for_selector("#link-message [role=alert]")
    assert f"already joined to cloud account {OCTOCAT}" in tab.page.inner_text("#link-message")
    assert figure(tab.cloud) == after
    assert len(links(tab.cloud)) == 1
    # The browser logs the refused request itself; nothing else went wrong.
    assert [p for p in tab.problems if "409" not in p] == []


def test_a_dangling_link_is_shown_and_a_link_is_deleted_after_confirming(tab: Tab) -> None:
    cloud = tab.cloud
    if not links(cloud):  # this test also runs alone
        response = httpx.post(
            f"{cloud.url}/enterprises/{cloud.seeded.slug}/identity-links",
            json={"server_id": FARM, "user_id": BUILDER, "cloud_account_id": OCTOCAT},
            headers={"Authorization": f"Bearer {cloud.seeded.owner}"},
        )
        assert response.status_code == 201, response.text
    (made,) = links(cloud)
    kept = [a for a in _imported_accounts() if a["id"] != OCTOCAT]
    imported = httpx.put(
        f"{cloud.url}/enterprises/{cloud.seeded.slug}/accounts",
        json={"accounts": kept},
        headers={"Authorization": f"Bearer {cloud.seeded.owner}"},
    )
    assert imported.status_code == 200, imported.text

    tab.sign_in()
    tab.show("persons")
    tab.page.wait_for_selector("#links .badge.bad")
    row = tab.page.inner_text("#links tbody tr")
    assert "dangling" in row
    assert f"cloud account {OCTOCAT} is not among the imported accounts" in row
    assert_accessible(tab.page, "persons page with a dangling identity link")

    before = figure(cloud)
    tab.page.focus(f"button[aria-label='Delete identity link {made['id']}']")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("dialog[open]")
    assert_accessible(tab.page, "delete identity link confirmation")
    tab.page.click("dialog [data-confirm]")
    tab.page.wait_for_selector("#no-links")
    assert links(cloud) == []
    assert figure(cloud) == before  # a dangling link was not applied: nothing moves
    assert tab.problems == []


def test_the_links_fit_a_phone(phone: Tab) -> None:
    phone.sign_in()
    phone.show("persons")
    phone.page.wait_for_selector("#link-form")
    overflow = phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert_accessible(phone.page, "persons page with identity links at 375 px")


def _imported_accounts() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads((DEMO / "cloud_accounts.json").read_text())
    accounts: list[dict[str, Any]] = data["accounts"]
    return accounts
