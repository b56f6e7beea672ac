"""The dashboard in headless Chromium against a running cloud_api (issue #7).

Each figure on a page is read from the page and compared with what the API answers for the
same owner token, so the test holds whatever the seeded data adds up to.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.dashboard.axe import assert_accessible
from tests.dashboard.conftest import Cloud, Tab


def test_sign_in_sends_the_token_only_as_a_header(tab: Tab) -> None:
    token = tab.cloud.seeded.owner
    tab.sign_in()
    for view in ("instances", "persons", "overview", "persons"):
        tab.show(view)
    with tab.page.expect_download():
        tab.page.click("#download-csv")

    assert tab.requests, "the page made no request"
    assert all(token not in request.url for request in tab.requests)
    assert token not in tab.page.url
    api_calls = [r for r in tab.requests if urlsplit(r.url).path.startswith("/enterprise")]
    assert api_calls
    assert all(r.headers.get("authorization") == f"Bearer {token}" for r in api_calls)
    assert tab.page.evaluate("document.cookie") == ""
    assert tab.problems == []


def test_sign_out_forgets_the_token(tab: Tab) -> None:
    tab.sign_in()
    tab.page.click("#sign-out")
    assert tab.page.is_visible("#token")
    assert tab.page.evaluate("sessionStorage.length") == 0
    tab.page.reload()
    assert tab.page.is_visible("#token"), "a reload after signing out must not sign in again"


@pytest.mark.parametrize("token", ["lso_not-a-real-token", "wrong"])
def test_a_refused_token_says_so_and_is_not_kept(tab: Tab, token: str) -> None:
    tab.page.goto(f"{tab.cloud.url}/dashboard")
    tab.page.fill("#token", token)
    tab.page.click("button[type=submit]")
    message = tab.page.wait_for_selector("#sign-in-error")
    assert message is not None
    assert "owner token" in message.inner_text()
    assert tab.page.evaluate("sessionStorage.length") == 0


def test_overview_shows_the_figures_the_api_answers(tab: Tab) -> None:
    summary = tab.cloud.api("/enterprise/licenses").json()
    history = tab.cloud.api("/enterprise/licenses/history").json()["entries"]
    tab.sign_in()

    def figure(name: str) -> int:
        return int(tab.page.inner_text(f"[data-figure={name}]").replace(",", ""))

    assert figure("consumed") == summary["total_seats_consumed"]
    assert figure("purchased") == summary["total_seats_purchased"]
    for part in ("cloud_only", "server_only", "both"):
        assert figure(part) == summary["breakdown"][part]
    committers = summary["advanced_security"]
    assert figure("committers-total") == committers["total_committers"] > 0
    for part in ("cloud_only", "server_only", "both"):
        assert figure(f"committers-{part}") == committers[part]
    points = tab.page.eval_on_selector_all(
        "#history-chart circle.point", "nodes => nodes.map(n => Number(n.dataset.consumed))"
    )
    assert points == [e["total_seats_consumed"] for e in history]
    assert len(points) == 5  # the accounts import, then two reports from each of two instances


@pytest.mark.parametrize(
    ("seats", "warning"),
    [
        (None, "within 10%"),  # the seeded seats: 55 bought, within 10% of them consumed
        (1000, None),
        ("consumed", "within 10%"),  # exactly all of them used: 0 left
        ("consumed-1", "exceed"),
    ],
)
def test_overview_warns_within_ten_percent_of_purchased_or_over(
    tab: Tab, seats: int | str | None, warning: str | None
) -> None:
    cloud = tab.cloud
    original = cloud.api("/enterprise/licenses").json()
    consumed = original["total_seats_consumed"]
    wanted = {None: None, "consumed": consumed, "consumed-1": consumed - 1}.get(seats, seats)  # type: ignore[call-overload]
    try:
        if wanted is not None:
            _set_seats(cloud, wanted)
        tab.sign_in()
        shown = tab.page.query_selector("#seat-warning")
        if warning is None:
            assert shown is None
        else:
            assert shown is not None
            assert warning in shown.inner_text()
    finally:
        _set_seats(cloud, original["total_seats_purchased"])


def _set_seats(cloud: Cloud, seats: int) -> None:
    response = httpx.patch(
        f"{cloud.url}/admin/enterprises/{cloud.seeded.slug}",
        json={"seats_purchased": seats},
        headers={"Authorization": f"Bearer {cloud.admin}"},
    )
    assert response.status_code == 200, response.text


def test_instances_table_matches_the_api(tab: Tab) -> None:
    instances = tab.cloud.api("/enterprise/licenses").json()["server_instances"]
    tab.sign_in()
    tab.show("instances")
    rows = tab.page.eval_on_selector_all(
        "#instances tbody tr",
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))",
    )
    assert len(rows) == len(instances) == 3
    for row, instance in zip(rows, instances, strict=True):
        hostname, last_sync, status, source, accounts, only_here, _actions = row
        assert hostname.startswith(instance["hostname"])
        assert int(accounts) == instance["accounts_reported"]
        assert int(only_here) == instance["persons_only_here"]
        if instance["last_sync"] is None:
            assert (status, source, last_sync) == ("never synced", "—", "—")
        else:
            assert (status, source) == ("success", "synced")
            assert last_sync != "—"


def test_search_finds_a_person_with_its_accounts_and_why_they_merged(tab: Tab) -> None:
    tab.sign_in()
    tab.show("persons")
    tab.page.fill("#person-search", "hubot")
    tab.page.press("#person-search", "Enter")
    tab.page.wait_for_selector("#persons-count:has-text('match')")
    rows = tab.page.query_selector_all("#persons tbody tr")
    assert len(rows) == 1
    text = rows[0].inner_text()
    assert "cloud hubot" in text
    assert "ghes.acme.example user 2" in text
    assert "build-farm.acme.example user 600" in text  # the same person on the build farm
    assert "verified cloud e-mail" in text
    expected = tab.cloud.api("/enterprise/licenses", include="users", q="hubot").json()
    assert expected["total_persons"] == 1


def test_search_as_you_type_and_nothing_found(tab: Tab) -> None:
    tab.sign_in()
    tab.show("persons")
    tab.page.type("#person-search", "nobody-here", delay=20)
    tab.page.wait_for_selector("#persons-count:has-text('nobody-here')")
    assert tab.page.inner_text("#persons-count").startswith("0 person")
    assert tab.page.query_selector("#persons") is None
    assert tab.page.inner_text("#page-label") == "Page 1 of 1"


def test_persons_are_paginated_like_the_api(tab: Tab) -> None:
    total = tab.cloud.api("/enterprise/licenses", include="users").json()["total_persons"]
    second = tab.cloud.api("/enterprise/licenses", include="users", page=2, per_page=25).json()
    tab.sign_in()
    tab.show("persons")
    pages = -(-total // 25)
    assert pages >= 2, "the seeded data should need more than one page"
    assert tab.page.inner_text("#page-label") == f"Page 1 of {pages}"
    assert tab.page.is_disabled("#previous-page")
    assert len(tab.page.query_selector_all("#persons tbody tr")) == 25
    tab.page.click("#next-page")
    tab.page.wait_for_selector(f"#page-label:has-text('Page 2 of {pages}')")
    shown = tab.page.eval_on_selector_all(
        "#persons tbody tr td:first-child", "cells => cells.map(c => c.innerText.trim())"
    )
    wanted = [
        (u["cloud_account"] or {}).get("login")
        or u["server_accounts"][0]["email"]
        or f"GHES user {u['server_accounts'][0]['user_id']}"
        for u in second["users"]
    ]
    assert shown == wanted


def test_csv_download_is_the_api_csv(tab: Tab) -> None:
    slug = tab.cloud.seeded.slug
    expected = tab.cloud.api(f"/enterprises/{slug}/consumed-licenses.csv").content
    tab.sign_in()
    tab.show("persons")
    with tab.page.expect_download() as downloading:
        tab.page.click("#download-csv")
    download = downloading.value
    assert download.suggested_filename == f"{slug}-consumed-licenses.csv"
    content = download.path().read_bytes()
    assert content == expected
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))
    summary = tab.cloud.api("/enterprise/licenses").json()
    assert len(rows) == summary["total_seats_consumed"]


def test_every_request_stays_on_the_service(tab: Tab) -> None:
    tab.sign_in()
    for view in ("instances", "persons", "overview"):
        tab.show(view)
    origin = urlsplit(tab.cloud.url).netloc
    assert {urlsplit(r.url).netloc for r in tab.requests} == {origin}
    page = httpx.get(f"{tab.cloud.url}/dashboard")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert tab.problems == []  # a blocked asset or a script error would be logged here


@pytest.mark.parametrize("view", ["overview", "instances", "persons", "changes"])
def test_pages_fit_a_phone_width(phone: Tab, view: str) -> None:
    phone.sign_in()
    phone.show(view)
    overflow = phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the {view} page is {overflow}px wider than a phone"
    assert phone.page.is_visible("#nav a[data-view=persons]")
    assert phone.problems == []


def test_every_view_has_no_serious_accessibility_violation(tab: Tab, phone: Tab) -> None:
    tab.page.goto(f"{tab.cloud.url}/dashboard")
    assert_accessible(tab.page, "signed out")
    tab.page.fill("#token", "lso_wrong")
    tab.page.click("button[type=submit]")
    tab.page.wait_for_selector("#sign-in-error")
    assert_accessible(tab.page, "a refused token")
    for browsing in (tab, phone):
        browsing.sign_in()
        for view in ("overview", "instances", "persons"):
            browsing.show(view)
            assert_accessible(browsing.page, f"{view} at {browsing.page.viewport_size}")


# -- what changed, and the forecast ---------------------------------------------------------


def _shown_changes(tab: Tab) -> dict[str, object]:
    """What the "What changed" view shows: the four figures and each list's persons."""

    def figure(name: str) -> int:
        return int(tab.page.inner_text(f"[data-figure={name}]").replace(",", ""))

    def names(table: str) -> list[str]:
        return tab.page.eval_on_selector_all(
            f"#{table} tbody tr td:first-child", "cells => cells.map(c => c.innerText.trim())"
        )

    return {
        "from_total": figure("from_total"),
        "to_total": figure("to_total"),
        "total_started": figure("total_started"),
        "total_stopped": figure("total_stopped"),
        "started": names("started"),
        "stopped": names("stopped"),
    }


