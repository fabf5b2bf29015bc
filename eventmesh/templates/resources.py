"""Each CloudFormation resource type served here → the create call the config loader speaks.

A config resource is the request of the AWS call that creates it (``eventmesh/config.py``), so a
template resource becomes that same request: ``AWS::SQS::Queue`` → CreateQueue, and so on. Both
then share one validation and one set of handlers. Each entry also knows the physical name the
resource gets (its name property, else its logical id, as a stack deployed here names it) and
what ``Ref`` and ``Fn::GetAtt`` return for it.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventmesh.arn import format_arn

__all__ = ["IGNORED_TYPES", "KINDS", "Item", "Kind", "build_items", "url_target"]

# (service, key under resources.<service>, params): one request of a create call.
Item = tuple[str, str, dict[str, Any]]

# Types whose only effect on AWS is permission: eventmesh checks no IAM or resource policy.
IGNORED_TYPES = frozenset({
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::Lambda::Permission",
    "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::Events::EventBusPolicy",
    "AWS::Logs::LogGroup", "AWS::CloudFormation::WaitConditionHandle",
})

_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue", "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "MaximumMessageSize", "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds", "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled",
    "VisibilityTimeout")
_TOPIC_ATTRIBUTES = ("ArchivePolicy", "ContentBasedDeduplication", "DisplayName", "FifoTopic",
                     "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "FifoThroughputScope")
_SUBSCRIPTION_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                            "RedrivePolicy", "ReplayPolicy", "SubscriptionRoleArn")
_FUNCTION_MEMBERS = ("Architectures", "DeadLetterConfig", "Description", "Environment", "EphemeralStorage",
                     "FunctionName", "Handler", "ImageConfig", "KmsKeyArn", "Layers", "LoggingConfig",
                     "MemorySize", "PackageType", "Role", "Runtime", "SnapStart", "Timeout", "TracingConfig",
                     "VpcConfig", "FileSystemConfigs")
_MAPPING_MEMBERS = ("BatchSize", "BisectBatchOnFunctionError", "DestinationConfig", "Enabled",
                    "EventSourceArn", "FilterCriteria", "FunctionName", "FunctionResponseTypes", "KmsKeyArn",
                    "MaximumBatchingWindowInSeconds", "MaximumRecordAgeInSeconds", "MaximumRetryAttempts",
                    "MetricsConfig", "ParallelizationFactor", "ScalingConfig", "StartingPosition",
                    "StartingPositionTimestamp", "TumblingWindowInSeconds", "ProvisionedPollerConfig")
_TARGET_MEMBERS = ("Arn", "DeadLetterConfig", "HttpParameters", "Id", "Input", "InputPath", "InputTransformer",
                   "KinesisParameters", "RetryPolicy", "RoleArn", "SqsParameters")
# Properties accepted with no effect here (deploy-time or IAM settings), per type.
_NO_EFFECT = {
    "AWS::SQS::Queue": {"Tags"},
    # CodeSigningConfigArn: a template's AWS::Lambda::CodeSigningConfig is not created (its id is
    # drawn at creation, so the template cannot name it); the API serves code signing.
    "AWS::Lambda::Function": {"Tags", "Code", "ReservedConcurrentExecutions", "RuntimeManagementConfig",
                              "RecursiveLoop", "CodeSigningConfigArn"},
    "AWS::Kinesis::Stream": {"Tags", "RetentionPeriodHours", "StreamEncryption"},
    "AWS::Events::EventBus": {"Tags", "Policy"},
    "AWS::SNS::Topic": {"Tags", "Subscription", "DeliveryStatusLogging", "DataProtectionPolicy"},
    "AWS::Lambda::Version": {"CodeSha256", "ProvisionedConcurrencyConfig", "RuntimePolicy"},
    "AWS::Lambda::Alias": {"RoutingConfig"},
    "AWS::Lambda::EventSourceMapping": {"Tags"},
    "AWS::SNS::Subscription": {"Region"},
}


class Kind:
    """How one resource type is named, referenced and created."""

    def __init__(self, name_property: str | None, ref: str, attributes: dict[str, str],
                 build: Callable[[Any, str, dict[str, Any]], list[Item]], known: tuple[str, ...] = ()) -> None:
        self.name_property = name_property
        self.ref = ref                  # an attribute name, or "name"
        self.attributes = attributes    # attribute → "name", "arn", "url", "version", ...
        self.build = build
        self.known = set(known) | {p for p in (name_property,) if p}


def _tags_map(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in value or [] if isinstance(t, dict) and "Key" in t}


def _pick(props: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: props[k] for k in names if k in props}


def _queue(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params: dict[str, Any] = {"QueueName": stack.name(logical_id), "Attributes": _pick(props, _QUEUE_ATTRIBUTES)}
    if props.get("Tags"):
        params["tags"] = _tags_map(props["Tags"])
    return [("sqs", "queues", params)]


def _topic(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params: dict[str, Any] = {"Name": stack.name(logical_id), "Attributes": _pick(props, _TOPIC_ATTRIBUTES)}
    if props.get("Tags"):
        params["Tags"] = [{"Key": k, "Value": v} for k, v in _tags_map(props["Tags"]).items()]
    items: list[Item] = [("sns", "topics", params)]
    arn = stack.attribute(logical_id, "arn")
    for sub in props.get("Subscription") or []:
        items.append(("sns", "subscriptions", {"TopicArn": arn, **_pick(sub, ("Protocol", "Endpoint"))}))
    return items


def _subscription(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = _pick(props, ("TopicArn", "Protocol", "Endpoint"))
    attributes = _pick(props, _SUBSCRIPTION_ATTRIBUTES)
    if attributes:
        params["Attributes"] = attributes
    return [("sns", "subscriptions", params)]


def _stream(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params: dict[str, Any] = {"StreamName": stack.name(logical_id), **_pick(props, ("StreamModeDetails",))}
    on_demand = (props.get("StreamModeDetails") or {}).get("StreamMode") == "ON_DEMAND"
    if not on_demand:
        params["ShardCount"] = props.get("ShardCount", 1)  # CloudFormation's default: one shard
    if props.get("Tags"):
        params["Tags"] = _tags_map(props["Tags"])
    if "RetentionPeriodHours" in props:
        params["RetentionPeriodHours"] = props["RetentionPeriodHours"]  # a follow-up call (config.py)
    return [("kinesis", "streams", params)]


def _function(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = {"FunctionName": stack.name(logical_id), **_pick(props, _FUNCTION_MEMBERS)}
    params["FunctionName"] = stack.name(logical_id)
    params["Code"] = stack.code(logical_id, props.get("Code") or {}, props.get("Runtime"))
    if props.get("Tags"):
        params["Tags"] = _tags_map(props["Tags"])
    if "ReservedConcurrentExecutions" in props:
        params["ReservedConcurrentExecutions"] = props["ReservedConcurrentExecutions"]  # follow-up
    return [("lambda", "functions", params)]


_LAYER_MEMBERS = ("LayerName", "Content", "Description", "CompatibleRuntimes", "CompatibleArchitectures",
                  "LicenseInfo")


def _layer(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = {"LayerName": stack.name(logical_id), **_pick(props, _LAYER_MEMBERS[2:])}
    params["Content"] = stack.code(logical_id, props.get("Content") or {}, None)
    return [("lambda", "layers", params)]


def _version(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    return [("lambda", "versions", _pick(props, ("FunctionName", "Description")))]


def _alias(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = _pick(props, ("FunctionName", "Name", "FunctionVersion", "Description",
                           "ProvisionedConcurrencyConfig"))
    weights = (props.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    if weights:
        params["RoutingConfig"] = {"AdditionalVersionWeights": {
            str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}}
    return [("lambda", "aliases", params)]


def _mapping(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = _pick(props, _MAPPING_MEMBERS)
    if props.get("Tags"):
        params["Tags"] = _tags_map(props["Tags"])
    return [("lambda", "event_source_mappings", params)]


_URL_MEMBERS = ("TargetFunctionArn", "Qualifier", "AuthType", "Cors", "InvokeMode")


def _url(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    function, qualifier = url_target(props)
    params: dict[str, Any] = {"FunctionName": function, **_pick(props, _URL_MEMBERS[2:])}
    if qualifier:
        params["Qualifier"] = qualifier
    return [("lambda", "function_urls", params)]


def url_target(props: dict[str, Any]) -> tuple[str, str | None]:
    """An ``AWS::Lambda::Url``'s function (a name or ARN, without its qualifier) and alias."""
    target = str(props.get("TargetFunctionArn", ""))
    qualifier = props.get("Qualifier")
    parts = target.split(":")
    if target.startswith("arn:") and len(parts) == 8:
        return ":".join(parts[:7]), str(qualifier or parts[7])
    return target, None if qualifier is None else str(qualifier)


