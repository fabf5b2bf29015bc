"""CloudWatch Logs over AWS JSON 1.1 (``X-Amz-Target: Logs_20140328.<Operation>``): adapters only.

Each handler turns the request (the botocore ``logs`` model's shape) into a call on
``service.py`` and returns the model's output shape. Enough of the API for the SDKs, the AWS CLI
(``aws logs describe-log-streams``, ``get-log-events``, ``filter-log-events`` and CLI v2's
``aws logs tail``) and infrastructure tools (Terraform's ``aws_cloudwatch_log_group``: create,
describe, retention, tags, delete).
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/Welcome.html
"""

from __future__ import annotations

from typing import Any

from eventmesh.services.logs import service as logs
from eventmesh.services.logs.errors import InvalidParameterException, group_not_found
from eventmesh.services.logs.groups import LogGroup
from eventmesh.wire.service import RequestContext, Service
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["service"]


def _validation_error(problems: list[Problem]) -> InvalidParameterException:
    """CloudWatch Logs answers model violations as InvalidParameterException, in the common wording."""
    return InvalidParameterException(validation_exception(problems).message)


service = Service("logs", validation_error=_validation_error)


def _group_by_arn(ctx: RequestContext, arn: str) -> LogGroup:
    group = ctx.mesh.find(arn[:-2] if arn.endswith(":*") else arn, LogGroup)
    if group is None:
        raise group_not_found()
    return group


@service.operation("CreateLogGroup")
def create_log_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.create_log_group(ctx.mesh, params["logGroupName"], params.get("tags"))
    return None


@service.operation("DeleteLogGroup")
def delete_log_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.delete_log_group(ctx.mesh, params["logGroupName"])
    return None


@service.operation("DescribeLogGroups")
def describe_log_groups(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return logs.describe_log_groups(ctx.mesh, params)


@service.operation("CreateLogStream")
def create_log_stream(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.create_log_stream(ctx.mesh, params["logGroupName"], params["logStreamName"])
    return None


@service.operation("DeleteLogStream")
def delete_log_stream(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.delete_log_stream(ctx.mesh, params["logGroupName"], params["logStreamName"])
    return None


@service.operation("DescribeLogStreams")
def describe_log_streams(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return logs.describe_log_streams(ctx.mesh, params)


@service.operation("PutLogEvents")
def put_log_events(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return logs.put_log_events(ctx.mesh, params["logGroupName"], params["logStreamName"], params["logEvents"])


@service.operation("GetLogEvents")
def get_log_events(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return logs.get_log_events(ctx.mesh, params)


@service.operation("FilterLogEvents")
def filter_log_events(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return logs.filter_log_events(ctx.mesh, params)


@service.operation("PutRetentionPolicy")
def put_retention_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.put_retention_policy(ctx.mesh, params["logGroupName"], params["retentionInDays"])
    return None


@service.operation("DeleteRetentionPolicy")
def delete_retention_policy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.put_retention_policy(ctx.mesh, params["logGroupName"], None)
    return None


# -- tags (the ARN forms and the older log-group-name forms) --------------------------------------

@service.operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _group_by_arn(ctx, params["resourceArn"]).tags.update(params["tags"])
    return None


@service.operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    group = _group_by_arn(ctx, params["resourceArn"])
    for key in params["tagKeys"]:
        group.tags.pop(key, None)
    return None


@service.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"tags": dict(_group_by_arn(ctx, params["resourceArn"]).tags)}


@service.operation("TagLogGroup")
def tag_log_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    logs.find_group(ctx.mesh, params["logGroupName"]).tags.update(params["tags"])
    return None


@service.operation("UntagLogGroup")
def untag_log_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    group = logs.find_group(ctx.mesh, params["logGroupName"])
    for key in params["tags"]:
        group.tags.pop(key, None)
    return None


@service.operation("ListTagsLogGroup")
def list_tags_log_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"tags": dict(logs.find_group(ctx.mesh, params["logGroupName"]).tags)}