def _expected_changes(view: dict[str, Any]) -> dict[str, object]:
    def name(person: dict[str, Any]) -> str:
        if person["cloud_account"]:
            return str(person["cloud_account"]["login"])
        first = person["server_accounts"][0]
        return str(first["email"] or f"GHES user {first['user_id']}")

    return {
        "from_total": view["from_total"],
        "to_total": view["to_total"],
        "total_started": view["total_started"],
        "total_stopped": view["total_stopped"],
        "started": [name(p) for p in view["started"]],
        "stopped": [name(p) for p in view["stopped"]],
    }


def test_clicking_a_point_shows_what_changed_there_as_the_api_says(tab: Tab) -> None:
    entries = tab.cloud.api("/enterprise/licenses/history").json()["entries"]
    tab.sign_in()
    tab.page.click("#history-chart circle.point >> nth=3")
    tab.page.wait_for_selector("main[data-view=changes]:not([aria-busy])")

    expected = tab.cloud.api(
        "/enterprise/licenses/changes",
        since=entries[2]["received_at"],
        until=entries[3]["received_at"],
        per_page=25,
    ).json()
    shown = _shown_changes(tab)
    assert shown == _expected_changes(expected)
    assert expected["total_started"] == entries[3]["started"] > 0
    assert "GHES account added" in tab.page.inner_text("#started")
    assert tab.problems == []


