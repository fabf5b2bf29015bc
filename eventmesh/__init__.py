"""eventmesh: a local event-routing emulator and simulator for SNS, SQS, Kinesis, EventBridge and Lambda."""

from eventmesh.clock import Clock, RealClock, VirtualClock
from eventmesh.errors import EventMeshError, ServiceError
from eventmesh.mesh import Mesh

__all__ = ["Clock", "RealClock", "VirtualClock", "EventMeshError", "ServiceError", "Mesh"]
__version__ = "0.1.0"
