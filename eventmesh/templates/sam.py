"""SAM → CloudFormation with AWS's own translator (``aws-sam-translator``), offline.

The translator asks boto3 for the region (and so the partition) and, for managed policy names in
``Policies``, IAM for the policy ARNs. Here the region is the daemon's and the policies are looked
up in the translator's bundled table only: no call leaves the machine. Local ``CodeUri``
directories (which only ``sam build``/``sam package`` turn into S3 locations) are swapped for
placeholder S3 URIs before the translation and recognised after it, so the deploy step can zip
them; so are a layer's local ``ContentUri`` directories (``AWS::Serverless::LayerVersion``).
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification.html
"""

from __future__ import annotations

import copy
import threading
from typing import Any

__all__ = ["LOCAL_CODE_BUCKET", "is_sam", "translate"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# The bucket of the placeholder S3 URIs that stand for local CodeUri directories.
LOCAL_CODE_BUCKET = "eventmesh-local-code"
_FUNCTION_TYPE = "AWS::Serverless::Function"
_LAYER_TYPE = "AWS::Serverless::LayerVersion"
# ArnGenerator keeps the region on its class: one translation at a time sets and restores it.
_TRANSLATOR_LOCK = threading.Lock()


def is_sam(template: dict[str, Any]) -> bool:
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in transforms


def _local_code(template: dict[str, Any]) -> dict[str, str]:
    """Swap local CodeUri (a layer's ContentUri) directories for placeholder S3 URIs; returns
    key → directory."""
    local: dict[str, str] = {}

    def swap(props: dict[str, Any], key: str, member: str = "CodeUri") -> None:
        uri = props.get(member)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            local[key] = uri
            props[member] = f"s3://{LOCAL_CODE_BUCKET}/{key}"

    globals_fn = (template.get("Globals") or {}).get("Function")
    if isinstance(globals_fn, dict):
        swap(globals_fn, "Globals")
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == _LAYER_TYPE:
            layer = resource.get("Properties")
            if isinstance(layer, dict):
                swap(layer, logical_id, "ContentUri")
            continue
        if not (isinstance(resource, dict) and resource.get("Type") == _FUNCTION_TYPE):
            continue
        props = resource.setdefault("Properties", {})
        if not isinstance(props, dict):
            continue
        has_code = any(k in props for k in ("CodeUri", "InlineCode", "ImageUri"))
        if not has_code and not (isinstance(globals_fn, dict) and "CodeUri" in globals_fn):
            props["CodeUri"] = "."  # the SAM CLI's default: the template's own directory
        swap(props, logical_id)
    return local


def translate(template: dict[str, Any], parameters: dict[str, Any], *, account_id: str,
              region: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(the CloudFormation template, placeholder key → local CodeUri directory)."""
    import boto3
    from samtranslator.metrics.metrics import Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(template)
    local = _local_code(template)
    values = {"AWS::AccountId": account_id, "AWS::Region": region, **parameters}
    with _TRANSLATOR_LOCK:
        saved = ArnGenerator.BOTO_SESSION_REGION_NAME
        ArnGenerator.BOTO_SESSION_REGION_NAME = region
        try:
            # Usage metrics go to the translator's dummy publisher (published, so none is pending).
            metrics = Metrics()
            translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=region),
                                    metrics=metrics)
            # {} for the IAM lookup: managed policy names resolve from the translator's own table.
            out = translator.translate(template, parameter_values=values, get_managed_policy_map=dict)
            metrics.publish()
        except InvalidDocumentException as exc:
            raise ValueError("; ".join(str(cause) for cause in exc.causes) or str(exc)) from None
        finally:
            ArnGenerator.BOTO_SESSION_REGION_NAME = saved
    return out, local
