"""Every PromQL expression of deploy/, and what is wrong with the names one uses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY
from tests.deploy.exported import PROMETHEUS_SERIES, TARGET_LABELS, Exported
from tests.deploy.promql import names

DASHBOARD = DEPLOY / "grafana" / "license-sync.json"
LABEL_VALUES = re.compile(r"label_values\(\s*(?P<metric>[\w:]+)\s*,\s*(?P<label>\w+)\s*\)")


def alert_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [
        (rule.get("alert") or rule["record"], rule["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
    ]


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in document["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_expressions(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"{panel['title']} ({target['refId']})", target["expr"])
        for panel in panels(document)
        for target in panel.get("targets", [])
    ]


def variable_queries(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(variable, metric, label) of every ``label_values(metric, label)`` variable."""
    found = []
    for variable in document["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = LABEL_VALUES.fullmatch(text.strip())
        assert match, f"variable {variable['name']}: only label_values(metric, label) is checked"
        found.append((variable["name"], match["metric"], match["label"]))
    return found


def problems(expr: str, exported: Exported) -> list[str]:
    """Names the expression uses that no service exports; empty when all are real."""
    known = {**exported, **PROMETHEUS_SERIES}
    used = names(expr)
    found = [] if used.metrics else ["names no metric at all"]
    available = set(TARGET_LABELS)
    for metric in sorted(used.metrics):
        if metric not in known:
            found.append(f"{metric} is not exported")
            continue
        available |= known[metric]
        for label in sorted(used.matched[metric] - known[metric] - TARGET_LABELS):
            found.append(f"{metric} has no label {label}")
    for label in sorted(used.grouping - available):
        found.append(f"no metric it names has the label {label} it groups or joins on")
    return found
