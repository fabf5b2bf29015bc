"""Amazon SNS over the AWS Query protocol (``Action=<Op>&Version=2010-03-31``): adapters only.

Each handler turns the request (the botocore ``sns`` model's JSON shape: attribute maps as dicts,
``BinaryValue`` as bytes) into calls on ``topic.py`` / ``service.py`` and the
results into the model's output shape; the protocol layer writes the XML. Topics created here
carry the daemon's own URL, so SubscribeURL / UnsubscribeURL in delivered messages point back at
the daemon (a GET on them is a Query call it answers).
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from eventmesh.errors import EntryError, ServiceError
from eventmesh.services.sns import policy as policies
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.delivery import Subscription
from eventmesh.services.sns.errors import ValidationError, invalid_parameter
from eventmesh.services.sns.platform import PlatformRegistry
from eventmesh.services.sns.records import attributes_size, validate_message_attributes
from eventmesh.services.sns.sms import SmsSettings, check_publish_number
from eventmesh.services.sns.topic import MAX_MESSAGE_BYTES, PublishEntry, PublishResult, Topic
from eventmesh.wire.limits import FORM_EXPANSION, request_bytes
from eventmesh.wire.service import RequestContext, Service
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["service"]


TRACE_HEADER = "x-amzn-trace-id"  # the X-Ray header of a request (lower case, as headers arrive)
PLATFORM_ENDPOINT_PREFIX = "endpoint/"  # TargetArn of a mobile push endpoint
_ATTRIBUTE_PATH = re.compile(r"^(publishBatchRequestEntries\.\d+\.member\.)?messageAttributes\.([^.]+)\.(\w+)$")


def _validation_error(problems: list[Problem]) -> ServiceError:
    """A missing top-level parameter is ``Invalid parameter: <Name> Reason: no value for required
    parameter``; other model violations are worded as JSON services do, with a ``member.`` step
    inside message attributes: ``Value null at 'messageAttributes.attr1.member.dataType'``."""
    for problem in problems:
        if problem.kind == "missing" and "." not in problem.path:
            return invalid_parameter(problem.member, "no value for required parameter")
    renamed = [msgspec.structs.replace(p, path=_ATTRIBUTE_PATH.sub(r"\1messageAttributes.\2.member.\3", p.path))
               for p in problems]
    return ValidationError(validation_exception(renamed).message)


# Publish: 256 KiB of message and attributes, form-encoded. SNS's Query errors carry no
# <Detail/> element (SQS's do).
service = Service("sns", validation_error=_validation_error, query_error_detail=False,
                  max_request_bytes=request_bytes(MAX_MESSAGE_BYTES, FORM_EXPANSION))


def _base_url(ctx: RequestContext) -> str:
    return f"http://{ctx.host}"


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """Tags as a dict, after the check that no key is given twice."""
    if tags:
        sns_service.check_tags(tags)
    return {t["Key"]: t["Value"] for t in tags or ()}


def _trace_header(ctx: RequestContext) -> str | None:
    """The caller's X-Ray trace header, which SNS hands on to SQS (``AWSTraceHeader``) and Lambda."""
    return ctx.headers.get(TRACE_HEADER)


def _topic(ctx: RequestContext, params: dict[str, Any]) -> Topic:
    return sns_service.get_topic(ctx.mesh, params["TopicArn"])


def _more(token: str | None) -> dict[str, str]:
    return {"NextToken": token} if token else {}


def _entry(params: dict[str, Any], trace_header: str | None, entry_id: str = "") -> PublishEntry:
    return PublishEntry(
        id=params.get("Id", entry_id), message=params["Message"], subject=params.get("Subject"),
        message_structure=params.get("MessageStructure"),
        message_attributes=params.get("MessageAttributes") or {},
        message_deduplication_id=params.get("MessageDeduplicationId"),
        message_group_id=params.get("MessageGroupId"), trace_header=trace_header)


def _listed(sub: Subscription) -> dict[str, str]:
    return {"SubscriptionArn": sns_service.listed_arn(sub), "Owner": sub.owner, "Protocol": sub.protocol,
            "Endpoint": sub.endpoint, "TopicArn": sub.topic_arn}


