"""Visual Studio subscriptions on the dashboard's persons page, in headless Chromium: the
subscribed persons carry the license type, the unmatched subscribers are listed, at a
phone's width, accessible."""

from __future__ import annotations

import httpx

from tests.dashboard.axe import assert_accessible
from tests.dashboard.conftest import Cloud, Tab

SUBSCRIBERS = [
    {"upn": "mona@acme.example", "subscription": "Visual Studio Enterprise"},  # a member
    {"upn": "eve@acme.example", "subscription": "Visual Studio Professional"},  # unaffiliated
    {"upn": "nobody@acme.example", "subscription": "Visual Studio Enterprise"},
]


def figure(cloud: Cloud) -> int:
    return int(cloud.api("/enterprise/licenses").json()["total_seats_consumed"])


def import_subscribers(cloud: Cloud) -> None:
    response = httpx.put(
        f"{cloud.url}/enterprises/{cloud.seeded.slug}/visual-studio-subscriptions",
        json={"subscribers": SUBSCRIBERS},
        headers={"Authorization": f"Bearer {cloud.seeded.owner}"},
    )
    assert response.status_code == 200, response.text


def test_subscribed_persons_and_unmatched_subscribers_are_shown(tab: Tab) -> None:
    tab.sign_in()
    tab.show("persons")
    tab.page.wait_for_selector("#vs-summary:has-text('No Visual Studio subscribers')")
    before = figure(tab.cloud)
    import_subscribers(tab.cloud)
    assert figure(tab.cloud) == before + 1  # eve consumes by her subscription alone

    tab.show("overview")
    tab.show("persons")

    tab.page.wait_for_selector("#vs-unmatched")
    summary = tab.page.inner_text("#vs-summary")
    assert "3 subscribers: 2 matched" in summary
    assert "1 matched to nobody" in summary
    unmatched = tab.page.eval_on_selector_all(
        "#vs-unmatched tbody tr td:first-child", "cells => cells.map(c => c.innerText.trim())"
    )
    assert [u.split()[-1] for u in unmatched] == ["nobody@acme.example"]
    tab.page.fill("#person-search", "eve")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("#persons-count:has-text('eve')")
    row = tab.page.inner_text("#persons tbody tr")
    assert "Visual Studio subscription" in row
    assert "eve@acme.example" in row
    expected = tab.cloud.api("/enterprise/licenses", include="users", q="eve").json()["users"]
    assert expected[0]["license_type"] == "Visual Studio subscription"
    assert_accessible(tab.page, "persons page with Visual Studio subscribers")
    assert tab.problems == []


def test_the_subscribers_fit_a_phone(phone: Tab) -> None:
    import_subscribers(phone.cloud)  # replaces: the same whether the test above ran or not
    phone.sign_in()
    phone.show("persons")
    phone.page.wait_for_selector("#vs-unmatched")
    overflow = phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert_accessible(phone.page, "persons page with Visual Studio subscribers at 375 px")
