"""Lambda layers: versioned .zip archives of libraries a function's code runs with.

PublishLayerVersion stores a new, immutable version of a layer (numbers start at 1 and are never
reused, even after every version was deleted); GetLayerVersion / GetLayerVersionByArn /
ListLayerVersions / ListLayers read them; DeleteLayerVersion removes one (functions that use it
keep their copy, as on AWS). Each version has its own resource-based policy
(AddLayerVersionPermission …), stored and not enforced, as a function's is.

A function names up to 5 layer versions by ARN (``Layers``); its code and its layers together
are at most 250 MB unzipped. The runner extracts each layer beside the function's code and puts
it where the runtime looks: for Python ``python`` and ``python/lib/pythonX.Y/site-packages`` on
``sys.path`` after the function's own directory; for Node.js ``nodejs/node_modules`` (and
``nodejs/nodeNN/node_modules``) on ``NODE_PATH``; for every runtime ``bin`` on ``PATH`` and
``lib`` on ``LD_LIBRARY_PATH``. Lambda extracts layers into ``/opt``, later layers over earlier
ones; here each has its own directory and a later layer comes first on each path.

A layer version of another account that this emulator does not hold (a public layer such as
Powertools) is accepted and kept in the function's configuration with a size of 0: its code is
not here, so the function runs without it. A missing layer of the caller's own account is an
error, as on AWS.
https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html
"""

from __future__ import annotations

from typing import Any

from eventmesh.mesh import Mesh
from eventmesh.services.lambda_.configuration import LayerRef, code_sha256, lambda_timestamp
from eventmesh.services.lambda_.errors import InvalidParameterValueException, ResourceNotFoundException
from eventmesh.services.lambda_.package import MAX_UNZIPPED_BYTES, decode_package
from eventmesh.services.lambda_.permissions import FunctionPolicy

__all__ = ["MAX_LAYERS_PER_FUNCTION", "Layer", "LayerRef", "LayerStore", "LayerVersion", "function_layers",
           "layer_store", "parse_layer_name"]

MAX_LAYERS_PER_FUNCTION = 5
_NOT_FOUND = "The resource you requested does not exist."


class LayerVersion:
    """One published version of a layer: its archive and what PublishLayerVersion was told."""

    def __init__(self, layer: Layer, number: int, code: bytes, unzipped_bytes: int, created: float,
                 description: str, runtimes: list[str] | None, architectures: list[str] | None,
                 license_info: str | None) -> None:
        self.layer = layer
        self.number = number
        self.arn = f"{layer.arn}:{number}"
        self.code = code
        self.code_sha256 = code_sha256(code, "")
        self.unzipped_bytes = unzipped_bytes
        self.created = created
        self.description = description
        self.runtimes = runtimes
        self.architectures = architectures
        self.license_info = license_info
        self.policy = FunctionPolicy()

    def summary(self) -> dict[str, Any]:
        """The ``LayerVersionsListItem`` shape (ListLayerVersions, ListLayers)."""
        out: dict[str, Any] = {"LayerVersionArn": self.arn, "Version": self.number,
                               "Description": self.description, "CreatedDate": lambda_timestamp(self.created)}
        if self.runtimes:
            out["CompatibleRuntimes"] = list(self.runtimes)
        if self.license_info is not None:
            out["LicenseInfo"] = self.license_info
        if self.architectures:
            out["CompatibleArchitectures"] = list(self.architectures)
        return out

    def describe(self, host: str) -> dict[str, Any]:
        """The GetLayerVersion / PublishLayerVersion answer. ``Location`` names where the archive
        would download from (eventmesh serves no download)."""
        out = self.summary()
        out.update(LayerArn=self.layer.arn, Content={
            "Location": f"http://{host}/2018-10-31/layers/{self.layer.name}/versions/{self.number}/content",
            "CodeSha256": self.code_sha256, "CodeSize": len(self.code)})
        return out

    def matches(self, runtime: str | None, architecture: str | None) -> bool:
        """ListLayers' filters: a version that names no runtimes (architectures) matches none."""
        return ((runtime is None or runtime in (self.runtimes or ()))
                and (architecture is None or architecture in (self.architectures or ())))


class Layer:
    """A layer's versions by number, and the next number to give."""

    def __init__(self, arn: str, name: str) -> None:
        self.arn = arn
        self.name = name
        self.versions: dict[int, LayerVersion] = {}
        self.next_number = 1


