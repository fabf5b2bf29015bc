"""IAM through boto3 against the daemon: roles and policies stored (never enforced), as tools use them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", services=["iam"], workers=workers)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def iam(daemon):
    return boto3.client("iam", endpoint_url=daemon.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x")


def test_a_role_with_its_policies_round_trips(iam):
    role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=TRUST, Description="d",
                           Tags=[{"Key": "team", "Value": "a"}])["Role"]
    assert role["Arn"] == "arn:aws:iam::000000000000:role/exec" and role["RoleId"].startswith("AROA")
    got = iam.get_role(RoleName="exec")["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(TRUST)   # URL-encoded on the wire, decoded by boto
    assert got["Tags"] == [{"Key": "team", "Value": "a"}]
    iam.attach_role_policy(RoleName="exec", PolicyArn="arn:aws:iam::aws:policy/service-role/"
                                                      "AWSLambdaBasicExecutionRole")
    managed = iam.create_policy(PolicyName="queues", PolicyDocument=POLICY)["Policy"]
    iam.attach_role_policy(RoleName="exec", PolicyArn=managed["Arn"])
    attached = iam.list_attached_role_policies(RoleName="exec")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole", "queues"]
    assert iam.get_policy(PolicyArn=managed["Arn"])["Policy"]["AttachmentCount"] == 1
    version = iam.get_policy_version(PolicyArn=managed["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(POLICY) and version["IsDefaultVersion"]
    iam.put_role_policy(RoleName="exec", PolicyName="inline", PolicyDocument=POLICY)
    assert iam.get_role_policy(RoleName="exec", PolicyName="inline")["PolicyDocument"] == json.loads(POLICY)
    assert iam.list_role_policies(RoleName="exec")["PolicyNames"] == ["inline"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["exec"]
    with pytest.raises(ClientError) as conflict:
        iam.delete_role(RoleName="exec")
    assert conflict.value.response["Error"]["Code"] == "DeleteConflict"
    iam.delete_role_policy(RoleName="exec", PolicyName="inline")
    for policy in attached:
        iam.detach_role_policy(RoleName="exec", PolicyArn=policy["PolicyArn"])
    iam.delete_role(RoleName="exec")
    iam.delete_policy(PolicyArn=managed["Arn"])
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName="exec")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert gone.value.response["Error"]["Message"] == "The role with name exec cannot be found."


def test_duplicates_and_bad_documents_are_refused(iam):
    iam.create_role(RoleName="dup", AssumeRolePolicyDocument=TRUST)
    with pytest.raises(ClientError) as twice:
        iam.create_role(RoleName="dup", AssumeRolePolicyDocument=TRUST)
    assert twice.value.response["Error"]["Code"] == "EntityAlreadyExists"
    with pytest.raises(ClientError) as bad:
        iam.create_role(RoleName="bad", AssumeRolePolicyDocument="not json")
    assert bad.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def test_lists_page_with_markers(iam):
    for i in range(3):
        iam.create_role(RoleName=f"page-{i}", AssumeRolePolicyDocument=TRUST, Path="/paged/")
    first = iam.list_roles(PathPrefix="/paged/", MaxItems=2)
    assert first["IsTruncated"] and len(first["Roles"]) == 2
    rest = iam.list_roles(PathPrefix="/paged/", Marker=first["Marker"])
    assert not rest["IsTruncated"] and [r["RoleName"] for r in rest["Roles"]] == ["page-2"]
