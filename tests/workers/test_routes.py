"""Where a request goes in a daemon of several workers: every operation of a service whose
resources are spread across workers (SQS, SNS, Kinesis) has a rule naming its resource, so none
falls through to the account's home worker, which may not own the resource."""

from __future__ import annotations

import importlib

import pytest

from eventmesh.workers import routes

SPREAD = {"sqs": "eventmesh.services.sqs.api", "sns": "eventmesh.services.sns.api",
          "kinesis": "eventmesh.services.kinesis.api"}


@pytest.mark.parametrize("service", sorted(SPREAD))
def test_every_operation_of_a_spread_service_has_its_own_rule(service: str) -> None:
    module = importlib.import_module(SPREAD[service])
    served = {op for value in vars(module).values() if type(value).__name__ == "Service" for op in value.handlers}
    assert served
    assert sorted(op for op in served if (service, op) not in routes._TABLE) == []


def test_a_kinesis_resource_arn_goes_to_its_stream_or_consumer() -> None:
    stream = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"
    consumer = f"{stream}/consumer/reader:1796649030"
    for op in ("TagResource", "ListTagsForResource", "PutResourcePolicy"):
        assert routes.route("kinesis", op, {"ResourceARN": stream}, "000000000000", "us-east-1") == \
            routes.Route(routes.ARN, stream)
        assert routes.route("kinesis", op, {"ResourceARN": consumer}, "000000000000", "us-east-1") == \
            routes.Route(routes.ARN, consumer)
    assert routes.route("kinesis", "EnableEnhancedMonitoring", {"StreamName": "clicks"}, "000000000000",
                        "us-east-1") == routes.Route(routes.ARN, stream)
