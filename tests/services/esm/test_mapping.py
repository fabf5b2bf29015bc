"""EventSourceMapping configuration: defaults, validation messages, documents, states."""

from __future__ import annotations

from typing import Any

import pytest

from eventmesh.errors import ResourceNotFoundException, ValidationException
from eventmesh.services.esm.service import (
    create_mapping,
    delete_mapping,
    get_mapping,
    list_mappings,
    update_mapping,
)
from eventmesh.services.kinesis.service import create_stream
from eventmesh.services.lambda_.errors import InvalidParameterValueException, ResourceConflictException
from eventmesh.services.sqs.service import create_queue
from eventmesh.testing import virtual_mesh
from tests.services.esm.helpers import ScriptedFunction


@pytest.fixture
def world():
    mesh, driver = virtual_mesh()
    queue = create_queue(mesh, "q")
    stream = create_stream(mesh, "s", 1)
    ScriptedFunction(mesh)
    return mesh, driver, queue, stream


def test_sqs_document_has_the_defaults_and_becomes_enabled(world):
    mesh, driver, queue, stream = world
    mapping = create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    doc = mapping.document()
    assert doc == {
        "UUID": mapping.uuid, "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0,
        "EventSourceArn": queue.arn, "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "LastModified": mesh.clock.now(), "State": "Creating", "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": [],
        "EventSourceMappingArn": f"arn:aws:lambda:us-east-1:000000000000:event-source-mapping:{mapping.uuid}",
    }
    driver.advance(0)
    assert mapping.document()["State"] == "Enabled"


def test_kinesis_document_has_the_stream_fields(world):
    mesh, driver, queue, stream = world
    doc = create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "fn",
                                "StartingPosition": "LATEST"}).document()
    assert doc["BatchSize"] == 100
    assert doc["StateTransitionReason"] == "User action"
    assert {k: doc[k] for k in ("StartingPosition", "ParallelizationFactor", "BisectBatchOnFunctionError",
                                "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
                                "TumblingWindowInSeconds",
                                "DestinationConfig", "LastProcessingResult")} == {
        "StartingPosition": "LATEST", "ParallelizationFactor": 1, "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "TumblingWindowInSeconds": 0,
        "DestinationConfig": {"OnFailure": {}}, "LastProcessingResult": "No records processed"}


@pytest.mark.parametrize("params, error, message", [
    ({"BatchSize": 11}, InvalidParameterValueException,
     "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"),
    ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, InvalidParameterValueException,
     "Invalid filter pattern definition."),
    ({"FilterCriteria": {"Filters": [{"Pattern": '{"body": "x"}'}]}}, InvalidParameterValueException,
     "Invalid filter pattern definition."),
])
def test_sqs_validation_messages(world, params, error, message):
    mesh, driver, queue, stream = world
    with pytest.raises(error) as err:
        create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn", **params})
    assert err.value.message == message


def test_stream_needs_a_starting_position(world):
    mesh, driver, queue, stream = world
    with pytest.raises(ValidationException) as err:
        create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "fn"})
    assert err.value.message == ("1 validation error detected: Value null at 'startingPosition' failed to "
                                 "satisfy constraint: Member must not be null.")
    with pytest.raises(ValidationException) as err:
        create_mapping(mesh, {"EventSourceArn": stream.arn, "FunctionName": "fn", "StartingPosition": "NOW"})
    assert err.value.message.endswith(
        "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]")


def test_missing_queue_and_function(world):
    mesh, driver, queue, stream = world
    with pytest.raises(InvalidParameterValueException) as err:
        create_mapping(mesh, {"EventSourceArn": mesh.arn("sqs", "nope"), "FunctionName": "fn"})
    assert err.value.message == (
        "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
        "SQS Error Message: The specified queue does not exist.")
    with pytest.raises(ResourceNotFoundException):
        create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "nope"})


def test_duplicate_mapping_is_a_conflict_naming_the_existing_uuid(world):
    mesh, driver, queue, stream = world
    first = create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    with pytest.raises(ResourceConflictException) as err:
        create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    fn_arn = first.function_arn
    assert err.value.message == (
        f'An event source mapping with SQS arn (" {queue.arn} ") and function (" {fn_arn} ") already exists. '
        f"Please update or delete the existing mapping with UUID {first.uuid}")


def test_update_disable_enable_list_and_delete(world):
    mesh, driver, queue, stream = world
    mapping = create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn"})
    driver.advance(0)
    assert update_mapping(mesh, mapping.uuid, {"Enabled": False, "BatchSize": 5}).state == "Updating"
    driver.advance(0)
    assert (mapping.state, mapping.batch_size) == ("Disabled", 5)
    update_mapping(mesh, mapping.uuid, {"Enabled": True, "FilterCriteria": {}})
    driver.advance(0)
    assert mapping.state == "Enabled"
    page, marker = list_mappings(mesh, function_name="fn")
    assert [m.uuid for m in page] == [mapping.uuid] and marker is None
    assert delete_mapping(mesh, mapping.uuid).state == "Deleting"
    driver.advance(0)
    with pytest.raises(ResourceNotFoundException):
        get_mapping(mesh, mapping.uuid)
    assert not mesh.exists(mapping.arn)


def test_disabled_mapping_does_not_poll(world):
    mesh, driver, queue, stream = world
    from eventmesh.services.sqs.message import SendEntry
    fn: Any = mesh.find(mesh.arn("lambda", "function:fn"), object)
    create_mapping(mesh, {"EventSourceArn": queue.arn, "FunctionName": "fn", "Enabled": False})
    queue.send(SendEntry("m"))
    driver.advance(5)
    assert fn.batches == []
