"""The dashboard's audit log view in headless Chromium: the entries the API answers, the
phrase filter, the cursor pages, by keyboard alone, at a phone's width, and accessible."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.axe import assert_accessible
from tests.dashboard.conftest import Cloud, Tab

ROWS = "#audit-entries tbody tr"


def shown_actions(tab: Tab) -> list[str]:
    actions: list[str] = tab.page.eval_on_selector_all(
        f"{ROWS} td:nth-child(2)", "cells => cells.map(c => c.innerText.trim())"
    )
    return actions


def api_log(cloud: Cloud, **params: Any) -> httpx.Response:
    return cloud.api(f"/enterprises/{cloud.seeded.slug}/audit-log", per_page=20, **params)


def more_entries(cloud: Cloud, count: int) -> None:
    """Operator renames of the enterprise: each one an entry (enterprise.update)."""
    for n in range(count):
        response = httpx.patch(
            f"{cloud.url}/admin/enterprises/{cloud.seeded.slug}",
            json={"name": f"Acme {n}"},
            headers={"Authorization": f"Bearer {cloud.admin}"},
        )
        assert response.status_code == 200, response.text


def test_the_view_shows_the_entries_the_api_answers(tab: Tab) -> None:
    expected = api_log(tab.cloud).json()
    tab.sign_in()
    tab.show("audit")
    assert shown_actions(tab) == [entry["action"] for entry in expected]
    assert "enterprise.create" in shown_actions(tab)
    first = tab.page.inner_text(f"{ROWS}:first-child")
    assert expected[0]["actor"] in first
    assert expected[0]["request_id"] in first
    assert tab.problems == []


def test_the_filter_and_the_pages_work_by_keyboard_alone(tab: Tab) -> None:
    more_entries(tab.cloud, 25)
    tab.sign_in()
    page = tab.page
    _tab_to(tab, "#nav a[data-view=audit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("main[data-view=audit]:not([aria-busy])")
    _tab_to(tab, "#audit-phrase")
    page.keyboard.type("action:enterprise.update")
    page.keyboard.press("Enter")
    page.wait_for_selector("#audit-count:has-text('enterprise.update')")
    first = api_log(tab.cloud, phrase="action:enterprise.update")
    assert shown_actions(tab) == ["enterprise.update"] * 20
    assert _focused(tab) == "audit-count"  # the answer is where the reader is

    _tab_to(tab, "#audit-older")
    page.keyboard.press("Enter")
    second_page = httpx.get(
        str(first.links["next"]["url"]),
        headers={"Authorization": f"Bearer {tab.cloud.seeded.owner}"},
    )
    second = second_page.json()
    page.wait_for_function(
        "n => document.querySelectorAll('#audit-entries tbody tr').length === n", arg=len(second)
    )
    shown = page.eval_on_selector_all(
        f"{ROWS} time", "nodes => nodes.map(n => Date.parse(n.getAttribute('datetime')))"
    )
    assert shown == [entry["@timestamp"] for entry in second]
    assert page.is_disabled("#audit-older") == ("next" not in second_page.links)

    _tab_to(tab, "#audit-newer")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('#audit-entries tbody tr').length === 20"
    )
    assert page.is_disabled("#audit-newer")
    assert tab.problems == []


def test_a_phrase_the_api_refuses_says_why(tab: Tab) -> None:
    tab.sign_in()
    tab.show("audit")
    tab.page.fill("#audit-phrase", "created:someday")
    tab.page.press("#audit-phrase", "Enter")
    alert = tab.page.wait_for_selector("#audit-error")
    assert alert is not None
    assert "created" in alert.inner_text()
    assert alert.get_attribute("role") == "alert"


def test_nothing_found_says_so(tab: Tab) -> None:
    tab.sign_in()
    tab.show("audit")
    tab.page.fill("#audit-phrase", "no-such-thing-anywhere")
    tab.page.press("#audit-phrase", "Enter")
    tab.page.wait_for_selector("#audit-count:has-text('No entry matches')")
    assert tab.page.query_selector("#audit-entries") is None


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_view_fits_a_phone_and_has_no_serious_accessibility_violation(
    tab: Tab, phone: Tab, width: str
) -> None:
    shown = phone if width == "phone" else tab
    shown.sign_in()
    shown.show("audit")
    overflow = shown.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the audit log is {overflow}px wider than the {width}"
    assert_accessible(shown.page, f"audit log ({width})")
    shown.page.fill("#audit-phrase", "created:someday")
    shown.page.press("#audit-phrase", "Enter")
    shown.page.wait_for_selector("#audit-error")
    assert_accessible(shown.page, f"audit log with a refused phrase ({width})")


def _tab_to(tab: Tab, selector: str, presses: int = 40) -> None:
    """Press Tab until the element has the focus, as a keyboard user would."""
    for _ in range(presses):
        if tab.page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        tab.page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def _focused(tab: Tab) -> str:
    focused: str = tab.page.evaluate("document.activeElement.id")
    return focused
