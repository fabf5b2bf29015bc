"""Helpers for tests of eventmesh and of users' own code: a mesh in virtual time and its driver."""

from __future__ import annotations

from eventmesh.clock import VirtualClock
from eventmesh.drivers.virtual import VirtualDriver
from eventmesh.mesh import Mesh

__all__ = ["VirtualDriver", "virtual_mesh"]


def virtual_mesh(seed: int = 0, **kwargs: object) -> tuple[Mesh, VirtualDriver]:
    """A fresh :class:`Mesh` on a :class:`VirtualClock` with a seeded id generator, and its driver."""
    mesh = Mesh(VirtualClock(), seed=seed, **kwargs)  # type: ignore[arg-type]
    return mesh, VirtualDriver(mesh)


def sqs_query_client(endpoint_url: str, region_name: str = "us-east-1", **kwargs: object) -> object:
    """A boto3 SQS client that speaks the legacy Query protocol (as older SDKs and CLIs do).

    botocore now ships only the JSON model of SQS; this client loads the same model rewritten as
    the 2012-11-05 Query model (``eventmesh.services.sqs.query_model.query_model``) from a private
    data directory, so the same tests can run over both protocols.
    """
    import json
    import tempfile
    from pathlib import Path

    import boto3
    import botocore.session

    from eventmesh.services.sqs.query_model import query_model

    json_model = botocore.session.get_session().get_component("data_loader").load_service_model("sqs", "service-2")
    core = botocore.session.get_session()  # a fresh session: the loader caches what it has read
    loader = core.get_component("data_loader")
    root = Path(tempfile.mkdtemp(prefix="eventmesh-sqs-query-"))
    target = root / "sqs" / json_model["metadata"]["apiVersion"]
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(query_model(json_model)))
    loader.search_paths.insert(0, str(root))
    session = boto3.Session(botocore_session=core)
    kwargs.setdefault("aws_access_key_id", "x")
    kwargs.setdefault("aws_secret_access_key", "x")
    return session.client("sqs", endpoint_url=endpoint_url, region_name=region_name, **kwargs)  # type: ignore[call-overload]
