"""The owner dashboard's server instances in headless Chromium (issue #12): connect with the
token shown once, rotate, disconnect after a confirmation, and Add server usage.

Each action is checked on the page and behind it: the token works (or no longer does), the
figure on the page equals the API's, a refused upload leaves figure and history unchanged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scripts.dashboard_demo import signed_export
from scripts.screenshots import seeded_cloud
from services.ghes_agent.domain.report_builder import build_report
from services.ghes_agent.domain.users_csv import UsersSnapshot
from shared import public_key_text
from tests.dashboard.axe import assert_accessible
from tests.dashboard.conftest import Cloud, Tab

MAX_BODY = 200_000
"""The cloud's body limit in this module: small, so that a file can be too large."""


@pytest.fixture(scope="module")
def dashboard_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """This module's own cloud (its tests connect and disconnect instances)."""
    workdir = tmp_path_factory.mktemp("instances")
    env = {"CLOUD_API_MAX_BODY_BYTES": str(MAX_BODY)}
    with seeded_cloud(Path(workdir), env) as (url, admin, seeded):
        yield Cloud(url, admin, seeded)


@dataclass
class UploadOnly:
    """An instance with no network path: its key signs the files it exports."""

    hostname: str
    server_id: str
    key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return public_key_text(self.key)

    def export(self, sequence: int, users: int) -> bytes:
        return signed_export(self.key, self.server_id, self.hostname, sequence, users)


def new_upload_only(hostname: str) -> UploadOnly:
    return UploadOnly(hostname, str(uuid.uuid4()), Ed25519PrivateKey.generate())