class LayerStore:
    """The layers of one account and Region (``Mesh.state``)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.layers: dict[str, Layer] = {}

    def publish(self, name: str, zip_file: bytes | str | None, *, description: str = "",
                runtimes: list[str] | None = None, architectures: list[str] | None = None,
                license_info: str | None = None) -> LayerVersion:
        """PublishLayerVersion (``Content.ZipFile``; eventmesh serves no S3 to read one from)."""
        if zip_file is None:
            raise InvalidParameterValueException(
                "Content must include ZipFile: eventmesh holds no S3 objects to read S3Bucket and S3Key from.")
        code, unzipped = decode_package(zip_file)
        layer = self.layers.get(name)
        if layer is None:
            layer = self.layers[name] = Layer(self.mesh.arn("lambda", f"layer:{name}"), name)
        version = LayerVersion(layer, layer.next_number, code, unzipped, self.mesh.clock.now(), description,
                               runtimes, architectures, license_info)
        layer.versions[version.number] = version
        layer.next_number += 1
        return version

    def get(self, name: str, number: int) -> LayerVersion:
        layer = self.layers.get(name)
        version = layer.versions.get(number) if layer is not None else None
        if version is None:
            raise ResourceNotFoundException(_NOT_FOUND)
        return version

    def delete(self, name: str, number: int) -> None:
        """DeleteLayerVersion: a version that is not there is not an error."""
        layer = self.layers.get(name)
        if layer is not None:
            layer.versions.pop(number, None)

    def versions(self, name: str, runtime: str | None = None, architecture: str | None = None) -> list[LayerVersion]:
        """ListLayerVersions: newest first."""
        layer = self.layers.get(name)
        if layer is None:
            return []
        return [v for n, v in sorted(layer.versions.items(), reverse=True) if v.matches(runtime, architecture)]

    def listed(self, runtime: str | None = None, architecture: str | None = None) -> list[tuple[Layer, LayerVersion]]:
        """ListLayers: each layer by name with its newest version that matches the filters."""
        out = []
        for name in sorted(self.layers):
            matching = self.versions(name, runtime, architecture)
            if matching:
                out.append((self.layers[name], matching[0]))
        return out


def layer_store(mesh: Mesh) -> LayerStore:
    return mesh.state(LayerStore)


def parse_layer_name(mesh: Mesh, name: str) -> tuple[Mesh, str]:
    """A ``LayerName`` (a name, or a layer's ARN) as the scope that holds it and the bare name."""
    if name.startswith("arn:"):
        parts = name.split(":")
        if len(parts) < 7 or parts[5] != "layer":
            raise InvalidParameterValueException(f"Invalid layer name: {name}")
        return mesh.scope(parts[4], parts[3]), parts[6]
    return mesh, name


def function_layers(mesh: Mesh, arns: list[str], code_unzipped_bytes: int) -> tuple[LayerRef, ...]:
    """The ``Layers`` of CreateFunction / UpdateFunctionConfiguration, checked as Lambda checks
    them: at most 5, versions that exist (in the caller's account), one version per layer, and
    the function's code with its layers within 250 MB unzipped."""
    if len(arns) > MAX_LAYERS_PER_FUNCTION:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '[{', '.join(arns)}]' at 'layers' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_LAYERS_PER_FUNCTION}")
    refs: list[LayerRef] = []
    seen: set[str] = set()
    for arn in arns:
        parts = arn.split(":")
        if len(parts) != 8 or parts[0] != "arn" or parts[5] != "layer" or not parts[7].isdigit():
            raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
        layer_arn = arn.rsplit(":", 1)[0]
        if layer_arn in seen:
            raise InvalidParameterValueException(
                "Two different versions of the same layer are not allowed to be referenced in the same function. "
                f"{arn}")
        seen.add(layer_arn)
        account, region = parts[4], parts[3]
        store = mesh.scope(account, region).find_state(LayerStore)
        layer = store.layers.get(parts[6]) if store is not None else None
        version = layer.versions.get(int(parts[7])) if layer is not None else None
        if version is None:
            if account == mesh.account_id or store is not None:
                raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
            refs.append(LayerRef(arn, 0))   # another account's layer, not held here
            continue
        refs.append(LayerRef(arn, len(version.code), version.code_sha256, version.code, version.unzipped_bytes))
    total = code_unzipped_bytes + sum(r.unzipped_bytes for r in refs)
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(
            f"Function code combined with layers exceeds the maximum allowed size of {MAX_UNZIPPED_BYTES} bytes. "
            f"The actual size is {total} bytes.")
    return tuple(refs)
