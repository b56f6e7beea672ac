"""deploy/grafana/license-sync.json: a dashboard Grafana can import or provision as it is,
whose queries Prometheus can parse."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.deploy.promql import grafana_to_promql
from tests.deploy.queries import dashboard, dashboard_expressions, panels

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def test_dashboard_queries_parse_in_promtool(promtool: Path, tmp_path: Path) -> None:
    expressions = dashboard_expressions(dashboard())
    rules = [
        {"record": f"dashboard:query_{number}", "expr": grafana_to_promql(expr)}
        for number, (_, expr) in enumerate(expressions)
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(expressions)} rules found" in done.stdout


def test_every_panel_queries_the_chosen_prometheus() -> None:
    document = dashboard()
    variables = {variable["name"] for variable in document["templating"]["list"]}
    assert {"datasource", "enterprise", "agent"} <= variables
    for panel in panels(document):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(set(refs)) == len(refs), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    document = dashboard()
    assert document["uid"] == "license-sync"
    ids = [panel["id"] for panel in panels(document)]
    assert len(set(ids)) == len(ids)
    taken: set[tuple[int, int]] = set()
    for panel in panels(document):
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
