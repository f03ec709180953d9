"""The example alert rules (deploy/prometheus/alerts.yml) are valid rule files of the shape Prometheus loads,
and their live rules use only metrics the app exports; the rules kept for later name metrics it does not."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

from emporium.core.db import utcnow
from emporium.core.metrics import REGISTRY, Backlog

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bemporium_[a-z_]+\b")
DURATION = re.compile(r"\d+[smhdwy]")


SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}


def exported_metrics() -> set[str]:
    """Every series name /metrics exports: a counter's ``_total``, a histogram's buckets, sum and count
    (listed from the families, since a labelled metric has no sample before its first use), and the job
    backlog's gauges."""
    names = {family.name for family in Backlog(0, None, utcnow()).collect()}  # read at each scrape
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def live_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    rules: list[dict[str, Any]] = []
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in document["groups"]:
        assert set(group) == {"name", "rules"}
        rules += group["rules"]
    return rules


def test_every_rule_has_the_shape_prometheus_loads() -> None:
    rules = live_rules()
    assert {"EmporiumHigh5xxRate", "EmporiumDeadJobs", "EmporiumPaymentFailures"} <= {
        rule["alert"] for rule in rules
    }
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"]), rule["alert"]
        assert isinstance(rule["expr"], str)
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        assert rule["expr"].count("{") == rule["expr"].count("}"), rule["alert"]
        if "for" in rule:
            assert DURATION.fullmatch(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_live_rules_use_only_exported_metrics_and_the_waiting_ones_do_not() -> None:
    exported = exported_metrics()
    used = {name for rule in live_rules() for name in METRIC.findall(rule["expr"])}
    assert used
    assert used <= exported, used - exported

    commented = "\n".join(line[1:] for line in RULES.read_text().splitlines() if line.startswith("#"))
    start = commented.index("  - name: emporium-awaiting-metrics")
    waiting = yaml.safe_load(textwrap.dedent(commented[start:]))
    awaited = {name for rule in waiting[0]["rules"] for name in METRIC.findall(rule["expr"])}
    assert awaited
    # Once one of these metrics exists, its rule belongs among the live ones.
    assert not awaited & exported, awaited & exported