# -- topics -----------------------------------------------------------------------------------


@service.operation("CreateTopic")
def create_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = sns_service.create_topic(ctx.mesh, params["Name"], params.get("Attributes"),
                                     _tags(params.get("Tags")), _base_url(ctx))
    return {"TopicArn": topic.arn}


@service.operation("DeleteTopic")
def delete_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.delete_topic(ctx.mesh, params["TopicArn"])
    return {}


@service.operation("ListTopics")
def list_topics(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arns, token = sns_service.list_topics(ctx.mesh, params.get("NextToken"))
    return {"Topics": [{"TopicArn": arn} for arn in arns], **_more(token)}


@service.operation("GetTopicAttributes")
def get_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Attributes": _topic(ctx, params).attributes()}


@service.operation("SetTopicAttributes")
def set_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _topic(ctx, params).set_attribute(params["AttributeName"], params.get("AttributeValue") or "")
    return {}


# -- subscriptions ----------------------------------------------------------------------------


@service.operation("Subscribe")
def subscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    sub = topic.subscriptions.subscribe(params["Protocol"], params.get("Endpoint") or "",
                                        params.get("Attributes"))
    pending = not sub.confirmed and not params.get("ReturnSubscriptionArn")
    return {"SubscriptionArn": sns_service.PENDING_ARN if pending else sub.arn}


@service.operation("ConfirmSubscription")
def confirm_subscription(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    authenticate = str(params.get("AuthenticateOnUnsubscribe", "")).lower() == "true"
    sub = sns_service.confirm_subscription(ctx.mesh, params["TopicArn"], params["Token"], authenticate)
    return {"SubscriptionArn": sub.arn}


@service.operation("Unsubscribe")
def unsubscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.unsubscribe(ctx.mesh, params["SubscriptionArn"])
    return {}


@service.operation("ListSubscriptions")
def list_subscriptions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    subs, token = sns_service.list_subscriptions(ctx.mesh, params.get("NextToken"))
    return {"Subscriptions": [_listed(sub) for sub in subs], **_more(token)}


@service.operation("ListSubscriptionsByTopic")
def list_subscriptions_by_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    subs, token = sns_service.list_subscriptions(ctx.mesh, params.get("NextToken"), _topic(ctx, params))
    return {"Subscriptions": [_listed(sub) for sub in subs], **_more(token)}


@service.operation("GetSubscriptionAttributes")
def get_subscription_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic, sub = sns_service.find_subscription(ctx.mesh, params["SubscriptionArn"])
    return {"Attributes": topic.subscriptions.attributes(sub)}


@service.operation("SetSubscriptionAttributes")
def set_subscription_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic, sub = sns_service.find_subscription(ctx.mesh, params["SubscriptionArn"])
    topic.subscriptions.set_attribute(sub, params["AttributeName"], params.get("AttributeValue") or "")
    return {}


# -- publishing -------------------------------------------------------------------------------


@service.operation("Publish")
def publish(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Publish to a topic (``TopicArn``, or ``TargetArn`` naming one), a mobile endpoint
    (``TargetArn``: accepted, not pushed) or a phone number (accepted, not delivered)."""
    if (arn := params.get("TopicArn")) is not None:
        topic = sns_service.get_topic(ctx.mesh, arn)
    elif (arn := params.get("TargetArn")) is not None:
        parts = sns_service.check_arn(arn, "TargetArn")
        if parts[5].startswith(PLATFORM_ENDPOINT_PREFIX):
            return _publish_to_endpoint(ctx, arn, params)
        topic = sns_service.get_topic(ctx.mesh, arn, "TargetArn")
    elif (number := params.get("PhoneNumber")) is not None:
        check_publish_number(number)
        if not params["Message"]:
            raise invalid_parameter("Empty message")
        return {"MessageId": ctx.mesh.ids.uuid()}
    else:
        raise invalid_parameter("TopicArn or TargetArn", "no value for required parameter")
    result = topic.publish(_entry(params, _trace_header(ctx)))
    out = {"MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


def _publish_to_endpoint(ctx: RequestContext, arn: str, params: dict[str, Any]) -> dict[str, Any]:
    """Publish to a mobile endpoint: the message checks of a topic, then the endpoint's own."""
    text = params["Message"]
    if not text:
        raise invalid_parameter("Empty message")
    if (structure := params.get("MessageStructure")) is not None:
        if structure != "json":
            raise invalid_parameter("MessageStructure")
        try:
            parsed = msgspec.json.decode(text)
        except msgspec.DecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise invalid_parameter("Message Structure - JSON message body failed to parse")
    attributes = params.get("MessageAttributes") or {}
    if attributes:
        validate_message_attributes(attributes)
    if len(text.encode()) + (attributes_size(attributes) if attributes else 0) > MAX_MESSAGE_BYTES:
        raise invalid_parameter("Message too long")
    ctx.mesh.state(PlatformRegistry).publish(arn)
    return {"MessageId": ctx.mesh.ids.uuid()}


def _batch_result(result: PublishResult | EntryError) -> dict[str, Any]:
    if isinstance(result, EntryError):
        return {"Id": result.id, "Code": result.code, "Message": result.message,
                "SenderFault": result.sender_fault}
    out = {"Id": result.id, "MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


@service.operation("PublishBatch")
def publish_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    trace_header = _trace_header(ctx)
    entries = [_entry(entry, trace_header) for entry in params.get("PublishBatchRequestEntries") or []]
    sns_service.check_batch(entries)
    results = topic.publish_batch(entries)
    return {"Successful": [_batch_result(r) for r in results if not isinstance(r, EntryError)],
            "Failed": [_batch_result(r) for r in results if isinstance(r, EntryError)]}


# -- tags -------------------------------------------------------------------------------------


@service.operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.tag_resource(ctx.mesh, params["ResourceArn"], list(params.get("Tags") or ()))
    return {}


@service.operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.untag_resource(ctx.mesh, params["ResourceArn"], list(params.get("TagKeys") or ()))
    return {}


@service.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = sns_service.list_tags(ctx.mesh, params["ResourceArn"])
    return {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}


# -- access and data protection policies ------------------------------------------------------


@service.operation("AddPermission")
def add_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    topic.policy = policies.add_permission(topic.policy, topic.arn, params["Label"], params["AWSAccountId"],
                                           params["ActionName"])
    return {}


@service.operation("RemovePermission")
def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    topic.policy = policies.remove_permission(topic.policy, params["Label"])
    return {}


@service.operation("PutDataProtectionPolicy")
def put_data_protection_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = sns_service.get_topic(ctx.mesh, params["ResourceArn"], "ResourceArn")
    topic.data_protection_policy = params["DataProtectionPolicy"]
    return {}


@service.operation("GetDataProtectionPolicy")
def get_data_protection_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = sns_service.get_topic(ctx.mesh, params["ResourceArn"], "ResourceArn")
    return {"DataProtectionPolicy": topic.data_protection_policy}


# -- SMS settings -----------------------------------------------------------------------------


@service.operation("CheckIfPhoneNumberIsOptedOut")
def check_if_phone_number_is_opted_out(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"isOptedOut": ctx.mesh.state(SmsSettings).is_opted_out(params["phoneNumber"])}


@service.operation("OptInPhoneNumber")
def opt_in_phone_number(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.mesh.state(SmsSettings).opt_in(params["phoneNumber"])
    return {}


@service.operation("ListPhoneNumbersOptedOut")
def list_phone_numbers_opted_out(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    numbers, token = ctx.mesh.state(SmsSettings).list_opted_out(params.get("nextToken"))
    return {"phoneNumbers": numbers, **({"nextToken": token} if token else {})}


@service.operation("SetSMSAttributes")
def set_sms_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.mesh.state(SmsSettings).set_attributes(params.get("attributes") or {})
    return {}


@service.operation("GetSMSAttributes")
def get_sms_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"attributes": ctx.mesh.state(SmsSettings).get_attributes(params.get("attributes"))}


@service.operation("GetSMSSandboxAccountStatus")
def get_sms_sandbox_account_status(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"IsInSandbox": True}


@service.operation("CreateSMSSandboxPhoneNumber")
def create_sms_sandbox_phone_number(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.mesh.state(SmsSettings).add_sandbox_number(params["PhoneNumber"], params.get("LanguageCode"))
    return {}


@service.operation("VerifySMSSandboxPhoneNumber")
def verify_sms_sandbox_phone_number(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.mesh.state(SmsSettings).verify_sandbox_number(params["PhoneNumber"], params["OneTimePassword"])
    return {}


@service.operation("DeleteSMSSandboxPhoneNumber")
def delete_sms_sandbox_phone_number(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.mesh.state(SmsSettings).delete_sandbox_number(params["PhoneNumber"])
    return {}


@service.operation("ListSMSSandboxPhoneNumbers")
def list_sms_sandbox_phone_numbers(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    numbers, token = ctx.mesh.state(SmsSettings).list_sandbox_numbers(params.get("NextToken"),
                                                                      params.get("MaxResults"))
    return {"PhoneNumbers": [{"PhoneNumber": n.number, "Status": n.status} for n in numbers], **_more(token)}


@service.operation("ListOriginationNumbers")
def list_origination_numbers(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """No origination number is owned here (they are bought in AWS End User Messaging)."""
    return {"PhoneNumbers": []}


# -- mobile push ------------------------------------------------------------------------------


def _platform(ctx: RequestContext) -> PlatformRegistry:
    return ctx.mesh.state(PlatformRegistry)


@service.operation("CreatePlatformApplication")
def create_platform_application(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    application = _platform(ctx).create_application(params["Name"], params["Platform"], params["Attributes"])
    return {"PlatformApplicationArn": application.arn}


@service.operation("GetPlatformApplicationAttributes")
def get_platform_application_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PlatformApplicationArn"]
    sns_service.check_arn(arn, "PlatformApplicationArn")
    return {"Attributes": _platform(ctx).application(arn).shown()}


@service.operation("SetPlatformApplicationAttributes")
def set_platform_application_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PlatformApplicationArn"]
    sns_service.check_arn(arn, "PlatformApplicationArn")
    _platform(ctx).set_application_attributes(arn, params["Attributes"])
    return {}


@service.operation("ListPlatformApplications")
def list_platform_applications(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    applications, token = _platform(ctx).list_applications(params.get("NextToken"))
    return {"PlatformApplications": [{"PlatformApplicationArn": a.arn, "Attributes": a.shown()}
                                     for a in applications], **_more(token)}


@service.operation("DeletePlatformApplication")
def delete_platform_application(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PlatformApplicationArn"]
    sns_service.check_arn(arn, "PlatformApplicationArn")
    _platform(ctx).delete_application(arn)
    return {}


@service.operation("CreatePlatformEndpoint")
def create_platform_endpoint(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PlatformApplicationArn"]
    sns_service.check_arn(arn, "PlatformApplicationArn")
    endpoint = _platform(ctx).create_endpoint(arn, params["Token"], params.get("CustomUserData"),
                                              params.get("Attributes") or {})
    return {"EndpointArn": endpoint.arn}


@service.operation("GetEndpointAttributes")
def get_endpoint_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["EndpointArn"]
    sns_service.check_arn(arn, "EndpointArn")
    return {"Attributes": _platform(ctx).endpoint(arn).attributes()}


@service.operation("SetEndpointAttributes")
def set_endpoint_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["EndpointArn"]
    sns_service.check_arn(arn, "EndpointArn")
    _platform(ctx).set_endpoint_attributes(arn, params["Attributes"])
    return {}


@service.operation("DeleteEndpoint")
def delete_endpoint(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["EndpointArn"]
    sns_service.check_arn(arn, "EndpointArn")
    _platform(ctx).delete_endpoint(arn)
    return {}


@service.operation("ListEndpointsByPlatformApplication")
def list_endpoints_by_platform_application(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PlatformApplicationArn"]
    sns_service.check_arn(arn, "PlatformApplicationArn")
    endpoints, token = _platform(ctx).list_endpoints(arn, params.get("NextToken"))
    return {"Endpoints": [{"EndpointArn": e.arn, "Attributes": e.attributes()} for e in endpoints], **_more(token)}
