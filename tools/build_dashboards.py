"""Writes the Grafana dashboards under ``configs/grafana/dashboards/`` (one per service and an
overview) from the panel lists below; never edit the JSON by hand, run this instead:

    .venv/bin/python tools/build_dashboards.py          # --check: exit 1 if the files are stale

Every expression uses only metric names and labels the daemon exports (``eventmesh/metrics.py``);
``tests/configs/test_dashboards.py`` checks them against a live ``/metrics``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "configs" / "grafana" / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "[$__rate_interval]"
# Function-level Lambda series: the mapping series share some names (throttles, destination
# delivery failures) and carry a mapping UUID, the function's own do not.
FN = 'function_name=~"$function", event_source_mapping_uuid=""'
DLQ = "and on (queue_name) eventmesh_sqs_dead_letter_queue"


def q(expr: str, legend: str) -> dict[str, str]:
    return {"expr": expr, "legendFormat": legend}


def panel(title: str, targets: list[dict[str, str]], unit: str = "short", kind: str = "timeseries",
          description: str = "") -> dict[str, Any]:
    return {"title": title, "type": kind, "targets": targets, "unit": unit, "description": description}


def variable(name: str, label: str, metric: str, label_name: str) -> dict[str, Any]:
    query = f"label_values({metric}, {label_name})"
    return {"name": name, "label": label, "type": "query", "datasource": DS, "query": {"query": query,
            "refId": name}, "definition": query, "refresh": 2, "multi": True, "includeAll": True,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}


def quantiles(metric: str, selector: str, by: str) -> list[dict[str, str]]:
    return [q(f"histogram_quantile({p}, sum by (le, {by}) (rate({metric}_bucket{{{selector}}}{RATE})))",
              f"p{int(p * 100)} {{{{{by}}}}}") for p in (0.5, 0.9, 0.99)]


DASHBOARDS: dict[str, dict[str, Any]] = {
    "overview": {
        "title": "eventmesh: overview",
        "variables": [],
        "panels": [
            panel("Queue depth (visible)", [q("sum by (queue_name) (aws_sqs_approximate_number_of_messages_visible)",
                                              "{{queue_name}}")]),
            panel("Dead-letter queue depth", [q(f"aws_sqs_approximate_number_of_messages_visible {DLQ}",
                                                "{{queue_name}}")],
                  description="Queues another queue's RedrivePolicy sends to."),
            panel("Lambda invocations / s", [q(f'sum by (function_name) (rate(aws_lambda_invocations_total{RATE}))',
                                               "{{function_name}}")], "ops"),
            panel("Lambda errors and throttles / s", [
                q(f"sum(rate(aws_lambda_errors_total{RATE}))", "errors"),
                q(f'sum(rate(aws_lambda_throttles_total{{event_source_mapping_uuid=""}}{RATE}))', "throttles")],
                "ops"),
            panel("Concurrent executions", [q('aws_lambda_concurrent_executions{function_name!=""}',
                                              "{{function_name}}"),
                                            q('aws_lambda_concurrent_executions{function_name=""}', "account")]),
            panel("Duration p99", [q(f"histogram_quantile(0.99, sum by (le, function_name) "
                                     f"(rate(aws_lambda_duration_seconds_bucket{RATE})))", "{{function_name}}")], "s"),
            panel("Iterator age per mapping", [q("aws_lambda_iterator_age_seconds",
                                                 "{{event_source_name}} → {{function_name}}")], "s"),
            panel("EventBridge matched events / s", [q(f"sum by (event_bus_name) (rate(aws_events_matched_events_total{RATE}))",
                                                      "{{event_bus_name}}")], "ops"),
            panel("SNS deliveries and failures / s", [
                q(f"sum(rate(aws_sns_number_of_notifications_delivered_total{RATE}))", "delivered"),
                q(f"sum(rate(aws_sns_number_of_notifications_failed_total{RATE}))", "failed")], "ops"),
        ],
    },
    "sqs": {
        "title": "eventmesh: SQS",
        "variables": [variable("queue", "queue", "aws_sqs_approximate_number_of_messages_visible", "queue_name")],
        "panels": [
            panel("Visible messages", [q('aws_sqs_approximate_number_of_messages_visible{queue_name=~"$queue"}',
                                         "{{queue_name}}")]),
            panel("In flight", [q('aws_sqs_approximate_number_of_messages_not_visible{queue_name=~"$queue"}',
                                  "{{queue_name}}")]),
            panel("Delayed", [q('aws_sqs_approximate_number_of_messages_delayed{queue_name=~"$queue"}',
                                "{{queue_name}}")]),
            panel("Age of oldest message", [q('aws_sqs_approximate_age_of_oldest_message_seconds{queue_name=~"$queue"}',
                                              "{{queue_name}}")], "s"),
            panel("Dead-letter queue depth", [q(
                f'aws_sqs_approximate_number_of_messages_visible{{queue_name=~"$queue"}} {DLQ}', "{{queue_name}}")]),
            panel("Sent / received / deleted per s", [
                q(f'sum by (queue_name) (rate(aws_sqs_number_of_messages_sent_total{{queue_name=~"$queue"}}{RATE}))',
                  "sent {{queue_name}}"),
                q(f'sum by (queue_name) (rate(aws_sqs_number_of_messages_received_total{{queue_name=~"$queue"}}{RATE}))',
                  "received {{queue_name}}"),
                q(f'sum by (queue_name) (rate(aws_sqs_number_of_messages_deleted_total{{queue_name=~"$queue"}}{RATE}))',
                  "deleted {{queue_name}}")], "ops"),
            panel("Empty receives per s", [q(
                f'rate(aws_sqs_number_of_empty_receives_total{{queue_name=~"$queue"}}{RATE})', "{{queue_name}}")], "ops"),
            panel("Bytes sent per s", [q(
                f'rate(aws_sqs_sent_message_size_bytes_total{{queue_name=~"$queue"}}{RATE})', "{{queue_name}}")], "Bps"),
        ],
    },
    "sns": {
        "title": "eventmesh: SNS",
        "variables": [variable("topic", "topic", "aws_sns_number_of_messages_published_total", "topic_name")],
        "panels": [
            panel("Published per s", [q(f'rate(aws_sns_number_of_messages_published_total{{topic_name=~"$topic"}}{RATE})',
                                        "{{topic_name}}")], "ops"),
            panel("Deliveries per s", [q(
                f'rate(aws_sns_number_of_notifications_delivered_total{{topic_name=~"$topic"}}{RATE})', "{{topic_name}}")],
                "ops"),
            panel("Failed deliveries per s", [q(
                f'rate(aws_sns_number_of_notifications_failed_total{{topic_name=~"$topic"}}{RATE})', "{{topic_name}}")],
                "ops"),
            panel("Filtered out per s", [q(
                f'rate(aws_sns_number_of_notifications_filtered_out_total{{topic_name=~"$topic"}}{RATE})',
                "{{topic_name}}")], "ops"),
            panel("Redriven to DLQ per s", [
                q(f'rate(aws_sns_number_of_notifications_redriven_to_dlq_total{{topic_name=~"$topic"}}{RATE})',
                  "redriven {{topic_name}}"),
                q(f'rate(aws_sns_number_of_notifications_failed_to_redrive_to_dlq_total{{topic_name=~"$topic"}}{RATE})',
                  "failed to redrive {{topic_name}}")], "ops"),
            panel("Published bytes per s", [q(f'rate(aws_sns_publish_size_bytes_total{{topic_name=~"$topic"}}{RATE})',
                                              "{{topic_name}}")], "Bps"),
        ],
    },
    "kinesis": {
        "title": "eventmesh: Kinesis",
        "variables": [variable("stream", "stream", "aws_kinesis_incoming_records_total", "stream_name")],
        "panels": [
            panel("Incoming records per s", [q(f'rate(aws_kinesis_incoming_records_total{{stream_name=~"$stream"}}{RATE})',
                                               "{{stream_name}}")], "ops"),
            panel("Incoming bytes per s", [q(f'rate(aws_kinesis_incoming_bytes_total{{stream_name=~"$stream"}}{RATE})',
                                             "{{stream_name}}")], "Bps"),
            panel("Incoming records per shard per s", [q(
                f'rate(aws_kinesis_shard_incoming_records_total{{stream_name=~"$stream"}}{RATE})',
                "{{stream_name}} {{shard_id}}")], "ops"),
            panel("GetRecords iterator age", [q('aws_kinesis_get_records_iterator_age_seconds{stream_name=~"$stream"}',
                                                "{{stream_name}}")], "s"),
            panel("Iterator age per mapping", [q('aws_lambda_iterator_age_seconds{event_source_name=~"$stream"}',
                                                 "{{function_name}} ({{event_source_mapping_uuid}})")], "s"),
            panel("Iterator age per mapping and shard", [q(
                'aws_lambda_event_source_mapping_shard_iterator_age_seconds{event_source_name=~"$stream"}',
                "{{function_name}} {{shard_id}}")], "s"),
            panel("Offset lag per mapping and shard", [q(
                'aws_lambda_event_source_mapping_shard_offset_lag{event_source_name=~"$stream"}',
                "{{function_name}} {{shard_id}}")]),
            panel("Throttled records per s", [
                q(f'rate(aws_kinesis_put_records_throttled_records_total{{stream_name=~"$stream"}}{RATE})',
                  "PutRecords {{stream_name}}"),
                q(f'rate(aws_kinesis_read_provisioned_throughput_exceeded_total{{stream_name=~"$stream"}}{RATE})',
                  "reads {{stream_name}}")], "ops"),
        ],
    },
    "events": {
        "title": "eventmesh: EventBridge",
        "variables": [variable("bus", "bus", "aws_events_matched_events_total", "event_bus_name"),
                      variable("rule", "rule", "aws_events_invocations_total", "rule_name")],
        "panels": [
            panel("PutEvents matched per s", [q(
                f'rate(aws_events_matched_events_total{{event_bus_name=~"$bus"}}{RATE})', "{{event_bus_name}}")], "ops"),
            panel("Rule invocations per s", [q(
                f'rate(aws_events_invocations_total{{event_bus_name=~"$bus", rule_name=~"$rule"}}{RATE})',
                "{{event_bus_name}}/{{rule_name}}")], "ops"),
            panel("Failed invocations per rule per s", [q(
                f'rate(aws_events_failed_invocations_total{{event_bus_name=~"$bus", rule_name=~"$rule"}}{RATE})',
                "{{event_bus_name}}/{{rule_name}}")], "ops"),
            panel("Triggered rules per s", [q(
                f'rate(aws_events_triggered_rules_total{{event_bus_name=~"$bus", rule_name=~"$rule"}}{RATE})',
                "{{event_bus_name}}/{{rule_name}}")], "ops"),
            panel("Sent to DLQ per s", [
                q(f'rate(aws_events_invocations_sent_to_dlq_total{{event_bus_name=~"$bus", rule_name=~"$rule"}}{RATE})',
                  "sent {{rule_name}}"),
                q(f'rate(aws_events_invocations_failed_to_be_sent_to_dlq_total{{event_bus_name=~"$bus", '
                  f'rule_name=~"$rule"}}{RATE})', "failed {{rule_name}}")], "ops"),
            panel("Ingestion to invocation start latency", quantiles(
                "aws_events_ingestion_to_invocation_start_latency_seconds", 'event_bus_name=~"$bus"',
                "event_bus_name"), "s"),
        ],
    },
    "lambda": {
        "title": "eventmesh: Lambda",
        "variables": [variable("function", "function", "aws_lambda_invocations_total", "function_name")],
        "panels": [
            panel("Invocations per s", [q(f"rate(aws_lambda_invocations_total{{{FN}}}{RATE})", "{{function_name}}")],
                  "ops"),
            panel("Errors per s", [q(f"rate(aws_lambda_errors_total{{{FN}}}{RATE})", "{{function_name}}")], "ops"),
            panel("Throttles per s", [q(f"rate(aws_lambda_throttles_total{{{FN}}}{RATE})", "{{function_name}}")],
                  "ops"),
            panel("Concurrent executions", [q(f"aws_lambda_concurrent_executions{{{FN}}}", "{{function_name}}")]),
            panel("Duration", quantiles("aws_lambda_duration_seconds", FN, "function_name"), "s"),
            panel("Async event age", quantiles("aws_lambda_async_event_age_seconds", FN, "function_name"), "s"),
            panel("Async events received and dropped per s", [
                q(f"rate(aws_lambda_async_events_received_total{{{FN}}}{RATE})", "received {{function_name}}"),
                q(f"rate(aws_lambda_async_events_dropped_total{{{FN}}}{RATE})", "dropped {{function_name}}")], "ops"),
            panel("Dead-letter and destination delivery failures per s", [
                q(f"rate(aws_lambda_dead_letter_errors_total{{{FN}}}{RATE})", "DLQ {{function_name}}"),
                q(f"rate(aws_lambda_destination_delivery_failures_total{{{FN}}}{RATE})",
                  "destinations {{function_name}}")], "ops"),
            panel("Event source mappings: events per s", [
                q(f'sum by (function_name, event_source_name) (rate(aws_lambda_invoked_event_count_total'
                  f'{{function_name=~"$function"}}{RATE}))', "invoked {{event_source_name}} → {{function_name}}"),
                q(f'sum by (function_name, event_source_name) (rate(aws_lambda_failed_invoke_event_count_total'
                  f'{{function_name=~"$function"}}{RATE}))', "failed {{event_source_name}} → {{function_name}}"),
                q(f'sum by (function_name, event_source_name) (rate(aws_lambda_dropped_event_count_total'
                  f'{{function_name=~"$function"}}{RATE}))', "dropped {{event_source_name}} → {{function_name}}")],
                "ops"),
            panel("Iterator age per mapping", [q('aws_lambda_iterator_age_seconds{function_name=~"$function"}',
                                                 "{{event_source_name}} → {{function_name}}")], "s"),
        ],
    },
}


def _grafana(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    panels = []
    for i, p in enumerate(spec["panels"]):
        targets = [{**t, "refId": chr(ord("A") + j), "datasource": DS} for j, t in enumerate(p["targets"])]
        panels.append({"id": i + 1, "title": p["title"], "type": p["type"], "datasource": DS,
                       "description": p["description"], "targets": targets,
                       "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                       "fieldConfig": {"defaults": {"unit": p["unit"]}, "overrides": []},
                       "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                                   "tooltip": {"mode": "multi", "sort": "desc"}}})
    datasource = {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0, "refresh": 1}
    return {
        "uid": f"eventmesh-{key}", "title": spec["title"], "tags": ["eventmesh"], "timezone": "browser",
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "links": [{"type": "dashboards", "tags": ["eventmesh"], "asDropdown": True, "title": "eventmesh",
                   "includeVars": False, "keepTime": True}],
        "templating": {"list": [datasource, *spec["variables"]]},
        "panels": panels,
    }


def render() -> dict[str, str]:
    return {f"{key}.json": json.dumps(_grafana(key, spec), indent=2, ensure_ascii=False) + "\n"
            for key, spec in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [name for name, text in files.items()
                 if not (OUT / name).exists() or (OUT / name).read_text() != text]
        for name in stale:
            print(f"{OUT / name} is stale: run tools/build_dashboards.py")
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