def _invoke_config(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    return [("lambda", "event_invoke_configs", _pick(props, (
        "FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")))]


def _bus_name(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("arn:") and "event-bus/" in value:
        return value.split("event-bus/", 1)[1]
    return value


def _bus(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = _pick(props, ("Name", "Description", "DeadLetterConfig", "KmsKeyIdentifier", "EventSourceName"))
    if props.get("Tags"):
        params["Tags"] = [{"Key": k, "Value": v} for k, v in _tags_map(props["Tags"]).items()]
    return [("events", "buses", params)]


def _rule(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    params = {"Name": stack.name(logical_id),
              **_pick(props, ("EventPattern", "ScheduleExpression", "State", "Description", "RoleArn"))}
    if props.get("EventBusName"):
        params["EventBusName"] = _bus_name(props["EventBusName"])
    targets = [_pick(t, _TARGET_MEMBERS) for t in props.get("Targets") or [] if isinstance(t, dict)]
    if targets:
        params["Targets"] = targets
    return [("events", "rules", params)]


def _schedule(stack: Any, logical_id: str, props: dict[str, Any]) -> list[Item]:
    """EventBridge Scheduler's schedule, served as a scheduled rule on the default bus (rate and
    cron expressions; the rule invokes the target with the schedule's Input)."""
    expression = str(props.get("ScheduleExpression", ""))
    if expression.startswith("at("):
        stack.problem(logical_id, "ScheduleExpression", "one-time at() schedules are not served here")
        return []
    zone = props.get("ScheduleExpressionTimezone")
    if zone not in (None, "UTC", "Etc/UTC"):
        stack.note(f"{logical_id}: schedule runs in UTC here, not {zone}")
    if props.get("StartDate") or props.get("EndDate"):
        stack.note(f"{logical_id}: StartDate/EndDate are not applied here; the schedule runs from start-up")
    if (props.get("FlexibleTimeWindow") or {}).get("Mode") == "FLEXIBLE":
        stack.note(f"{logical_id}: a flexible time window runs at the exact times here")
    target = props.get("Target") or {}
    rule_target = {"Id": "scheduler-target", **_pick(target, ("Arn", "Input", "SqsParameters", "KinesisParameters"))}
    retry = target.get("RetryPolicy")
    if isinstance(retry, dict):
        rule_target["RetryPolicy"] = _pick(retry, ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"))
    if isinstance(target.get("DeadLetterConfig"), dict) and target["DeadLetterConfig"].get("Arn"):
        rule_target["DeadLetterConfig"] = {"Arn": target["DeadLetterConfig"]["Arn"]}
    params = {"Name": stack.name(logical_id), "ScheduleExpression": expression,
              "State": props.get("State", "ENABLED"), "Targets": [rule_target]}
    if props.get("Description"):
        params["Description"] = props["Description"]
    return [("events", "rules", params)]


KINDS: dict[str, Kind] = {
    "AWS::SQS::Queue": Kind("QueueName", "url", {"Arn": "arn", "QueueName": "name", "QueueUrl": "url"}, _queue,
                            _QUEUE_ATTRIBUTES),
    "AWS::SNS::Topic": Kind("TopicName", "arn", {"TopicArn": "arn", "TopicName": "name"}, _topic,
                            _TOPIC_ATTRIBUTES),
    "AWS::SNS::Subscription": Kind(None, "arn", {"Arn": "arn"}, _subscription,
                                   ("TopicArn", "Protocol", "Endpoint", *_SUBSCRIPTION_ATTRIBUTES)),
    "AWS::Kinesis::Stream": Kind("Name", "name", {"Arn": "arn"}, _stream, ("ShardCount", "StreamModeDetails")),
    "AWS::Lambda::Function": Kind("FunctionName", "name", {"Arn": "arn"}, _function, _FUNCTION_MEMBERS),
    "AWS::Lambda::LayerVersion": Kind("LayerName", "arn", {"LayerVersionArn": "arn"}, _layer, _LAYER_MEMBERS),
    "AWS::Lambda::Version": Kind(None, "arn", {"Version": "version", "FunctionArn": "function_arn"}, _version,
                                 ("FunctionName", "Description")),
    "AWS::Lambda::Alias": Kind("Name", "arn", {"AliasArn": "arn"}, _alias,
                               ("FunctionName", "FunctionVersion", "Description", "ProvisionedConcurrencyConfig")),
    "AWS::Lambda::EventSourceMapping": Kind(None, "name", {"Id": "name", "EventSourceMappingArn": "arn"},
                                            _mapping, _MAPPING_MEMBERS),
    "AWS::Lambda::Url": Kind(None, "url_function_arn", {"FunctionArn": "url_function_arn", "FunctionUrl": "url"},
                             _url, _URL_MEMBERS),
    "AWS::Lambda::EventInvokeConfig": Kind(None, "name", {}, _invoke_config, (
        "FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")),
    "AWS::Events::EventBus": Kind("Name", "name", {"Arn": "arn", "Name": "name"}, _bus,
                                  ("Description", "DeadLetterConfig", "KmsKeyIdentifier", "EventSourceName")),
    "AWS::Events::Rule": Kind("Name", "rule_ref", {"Arn": "arn"}, _rule, (
        "EventBusName", "EventPattern", "ScheduleExpression", "State", "Description", "RoleArn", "Targets")),
    "AWS::Scheduler::Schedule": Kind("Name", "name", {"Arn": "arn"}, _schedule, (
        "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "State",
        "Description", "StartDate", "EndDate", "KmsKeyArn", "Target")),
}


def build_items(stack: Any, logical_id: str, kind_name: str, props: dict[str, Any]) -> list[Item]:
    """The create-call requests of one resource; unsupported properties are problems, as
    CloudFormation refuses them."""
    kind = KINDS[kind_name]
    allowed = kind.known | _NO_EFFECT.get(kind_name, set())
    for key in props:
        if key not in allowed:
            stack.problem(logical_id, key, f"unsupported property for {kind_name}")
    return kind.build(stack, logical_id, props)


def arn_for(kind_name: str, region: str, account_id: str, name: str, *, bus: str | None = None,
            function: str | None = None) -> str:
    """The ARN a resource of this type and physical name has."""
    match kind_name:
        case "AWS::SQS::Queue":
            return format_arn("sqs", region, account_id, name)
        case "AWS::SNS::Topic":
            return format_arn("sns", region, account_id, name)
        case "AWS::Kinesis::Stream":
            return format_arn("kinesis", region, account_id, f"stream/{name}")
        case "AWS::Lambda::Function":
            return format_arn("lambda", region, account_id, f"function:{name}")
        case "AWS::Lambda::Alias":
            return format_arn("lambda", region, account_id, f"function:{function}:{name}")
        case "AWS::Lambda::EventSourceMapping":
            return format_arn("lambda", region, account_id, f"event-source-mapping:{name}")
        case "AWS::Events::EventBus":
            return format_arn("events", region, account_id, f"event-bus/{name}")
        case "AWS::Events::Rule":
            resource = f"rule/{name}" if bus in (None, "default") else f"rule/{bus}/{name}"
            return format_arn("events", region, account_id, resource)
        case "AWS::Scheduler::Schedule":
            return format_arn("scheduler", region, account_id, f"schedule/default/{name}")
        case "AWS::Lambda::LayerVersion":   # the first version a PublishLayerVersion makes
            return format_arn("lambda", region, account_id, f"layer:{name}:1")
        case "AWS::IAM::Role":
            return format_arn("iam", "", account_id, f"role/{name}")
    service = kind_name.split("::")[1].lower() if kind_name.count("::") == 2 else "unknown"
    return format_arn(service, region, account_id, name)
