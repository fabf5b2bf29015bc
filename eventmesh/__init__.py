"""eventmesh: a local event-routing emulator and simulator for SNS, SQS, Kinesis, EventBridge and Lambda."""

from eventmesh.clock import Clock, RealClock, VirtualClock
from eventmesh.errors import EventMeshError, ServiceError
from eventmesh.mesh import Mesh

__all__ = ["Clock", "EventMeshError", "Mesh", "RealClock", "ServiceError", "VirtualClock"]
__version__ = "0.1.0"
