"""deploy/prometheus: the rules pass ``promtool check rules``, their unit tests pass
``promtool test rules`` and cover every alert firing and not firing, and each alert tells an
operator what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY

PROMETHEUS = DEPLOY / "prometheus"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PROMETHEUS / name).read_text())
    return document


def alerts() -> list[dict[str, Any]]:
    return [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]


def promtool_run(promtool: Path, *args: str) -> str:
    done = subprocess.run(
        [str(promtool), *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rules_pass_promtool_check(promtool: Path) -> None:
    output = promtool_run(promtool, "check", "rules", "alerts.yml")
    assert f"SUCCESS: {len(alerts())} rules found" in output


def test_rules_pass_their_promtool_unit_tests(promtool: Path) -> None:
    assert "SUCCESS" in promtool_run(promtool, "test", "rules", "alerts_test.yml")


def test_example_configuration_loads_the_rules(promtool: Path) -> None:
    output = promtool_run(promtool, "check", "config", "prometheus.yml")
    assert "SUCCESS: 1 rule files found" in output


def test_unit_tests_see_every_alert_fire_and_stay_quiet() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in load("alerts_test.yml")["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert fired == names
    assert quiet == names


def test_the_readiness_alerts_name_the_example_scrape_jobs() -> None:
    jobs = {job["job_name"] for job in load("prometheus.yml")["scrape_configs"]}
    expressions = {rule["alert"]: rule["expr"] for rule in alerts()}
    assert jobs == {"license-sync-cloud", "license-sync-agent"}
    assert 'up{job="license-sync-cloud"}' in expressions["LicenseSyncCloudNotReady"]
    assert 'up{job="license-sync-agent"}' in expressions["LicenseSyncAgentNotReady"]


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_severity_and_tells_what_to_do(rule: dict[str, Any]) -> None:
    assert rule["alert"].startswith("LicenseSync")
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["annotations"]["summary"].strip()
    # A description that points at something to look at or do, not just a restatement.
    description = rule["annotations"]["description"]
    assert len(description) > 150
    assert any(hint in description for hint in ("GET /", "POST /", "PATCH /", "Check"))
