"""STS through boto3 against the daemon: the caller's identity from its access key and session."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from eventmesh.daemon import ServerHandle
from eventmesh.services.sts.sessions import session_token
from eventmesh.workers import serve_in_thread


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["sts"], workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


def sts(daemon: ServerHandle, key: str = "AKIDEXAMPLE", token: str | None = None):
    return boto3.client("sts", endpoint_url=daemon.url, region_name="eu-west-1", aws_access_key_id=key,
                        aws_secret_access_key="x", aws_session_token=token)


def test_the_caller_is_the_account_of_its_access_key(daemon):
    default = sts(daemon).get_caller_identity()
    assert (default["Account"], default["Arn"], default["UserId"]) == (
        "000000000000", "arn:aws:iam::000000000000:root", "000000000000")
    other = sts(daemon, "111122223333").get_caller_identity()
    assert other["Account"] == "111122223333" and other["Arn"] == "arn:aws:iam::111122223333:root"


def test_assumed_roles_answer_their_assumed_role_arn(daemon):
    creds = sts(daemon).assume_role(RoleArn="arn:aws:iam::444455556666:role/deploy",
                                    RoleSessionName="ci", DurationSeconds=900)
    assert creds["AssumedRoleUser"]["Arn"] == "arn:aws:sts::444455556666:assumed-role/deploy/ci"
    c = creds["Credentials"]
    assert c["AccessKeyId"] == "444455556666" and c["Expiration"]
    me = sts(daemon, c["AccessKeyId"], c["SessionToken"]).get_caller_identity()
    assert me["Account"] == "444455556666"
    assert me["Arn"] == "arn:aws:sts::444455556666:assumed-role/deploy/ci"
    # the credentials a Lambda function gets name its role and function the same way
    fn = sts(daemon, "444455556666", session_token("arn:aws:iam::444455556666:role/exec", "myfn"))
    assert fn.get_caller_identity()["Arn"] == "arn:aws:sts::444455556666:assumed-role/exec/myfn"


def test_bad_durations_are_validation_errors(daemon):
    with pytest.raises(sts(daemon).exceptions.ClientError) as err:
        sts(daemon).assume_role(RoleArn="arn:aws:iam::444455556666:role/r", RoleSessionName="ss",
                                DurationSeconds=100_000)
    assert err.value.response["Error"]["Code"] == "ValidationError"