def test_the_chart_is_reachable_by_keyboard(tab: Tab) -> None:
    entries = tab.cloud.api("/enterprise/licenses/history").json()["entries"]
    tab.sign_in()
    tab.page.focus("#history-chart circle.point[tabindex='0']")  # the one tab stop: the latest
    tab.page.keyboard.press("Home")
    tab.page.keyboard.press("ArrowRight")
    focused = tab.page.evaluate("document.activeElement.dataset.at")
    assert focused == entries[1]["received_at"]
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("main[data-view=changes]:not([aria-busy])")
    expected = tab.cloud.api(
        "/enterprise/licenses/changes",
        since=entries[0]["received_at"],
        until=entries[1]["received_at"],
        per_page=25,
    ).json()
    assert _shown_changes(tab) == _expected_changes(expected)


def test_the_last_week_is_what_the_api_says_for_the_same_range(tab: Tab) -> None:
    tab.sign_in()
    tab.show("changes")
    since = tab.page.get_attribute("#changes-range", "data-since")
    assert since is not None
    expected = tab.cloud.api("/enterprise/licenses/changes", since=since, per_page=25).json()
    shown = _shown_changes(tab)
    # All the seeded data is from this week: everything started, from nothing.
    assert shown == _expected_changes(expected)
    assert shown["from_total"] == 0
    assert shown["to_total"] == tab.cloud.api("/enterprise/licenses").json()["total_seats_consumed"]
    assert tab.page.inner_text("#changes-page").startswith("Page 1 of ")


