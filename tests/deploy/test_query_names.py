"""Every metric and label named by the alert rules and the Grafana dashboard is one the
services really export (read from their /metrics after a real sync: tests/deploy/exported.py)."""

from __future__ import annotations

import pytest

from tests.deploy.exported import TARGET_LABELS, Exported
from tests.deploy.promql import names
from tests.deploy.queries import (
    alert_expressions,
    dashboard,
    dashboard_expressions,
    problems,
    variable_queries,
)


def test_the_scrape_saw_both_services_and_every_event(exported: Exported) -> None:
    # What the checks below compare with: if the scrape missed a service or an event, a
    # name could be wrongly reported as not exported.
    for name in (
        "license_sync_cloud_ready",
        "license_sync_cloud_reports_refused_total",
        "license_sync_cloud_instance_last_report_timestamp_seconds",
        "license_sync_cloud_http_request_duration_seconds_bucket",
        "license_sync_agent_ready",
        "license_sync_agent_last_success_timestamp_seconds",
        "license_sync_agent_last_failure_timestamp_seconds",
        "license_sync_agent_http_requests_total",
    ):
        assert name in exported


def test_alert_rules_name_only_exported_series(exported: Exported) -> None:
    found = {where: problems(expr, exported) for where, expr in alert_expressions()}
    assert {where: found for where, found in found.items() if found} == {}
    assert len(found) == 8


def test_dashboard_queries_name_only_exported_series(exported: Exported) -> None:
    document = dashboard()
    found = {where: problems(expr, exported) for where, expr in dashboard_expressions(document)}
    assert {where: found for where, found in found.items() if found} == {}
    for variable, metric, label in variable_queries(document):
        assert metric in exported, variable
        assert label in exported[metric] | TARGET_LABELS, variable


def test_dashboard_shows_what_operators_watch() -> None:
    shown = set().union(*(names(expr).metrics for _, expr in dashboard_expressions(dashboard())))
    for prefix in ("license_sync_cloud", "license_sync_agent"):
        assert f"{prefix}_http_requests_total" in shown
        assert f"{prefix}_http_request_duration_seconds_bucket" in shown
        assert f"{prefix}_ready" in shown
    assert shown >= {
        "license_sync_cloud_seats_consumed",
        "license_sync_cloud_seats_purchased",
        "license_sync_cloud_reports_applied",
        "license_sync_cloud_reports_refused_total",
        "license_sync_cloud_ingest_duration_seconds_bucket",
        "license_sync_cloud_report_users_sum",
        "license_sync_cloud_instance_last_report_timestamp_seconds",
        "license_sync_agent_syncs_total",
        "license_sync_agent_last_success_timestamp_seconds",
        "license_sync_agent_pending_reports",
    }


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("license_sync_cloud_seats_consumd", "license_sync_cloud_seats_consumd is not exported"),
        (
            'sum(rate(license_sync_agent_syncs_total{outcom="failed"}[5m]))',
            "license_sync_agent_syncs_total has no label outcom",
        ),
        (
            "max by (enterprize) (license_sync_cloud_seats_consumed)",
            "no metric it names has the label enterprize it groups or joins on",
        ),
        (
            '{__name__="license_sync_agent_ready_typo"}',
            "license_sync_agent_ready_typo is not exported",
        ),
        ("time() - 5", "names no metric at all"),
    ],
)
def test_a_misspelt_name_is_caught(exported: Exported, expr: str, problem: str) -> None:
    assert problems(expr, exported) == [problem]


def test_names_reads_selectors_groupings_and_grafana_variables() -> None:
    used = names(
        'histogram_quantile(0.95, sum by (le, route) (rate(x_bucket{a="1", b=~"$v"}'
        "[$__rate_interval]))) / on(job) group_left max without (c) (y offset 5m) > bool 0.9"
        " and z[1h:5m] @ end() unless count(w) > 1e3"
    )
    assert used.metrics == {"x_bucket", "y", "z", "w"}
    assert used.matched == {"x_bucket": {"a", "b"}, "y": set(), "z": set(), "w": set()}
    assert used.grouping == {"le", "route", "job", "c"}


def test_names_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="cannot read"):
        names("x{a=1}")
    with pytest.raises(ValueError, match="cannot read"):
        names("x ? y")
