"""The signed export file: from the agent's API and from its command line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from scripts.servers import ROOT
from services.ghes_agent.settings import AgentSettings
from shared import ExportFileError, parse_report, read_export, verify_export
from tests.conftest import AGENT_ADMIN_TOKEN
from tests.ghes_agent.conftest import DEFAULT_USERS, users_csv_text


async def test_export_downloads_a_signed_file_named_by_host_and_date(
    agent: httpx.AsyncClient,
) -> None:
    response = await agent.get("/license/usage/export")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="ghes.example.com-license-usage-20')
    export = read_export(response.content)
    instance = (await agent.get("/instance")).json()
    verify_export(export, instance["public_key"])  # raises if not genuine
    report = parse_report(export.report)
    assert report.header.server_id == instance["server_id"]
    assert report.user_ids == [1, 2, 3]
    assert report.header.excluded.suspended == 1


async def test_each_export_is_a_new_report(agent: httpx.AsyncClient) -> None:
    first = read_export((await agent.get("/license/usage/export")).content).report
    second = read_export((await agent.get("/license/usage/export")).content).report
    assert second["report_id"] != first["report_id"]
    assert second["sequence"] == first["sequence"] + 1


async def test_an_edited_export_no_longer_verifies(agent: httpx.AsyncClient) -> None:
    content = (await agent.get("/license/usage/export")).content
    document = json.loads(content)
    document["report"]["users"][0]["email"] = "someone-else@example.com"
    key = (await agent.get("/instance")).json()["public_key"]
    with pytest.raises(ExportFileError, match="changed after it was signed"):
        verify_export(read_export(json.dumps(document).encode()), key)


async def test_the_key_is_kept_owner_readable_only(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    mode = stat.S_IMODE((agent_settings.data_dir / "agent_ed25519.pem").stat().st_mode)
    assert mode == 0o600


async def test_export_needs_the_admin_token(agent: httpx.AsyncClient) -> None:
    response = await agent.get("/license/usage/export", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    # No report was made for the refused caller: the first real export is sequence 1.
    assert read_export((await agent.get("/license/usage/export")).content).report["sequence"] == 1


async def test_export_without_users_says_why(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    assert agent_settings.users_csv is not None
    agent_settings.users_csv.unlink()
    response = await agent.get("/license/usage/export")
    assert response.status_code == 409
    assert response.json()["error"] == "users_unavailable"
    assert "cannot read the users file" in response.json()["detail"]
    # Nothing was kept of the failed export: once the file is back, it is sequence 1.
    agent_settings.users_csv.write_text(users_csv_text(DEFAULT_USERS))
    assert read_export((await agent.get("/license/usage/export")).content).report["sequence"] == 1


def test_command_line_export_writes_the_same_kind_of_file(
    agent_settings: AgentSettings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "GHES_AGENT_DATA_DIR": str(agent_settings.data_dir),
        "GHES_AGENT_DATABASE_URL": str(agent_settings.database_url),
        "GHES_AGENT_USERS_CSV": str(agent_settings.users_csv),
        "GHES_AGENT_HOSTNAME": "ghes.example.com",
        "GHES_AGENT_ADMIN_TOKEN": AGENT_ADMIN_TOKEN,
    }
    out = tmp_path / "exports"
    out.mkdir()
    command = [sys.executable, "-m", "services.ghes_agent.cli"]
    exported = subprocess.run(
        [*command, "export", "--output", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    (written,) = out.iterdir()
    assert written.name.startswith("ghes.example.com-license-usage-")
    shown = subprocess.run(
        [*command, "instance"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    public_key = shown.stdout.split("public_key:")[1].split()[0]
    export = read_export(written.read_bytes())
    verify_export(export, public_key)
    assert export.report["sequence"] == 1
    missing = subprocess.run(
        [*command, "export"],
        env={**env, "GHES_AGENT_USERS_CSV": str(tmp_path / "nope.csv")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "cannot read the users file" in missing.stderr


def test_command_line_export_shows_a_progress_bar_while_reading_a_large_users_file(
    agent_settings: AgentSettings, tmp_path: Path
) -> None:
    users = tmp_path / "big_users.csv"
    header = "created_at,id,login,email,role,suspended?\n"
    rows = (
        f"2024-01-01 00:00:00 UTC,{n},u{n},u{n}@example.com,user,false\n" for n in range(1, 60_001)
    )
    users.write_text(header + "".join(rows))
    env = {
        **os.environ,
        "GHES_AGENT_DATA_DIR": str(agent_settings.data_dir),
        "GHES_AGENT_DATABASE_URL": str(agent_settings.database_url),
        "GHES_AGENT_USERS_CSV": str(users),
        "GHES_AGENT_HOSTNAME": "ghes.example.com",
    }
    command = [sys.executable, "-m", "services.ghes_agent.cli", "export"]

    def export(*flags: str) -> str:
        out = tmp_path / f"export{len(flags)}.json"
        done = subprocess.run(
            [*command, "-o", str(out), *flags], env=env, cwd=ROOT, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert len(read_export(out.read_bytes()).report["users"]) == 60_000
        return done.stderr.decode()  # bytes: text mode would turn the bar's \r into \n

    shown = export("--progress")
    redraws = shown.split("\r")[1:]
    assert len(redraws) >= 2, shown  # at least one step on the way, and the end
    assert all(r.startswith("reading big_users.csv [") for r in redraws)
    assert "100%" in redraws[-1]
    assert redraws[0] != redraws[-1]
    # Not a terminal and not asked for: nothing but the result, for scripts and logs.
    assert export() == ""