def test_the_forecast_is_said_as_the_api_says_it(tab: Tab) -> None:
    forecast = tab.cloud.api("/enterprise/licenses").json()["forecast"]
    tab.sign_in()
    text = tab.page.inner_text("#forecast")
    assert tab.page.get_attribute("#forecast", "data-date") == (
        forecast["seats_exhausted_on"] or ""
    )
    # The seeded history is minutes long: too little for a date.
    assert forecast["seats_exhausted_on"] is None
    assert f"{forecast['weeks_observed']} week(s) of history" in text


@pytest.mark.parametrize("view", ["overview", "changes"])
def test_no_serious_accessibility_violations(tab: Tab, view: str) -> None:
    tab.sign_in()
    if view != "overview":
        tab.show(view)
    results = Axe().run(tab.page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_a_forecast_date_is_drawn_to_the_purchased_line_and_said(tab: Tab) -> None:
    # The seeded history is minutes long; weeks of it are given to the page as the API
    # would answer them, to see how the page draws a forecast with a date.
    summary = tab.cloud.api("/enterprise/licenses").json()
    purchased = summary["total_seats_purchased"]
    summary["forecast"] = {"seats_exhausted_on": "2027-03-01", "per_week": 2.5, "weeks_observed": 8}
    weeks = [
        {
            "received_at": f"2026-12-{day:02}T09:00:00Z",
            "cause": "report",
            "report_id": None,
            "server_id": "s",
            "hostname": "ghes.acme.example",
            "sequence": n + 1,
            "source": "connect",
            "users_reported": 10,
            "suspended_excluded": 0,
            "total_seats_consumed": 30 + 3 * n,
            "started": 3,
            "stopped": 0,
        }
        for n, day in enumerate(range(1, 29, 7))
    ]
    tab.page.route("**/enterprise/licenses", lambda route: route.fulfill(json=summary))
    tab.page.route(
        "**/enterprise/licenses/history", lambda route: route.fulfill(json={"entries": weeks})
    )
    tab.sign_in()

    line = tab.page.query_selector("#forecast-line")
    assert line is not None
    purchased_y = tab.page.get_attribute("#history-chart line.purchased", "y1")
    assert line.get_attribute("y2") == purchased_y
    last = tab.page.eval_on_selector_all(
        "#history-chart circle.point", "nodes => nodes.map(n => n.getAttribute('cx'))"
    )[-1]
    assert float(line.get_attribute("x1") or 0) == pytest.approx(float(last), abs=0.1)
    text = tab.page.inner_text("#forecast")
    assert "2027-03-01" in text
    assert "+2.5 per week" in text
    assert f"{purchased} purchased seats" in text
