"""Adjustable service quotas: AWS's defaults, and the values an operator raised or lowered.

AWS lets an account raise (or have lowered) its adjustable quotas through Service Quotas; a load
test of 1,000 rules on one bus needs "Rules per event bus" above its default of 300. Each service
declares its adjustable quotas beside its model, as :class:`Quota` constants with the Service
Quotas name and code and AWS's default; the code asks ``quota_value(mesh, QUOTA)`` wherever the
limit applies, and the APIs that report a quota (Lambda GetAccountSettings, Kinesis
DescribeLimits, ...) report the same value. A config's ``quotas:`` section sets values by
service and Service Quotas name::

    quotas:
      events:
        Rules per event bus: 2000
      lambda:
        Concurrent executions: 5000

The values apply to every account and Region of the mesh (one operator, one setting).
https://docs.aws.amazon.com/servicequotas/latest/userguide/intro.html
"""

from __future__ import annotations

import msgspec

from eventmesh.mesh import Mesh

__all__ = ["Quota", "Quotas", "quota_value"]


class Quota(msgspec.Struct, frozen=True):
    """One adjustable AWS quota: ``service`` is the service code of Service Quotas (``events``,
    ``lambda``, ``kinesis``, ``sqs``, ``sns``), ``name`` its quota name, ``code`` its quota code."""

    service: str
    name: str
    default: int
    code: str = ""  # the Service Quotas code where the documentation gives it


class Quotas:
    """The operator's quota values (account-level state of the mesh's root scope)."""

    def __init__(self, mesh: Mesh) -> None:
        self.values: dict[tuple[str, str], int] = {}

    def set(self, service: str, name: str, value: int) -> None:
        self.values[(service, name)] = value

    def value(self, quota: Quota) -> int:
        return self.values.get((quota.service, quota.name), quota.default)


def quota_value(mesh: Mesh, quota: Quota) -> int:
    """The value of ``quota`` in effect: the operator's, else AWS's default."""
    return mesh.root.state(Quotas).value(quota)
