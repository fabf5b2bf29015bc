"""REST-JSON routing: method + path (+ a literal query in the template) → the operation."""

from __future__ import annotations

import botocore.session
import pytest

from eventmesh.wire.protocols.restjson import RestRoutes


@pytest.fixture(scope="module")
def routes() -> RestRoutes:
    return RestRoutes(botocore.session.get_session().get_service_model("lambda"))


def _name(routes: RestRoutes, method: str, path: str, query: str = "") -> str | None:
    found = routes.match(method, path, query)
    return None if found is None else found[0].name


def test_a_literal_query_in_the_template_tells_two_operations_on_one_path_apart(routes: RestRoutes) -> None:
    assert _name(routes, "GET", "/2018-10-31/layers") == "ListLayers"
    assert _name(routes, "GET", "/2018-10-31/layers", "CompatibleRuntime=python3.12") == "ListLayers"
    assert _name(routes, "GET", "/2018-10-31/layers", "find=LayerVersion&Arn=x") == "GetLayerVersionByArn"
    path = "/2019-09-30/functions/f/provisioned-concurrency"
    assert _name(routes, "GET", path, "Qualifier=live") == "GetProvisionedConcurrencyConfig"
    assert _name(routes, "GET", path, "List=ALL") == "ListProvisionedConcurrencyConfigs"
    assert _name(routes, "GET", path, "List=SOME") == "GetProvisionedConcurrencyConfig"


def test_labels_are_decoded_and_the_longest_literal_path_wins(routes: RestRoutes) -> None:
    found = routes.match("GET", "/2015-03-31/functions/my%3Afn/versions")
    assert found is not None and found[0].name == "ListVersionsByFunction"
    assert found[1] == {"FunctionName": "my:fn"}
    assert _name(routes, "GET", "/2015-03-31/functions/fn") == "GetFunction"
    assert _name(routes, "PATCH", "/2015-03-31/functions/fn") is None