def owner_call(cloud: Cloud, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {cloud.seeded.owner}"}
    return httpx.request(method, f"{cloud.url}{path}", headers=headers, timeout=30, **kwargs)


def push(
    cloud: Cloud,
    token: str,
    server_id: str,
    sequence: int,
    users: int,
    hostname: str = "pushed.acme.example",
) -> httpx.Response:
    snapshot = UsersSnapshot(users=[(7000 + n, None) for n in range(users)], suspended=0)
    report = build_report(
        snapshot,
        server_id=server_id,
        hostname=hostname,
        ghes_version="3.14.2",
        sequence=sequence,
        generated_at=datetime.now(UTC),
    )
    return httpx.post(
        f"{cloud.url}/server-usage",
        content=json.dumps(report),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def figure(cloud: Cloud) -> int:
    consumed: int = cloud.api("/enterprise/licenses").json()["total_seats_consumed"]
    return consumed


def history(cloud: Cloud) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = cloud.api("/enterprise/licenses/history").json()["entries"]
    return entries


def shown_figure(tab: Tab) -> int:
    return int(tab.page.inner_text("#instances-figure [data-figure=consumed]").replace(",", ""))


def instance_row(tab: Tab, hostname: str) -> str:
    return tab.page.inner_text(f"#instances tbody tr:has-text('{hostname}')")


def connect_in_page(tab: Tab, hostname: str, upload_only: UploadOnly | None = None) -> None:
    tab.page.click("#connect-instance")
    tab.page.fill("#connect-hostname", hostname)
    if upload_only is not None:
        tab.page.check("#connect-upload-only")
        tab.page.fill("#connect-server-id", upload_only.server_id)
        tab.page.fill("#connect-public-key", upload_only.public_key)
    tab.page.click("dialog button[type=submit]")


def choose_file(tab: Tab, tmp_path: Path, name: str, content: bytes) -> str:
    """Chooses the file in the page's file input and waits for the outcome's text."""
    path = tmp_path / name
    path.write_bytes(content)
    tab.page.set_input_files("#usage-file", str(path))
    result = tab.page.wait_for_selector("#upload-result [data-outcome]")
    assert result is not None
    return result.inner_text()


# --- connecting ---------------------------------------------------------------------------


def test_connect_shows_the_token_once_with_a_copy_button_and_it_works(tab: Tab) -> None:
    tab.sign_in()
    tab.show("instances")
    assert_accessible(tab.page, "server instances")
    tab.page.click("#connect-instance")
    tab.page.wait_for_selector("dialog[open] #connect-hostname")
    assert_accessible(tab.page, "the connect dialog")
    tab.page.fill("#connect-hostname", "ghes-new.acme.example")
    tab.page.press("#connect-hostname", "Enter")

    shown = tab.page.wait_for_selector("dialog[open] #shown-secret")
    assert shown is not None
    token = shown.input_value()
    assert token.startswith("lsi_")
    warning = tab.page.inner_text("#secret-warning")
    assert "only time it is shown" in warning
    assert "cannot be shown again" in warning
    assert_accessible(tab.page, "the token shown once")
    tab.page.click("#copy-secret")
    tab.page.wait_for_selector("#copy-status:has-text('Copied')")
    assert tab.page.evaluate("navigator.clipboard.readText()") == token
    tab.page.click("dialog[open] button:has-text('Done')")
    tab.page.wait_for_selector("#instance-message:has-text('is connected')")

    assert "ghes-new.acme.example" in instance_row(tab, "ghes-new.acme.example")
    hostnames = [
        i["hostname"] for i in tab.cloud.api("/enterprise/licenses").json()["server_instances"]
    ]
    assert "ghes-new.acme.example" in hostnames
    # The token shown is the instance's: the cloud takes a report with it.
    assert push(tab.cloud, token, str(uuid.uuid4()), 1, 3).status_code == 201
    assert token not in tab.page.content(), "the token stays on the page after Done"
    assert tab.problems == []


def test_a_refused_connection_says_why_in_the_dialog_and_creates_nothing(tab: Tab) -> None:
    before = tab.cloud.api("/enterprise/licenses").json()["server_instances"]
    tab.sign_in()
    tab.show("instances")
    tab.page.click("#connect-instance")
    tab.page.fill("#connect-hostname", "no-key.acme.example")
    tab.page.check("#connect-upload-only")
    tab.page.click("dialog button[type=submit]")
    problem = tab.page.wait_for_selector("#connect-problem [role=alert]")
    assert problem is not None
    assert "server_id and public_key" in problem.inner_text()
    assert tab.page.is_visible("dialog[open]"), "the dialog stays open to correct the form"
    assert_accessible(tab.page, "a refused connection")
    assert tab.cloud.api("/enterprise/licenses").json()["server_instances"] == before


# --- Add server usage ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def uploader() -> UploadOnly:
    return new_upload_only("closed-net.acme.example")


def connect_upload_only(tab: Tab, instance: UploadOnly) -> None:
    """Connected through the page, once per module."""
    listed = tab.cloud.api("/enterprise/licenses").json()["server_instances"]
    if any(i["server_id"] == instance.server_id for i in listed):
        return
    connect_in_page(tab, instance.hostname, instance)
    tab.page.wait_for_selector("#instance-message:has-text('connected for uploads')")


def test_an_uploaded_file_is_applied_and_the_figure_is_the_apis(
    tab: Tab, uploader: UploadOnly, tmp_path: Path
) -> None:
    tab.sign_in()
    tab.show("instances")
    connect_upload_only(tab, uploader)
    assert "upload only, nothing uploaded yet" in instance_row(tab, uploader.hostname)
    before = figure(tab.cloud)

    outcome = choose_file(tab, tmp_path, "closed-net-1.json", uploader.export(1, users=5))

    after = tab.cloud.api("/enterprise/licenses").json()
    assert after["total_seats_consumed"] == before + 5  # five persons nobody else has
    assert f"Consumed licenses: {after['total_seats_consumed']}" in outcome
    assert "Applied: report 1 of closed-net.acme.example, 5 users" in outcome
    assert shown_figure(tab) == after["total_seats_consumed"]
    row = instance_row(tab, uploader.hostname)
    assert "uploaded" in row
    assert "success" in row
    assert history(tab.cloud)[-1]["server_id"] == uploader.server_id
    assert tab.page.get_attribute("#upload-progress", "value") == "100"
    assert "Sent closed-net-1.json" in tab.page.inner_text("#upload-progress-label")
    assert_accessible(tab.page, "an applied upload")
    assert tab.problems == []


def test_a_file_dropped_on_the_page_is_uploaded(
    tab: Tab, uploader: UploadOnly, tmp_path: Path
) -> None:
    tab.sign_in()
    tab.show("instances")
    connect_upload_only(tab, uploader)
    latest = max(
        (e["sequence"] for e in history(tab.cloud) if e["server_id"] == uploader.server_id),
        default=0,
    )
    content = uploader.export(latest + 1, users=7)
    dropped = tab.page.evaluate_handle(
        """([name, text]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, { type: "application/json" }));
            return data;
        }""",
        ["dropped.json", content.decode()],
    )
    tab.page.dispatch_event("main h1", "dragover", {"dataTransfer": dropped})
    assert tab.page.evaluate("document.body.classList.contains('dragging')")
    tab.page.dispatch_event("main h1", "drop", {"dataTransfer": dropped})
    result = tab.page.wait_for_selector("#upload-result [data-outcome=applied]")
    assert result is not None
    assert (
        f"Applied: report {latest + 1} of closed-net.acme.example, 7 users" in result.inner_text()
    )
    assert history(tab.cloud)[-1]["sequence"] == latest + 1
    assert shown_figure(tab) == figure(tab.cloud)


def _edited(instance: UploadOnly) -> bytes:
    document = json.loads(instance.export(50, users=2))
    document["report"]["users"][0]["email"] = "someone-else@acme.example"
    return json.dumps(document).encode()


REFUSALS = {
    "edited": (_edited, "changed after the agent signed it"),
    "unknown instance": (
        lambda _i: new_upload_only("stranger.acme.example").export(1, users=2),
        "No instance connected to this enterprise has the file's server_id",
    ),
    "older sequence": (lambda i: i.export(1, users=2), "older than the usage this instance"),
    "not JSON": (lambda _i: b"sequence,users\n1,2\n", "not an export file"),
    "too large": (lambda i: i.export(60, users=MAX_BODY // 30), "too large"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_file_says_why_and_changes_nothing(
    tab: Tab, uploader: UploadOnly, tmp_path: Path, case: str
) -> None:
    make, reason = REFUSALS[case]
    tab.sign_in()
    tab.show("instances")
    connect_upload_only(tab, uploader)
    if not any(e["server_id"] == uploader.server_id for e in history(tab.cloud)):
        choose_file(tab, tmp_path, "first.json", uploader.export(40, users=3))
    summary_before, history_before = (
        tab.cloud.api("/enterprise/licenses").json(),
        history(tab.cloud),
    )

    content = make(uploader)
    outcome = choose_file(tab, tmp_path, f"{case.replace(' ', '-')}.json", content)

    assert outcome.startswith("Refused:"), outcome
    assert reason in outcome
    assert "Nothing was changed." in outcome
    assert tab.page.get_attribute("#upload-result [data-outcome]", "role") == "alert"
    summary_after = tab.cloud.api("/enterprise/licenses").json()
    assert summary_after["total_seats_consumed"] == summary_before["total_seats_consumed"]
    assert history(tab.cloud) == history_before
    assert shown_figure(tab) == summary_before["total_seats_consumed"]
    assert_accessible(tab.page, f"a refused upload ({case})")


# --- rotating and disconnecting -----------------------------------------------------------


@pytest.fixture
def pushing(tab: Tab) -> tuple[str, str, str]:
    """A connected instance bound by a first report of 4 persons only it has:
    (hostname, server_id, token)."""
    hostname, server_id = f"rotating-{uuid.uuid4().hex[:6]}.acme.example", str(uuid.uuid4())
    connected = owner_call(
        tab.cloud,
        "POST",
        f"/enterprises/{tab.cloud.seeded.slug}/server-instances",
        json={"hostname": hostname},
    ).json()
    token = connected["instance_token"]
    assert push(tab.cloud, token, server_id, 1, 4, hostname).status_code == 201
    return hostname, server_id, token


def test_rotating_a_token_shows_the_new_one_once_and_the_old_one_stops(
    tab: Tab, pushing: tuple[str, str, str]
) -> None:
    hostname, server_id, old = pushing
    tab.sign_in()
    tab.show("instances")
    tab.page.click(f"button[aria-label='Rotate token of {hostname}']")
    confirm = tab.page.wait_for_selector("dialog[open][role=alertdialog]")
    assert confirm is not None
    assert "stops working at once" in confirm.inner_text()
    assert_accessible(tab.page, "the rotate confirmation")
    tab.page.click("dialog[open] [data-confirm]")
    shown = tab.page.wait_for_selector("dialog[open] #shown-secret")
    assert shown is not None
    new = shown.input_value()
    assert new.startswith("lsi_")
    assert new != old
    assert "only time it is shown" in tab.page.inner_text("#secret-warning")
    tab.page.click("dialog[open] button:has-text('Done')")
    assert push(tab.cloud, old, server_id, 2, 4).status_code == 401
    assert push(tab.cloud, new, server_id, 2, 4).status_code == 201


def test_disconnect_asks_first_and_the_figure_follows(
    tab: Tab, pushing: tuple[str, str, str]
) -> None:
    hostname, server_id, token = pushing
    tab.sign_in()
    tab.show("instances")
    before = figure(tab.cloud)
    button = f"button[aria-label='Disconnect {hostname}']"

    tab.page.click(button)
    tab.page.wait_for_selector("dialog[open][role=alertdialog]")
    tab.page.keyboard.press("Escape")  # changed their mind
    tab.page.wait_for_selector("dialog", state="detached")
    assert tab.page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        f"Disconnect {hostname}"
    ), "focus returns to the button that opened the dialog"
    assert figure(tab.cloud) == before

    tab.page.click(button)
    tab.page.click("dialog[open] [data-confirm]")
    message = tab.page.wait_for_selector("#instance-message:has-text('Disconnected')")
    assert message is not None
    after = figure(tab.cloud)
    assert after == before - 4  # the four persons only that instance had
    assert f"Consumed licenses: {after} (was {before})" in message.inner_text()
    assert shown_figure(tab) == after
    assert tab.page.query_selector(button) is None
    listed = tab.cloud.api("/enterprise/licenses").json()["server_instances"]
    assert server_id not in [i["server_id"] for i in listed]
    assert push(tab.cloud, token, server_id, 2, 4).status_code == 401


def test_dialogs_keep_the_keyboard_inside_and_give_focus_back(tab: Tab) -> None:
    tab.sign_in()
    tab.show("instances")
    tab.page.focus("#connect-instance")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("dialog[open]")
    assert tab.page.evaluate("document.activeElement.id") == "connect-hostname"
    for _ in range(12):
        tab.page.keyboard.press("Tab")
        inside = tab.page.evaluate(
            "document.activeElement === document.body || !!document.activeElement.closest('dialog')"
        )
        assert inside, "Tab left the open dialog"
    tab.page.keyboard.press("Escape")
    tab.page.wait_for_selector("dialog", state="detached")
    assert tab.page.evaluate("document.activeElement.id") == "connect-instance"


def test_instances_fit_a_phone_with_a_dialog_open(phone: Tab) -> None:
    phone.sign_in()
    phone.show("instances")
    assert phone.page.is_visible("#usage-file")
    phone.page.click("#connect-instance")
    phone.page.wait_for_selector("dialog[open]")
    overflow = phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow}px wider than a phone"
    dialog_width = phone.page.evaluate(
        "document.querySelector('dialog').getBoundingClientRect().right"
    )
    assert dialog_width <= 375
    assert_accessible(phone.page, "the connect dialog on a phone")
