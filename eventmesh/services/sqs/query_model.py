"""SQS Query-protocol names (AWS's 2012-11-05 WSDL) for members the JSON model names differently.

The SQS model shipped with botocore is AWS JSON 1.0; its shapes are the Query shapes, but the
flattened wire names (``MessageAttribute.1.Name``, ``<Attribute><Name>``…) are gone. This table
puts them back, for parsing legacy requests and rendering XML.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests.html
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["MAP_ENTRY_NAMES", "MEMBER_NAMES", "XML_NAMESPACE", "query_model"]

XML_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"

_FAILED = "BatchResultErrorEntry"

# (structure shape, member) -> wire name
MEMBER_NAMES: dict[tuple[str, str], str] = {
    ("AddPermissionRequest", "AWSAccountIds"): "AWSAccountId",
    ("AddPermissionRequest", "Actions"): "ActionName",
    ("ChangeMessageVisibilityBatchRequest", "Entries"): "ChangeMessageVisibilityBatchRequestEntry",
    ("ChangeMessageVisibilityBatchResult", "Successful"): "ChangeMessageVisibilityBatchResultEntry",
    ("ChangeMessageVisibilityBatchResult", "Failed"): _FAILED,
    ("CreateQueueRequest", "Attributes"): "Attribute",
    ("CreateQueueRequest", "tags"): "Tag",
    ("DeleteMessageBatchRequest", "Entries"): "DeleteMessageBatchRequestEntry",
    ("DeleteMessageBatchResult", "Successful"): "DeleteMessageBatchResultEntry",
    ("DeleteMessageBatchResult", "Failed"): _FAILED,
    ("GetQueueAttributesRequest", "AttributeNames"): "AttributeName",
    ("GetQueueAttributesResult", "Attributes"): "Attribute",
    ("ListDeadLetterSourceQueuesResult", "queueUrls"): "QueueUrl",
    ("ListMessageMoveTasksResult", "Results"): "ListMessageMoveTasksResultEntry",
    ("ListQueueTagsResult", "Tags"): "Tag",
    ("ListQueuesResult", "QueueUrls"): "QueueUrl",
    ("Message", "Attributes"): "Attribute",
    ("Message", "MessageAttributes"): "MessageAttribute",
    ("MessageAttributeValue", "StringListValues"): "StringListValue",
    ("MessageAttributeValue", "BinaryListValues"): "BinaryListValue",
    ("MessageSystemAttributeValue", "StringListValues"): "StringListValue",
    ("MessageSystemAttributeValue", "BinaryListValues"): "BinaryListValue",
    ("ReceiveMessageRequest", "AttributeNames"): "AttributeName",
    ("ReceiveMessageRequest", "MessageSystemAttributeNames"): "MessageSystemAttributeName",
    ("ReceiveMessageRequest", "MessageAttributeNames"): "MessageAttributeName",
    ("ReceiveMessageResult", "Messages"): "Message",
    ("SendMessageBatchRequest", "Entries"): "SendMessageBatchRequestEntry",
    ("SendMessageBatchRequestEntry", "MessageAttributes"): "MessageAttribute",
    ("SendMessageBatchRequestEntry", "MessageSystemAttributes"): "MessageSystemAttribute",
    ("SendMessageBatchResult", "Successful"): "SendMessageBatchResultEntry",
    ("SendMessageBatchResult", "Failed"): _FAILED,
    ("SendMessageRequest", "MessageAttributes"): "MessageAttribute",
    ("SendMessageRequest", "MessageSystemAttributes"): "MessageSystemAttribute",
    ("SetQueueAttributesRequest", "Attributes"): "Attribute",
    ("TagQueueRequest", "Tags"): "Tag",
    ("UntagQueueRequest", "TagKeys"): "TagKey",
}

# map shape -> (key element name, value element name)
MAP_ENTRY_NAMES: dict[str, tuple[str, str]] = {
    "QueueAttributeMap": ("Name", "Value"),
    "MessageBodyAttributeMap": ("Name", "Value"),
    "MessageBodySystemAttributeMap": ("Name", "Value"),
    "MessageSystemAttributeMap": ("Name", "Value"),
    "TagMap": ("Key", "Value"),
}


def query_model(json_model: dict[str, Any]) -> dict[str, Any]:
    """The SQS JSON model rewritten as the legacy Query-protocol model (for old-SDK tests)."""
    model = copy.deepcopy(json_model)
    meta = model["metadata"]
    meta["protocol"] = "query"
    meta["protocols"] = ["query"]
    meta["xmlNamespace"] = XML_NAMESPACE
    for key in ("jsonVersion", "targetPrefix", "awsQueryCompatible"):
        meta.pop(key, None)
    shapes = model["shapes"]
    for (shape, member), name in MEMBER_NAMES.items():
        if shape in shapes and member in shapes[shape].get("members", {}):
            shapes[shape]["members"][member]["locationName"] = name
    for shape, (key, value) in MAP_ENTRY_NAMES.items():
        if shape in shapes:
            shapes[shape]["key"]["locationName"] = key
            shapes[shape]["value"]["locationName"] = value
    for name, op in model["operations"].items():
        if "output" in op:
            op["output"]["resultWrapper"] = f"{name}Result"
    # Query clients pick the modelled exception by the legacy code, which the JSON model leaves out.
    from eventmesh.services.sqs.errors import SQS_ERRORS

    for code, cls in SQS_ERRORS.items():
        shape = shapes.get(code)
        if shape is not None and shape.get("exception"):
            shape["error"] = {"code": cls.query_code or cls.code, "httpStatusCode": cls.http_status,
                              "senderFault": cls.sender_fault}
    return model
