"""What a PromQL expression names: its metrics, the labels it matches on each, and the labels
it groups or joins by. A small lexer, not a parser: enough for the project's own queries, and
strict where it is unsure (anything it cannot read fails the caller's test).

promtool checks the syntax (tests/deploy/test_alert_rules.py); this checks the names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Grafana's variables: intervals become a duration, the others (only ever inside a label
# matcher's string) a regular expression that matches anything.
GRAFANA_INTERVAL = re.compile(r"\$__(?:rate_interval|interval|range)\b")
GRAFANA_VARIABLE = re.compile(r"\$(?:\{\w+\}|\w+)")

TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)
    | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<operator>=~|!~|!=|==|>=|<=|[-+*/%^=<>,(){}\[\]:@])
    """,
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "start", "end"}
# Aggregations may be followed by their grouping rather than their argument.
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count"}
AGGREGATIONS |= {"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}


@dataclass
class Names:
    metrics: set[str] = field(default_factory=set)
    matched: dict[str, set[str]] = field(default_factory=dict)
    """Per metric, the label names its selectors match on."""
    grouping: set[str] = field(default_factory=set)
    """Label names in by/without/on/ignoring/group_left/group_right."""


def grafana_to_promql(expr: str) -> str:
    return GRAFANA_VARIABLE.sub(".*", GRAFANA_INTERVAL.sub("5m", expr))


def tokens(expr: str) -> list[tuple[str, str]]:
    found = []
    position = 0
    while position < len(expr):
        match = TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read {expr[position:]!r} in {expr!r}")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            found.append((kind, match.group()))
        position = match.end()
    return found


def names(expr: str) -> Names:
    result = Names()
    items = tokens(grafana_to_promql(expr))
    index = 0
    while index < len(items):
        kind, text = items[index]
        after = items[index + 1][1] if index + 1 < len(items) else ""
        if kind == "name" and text in GROUPING:
            index = _label_list(items, index + 1, result.grouping)
            continue
        if kind == "name" and text not in KEYWORDS | AGGREGATIONS and after != "(":
            result.metrics.add(text)
            result.matched.setdefault(text, set())
            if after == "{":
                index = _matchers(items, index + 1, text, result)
                continue
        elif text == "{":  # a selector without a name outside its braces
            index = _matchers(items, index, None, result)
            continue
        elif text == "[":  # a range or a subquery's range and step: durations only
            index = [t for _, t in items].index("]", index) + 1
            continue
        index += 1
    return result


def _label_list(items: list[tuple[str, str]], index: int, into: set[str]) -> int:
    """``by (a, b)``; group_left and group_right may have no list at all."""
    if index >= len(items) or items[index][1] != "(":
        return index
    index += 1
    while items[index][1] != ")":
        kind, text = items[index]
        if kind == "name":
            into.add(text)
        elif text != ",":
            raise ValueError(f"unexpected {text!r} in a label list")
        index += 1
    return index + 1


def _matchers(items: list[tuple[str, str]], index: int, metric: str | None, into: Names) -> int:
    """``{label op "value", ...}`` from its opening brace; returns the index after it."""
    labels: set[str] = set()
    index += 1
    while items[index][1] != "}":
        (kind, label), (_, op), (value_kind, value) = items[index : index + 3]
        if kind != "name" or op not in ("=", "!=", "=~", "!~") or value_kind != "string":
            raise ValueError(f"cannot read the matcher {label} {op} {value}")
        if label == "__name__":
            metric = value[1:-1]
        else:
            labels.add(label)
        index += 3
        if items[index][1] == ",":
            index += 1
    if metric is None:
        raise ValueError("a selector without a metric name")
    into.metrics.add(metric)
    into.matched.setdefault(metric, set()).update(labels)
    return index + 1
