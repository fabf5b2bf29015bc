"""One worker process of ``eventmesh serve --workers N``: a daemon that shares the port.

A worker is the single-process daemon (``eventmesh.daemon.Daemon``: its mesh, drivers, door)
with a :class:`~eventmesh.workers.node.Node` beside it. It listens on the shared port with its
own ``SO_REUSEPORT`` socket (Linux balances connections across them) or on the one socket the
parent shares (elsewhere); it opens its channels before it listens, and serves only once the
first worker has created the config's resources, each where it belongs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import msgspec

from eventmesh.config import Config, apply_config, apply_settings
from eventmesh.daemon import Daemon, _run_loop
from eventmesh.services.sns.signing import Signer
from eventmesh.workers import lists, probe, remote
from eventmesh.workers.front import Front, install_endpoints
from eventmesh.workers.handover import Handover
from eventmesh.workers.node import Node

__all__ = ["READY", "REUSE_PORT", "WorkerDaemon", "WorkerSpec", "child_main", "listening_socket"]

log = logging.getLogger("eventmesh.workers")

# Linux spreads connections over every socket bound with SO_REUSEPORT; BSD and macOS accept the
# option but hand every connection to one socket, so there the workers share one socket instead.
REUSE_PORT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
SEED_STRIDE = 1 << 20   # a seeded run: worker i draws ids from seed + i * SEED_STRIDE
READY = b"R"            # what a child writes to its status pipe once it serves


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (``SO_REUSEPORT`` where it balances connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if REUSE_PORT:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)
    return sock


class WorkerSpec(msgspec.Struct):
    """What a worker needs to start (the parent builds it; a child gets it pickled)."""

    config: Config
    index: int
    count: int
    host: str
    port: int
    clock: str
    services: list[str] | None = None
    verbose: bool = False
    log_level: int = logging.WARNING
    # Shared by every worker: what functions' minted access keys derive from, and the SNS
    # signing key (a notification's SigningCertURL may be fetched from any worker).
    mint_secret: bytes = b""
    sns_key_pem: bytes | None = None


class WorkerDaemon(Daemon):
    """A daemon that is worker ``spec.index`` of ``spec.count``."""

    def __init__(self, spec: WorkerSpec, peers: dict[int, socket.socket], listen: socket.socket | None,
                 handovers: dict[int, socket.socket] | None = None) -> None:
        config = spec.config
        if config.seed is not None:
            config = msgspec.structs.replace(config, seed=config.seed + spec.index * SEED_STRIDE)
        super().__init__(config, host=spec.host, port=spec.port, clock=spec.clock, services=spec.services,
                         verbose=spec.verbose)
        self.spec = spec
        self.index = spec.index
        self.access_keys.mint_secret = spec.mint_secret or None
        self.mesh.root.state(Signer).private_key_pem = spec.sns_key_pem
        self.node = Node(self.mesh, self.api, spec.index, spec.count)
        self._peers = peers
        self._handovers = handovers or {}
        self._listen_socket = listen
        self._configured = asyncio.Event() if spec.index else None
        self.node.tells["configured"] = self._on_configured
        self.node.on_peer_lost = self._peer_lost
        self.node.asks["waiting"] = self.waiting
        self.http.door = Front(self.http.door, self.node)
        install_endpoints(self)
        lists.install(self)
        remote.install(self)
        probe.install_test_questions(self)

    async def _listen(self, loop: asyncio.AbstractEventLoop) -> asyncio.Server:
        await self.node.connect(self._peers)
        if self._handovers:
            self.node.handover = Handover(self.http, self._handovers)
            self.node.handover.install(loop)
        sock = self._listen_socket if self._listen_socket is not None else listening_socket(self.host, self.port)
        return await loop.create_server(self.http.protocol, sock=sock, start_serving=False)

    async def _apply_config(self) -> None:
        """The first worker creates the config's resources (each call goes where its resource
        belongs, in the config's order); the others take its settings and wait for it."""
        if self.index == 0:
            loop = asyncio.get_running_loop()
            routed = _RoutedApi(self.node, loop)
            host = f"{self.host}:{self.bound_port}"
            try:
                await loop.run_in_executor(None, lambda: apply_config(self.config, routed, host=host))  # type: ignore[arg-type]
            finally:
                self.node.tell_all("configured")
            return
        apply_settings(self.config, self.mesh)
        assert self._configured is not None
        await self._configured.wait()

    def _on_configured(self, peer: int, args: Any) -> None:
        if self._configured is not None:
            self._configured.set()

    def _peer_lost(self, peer: int) -> None:
        if self._stopped is not None and not self._stopped.is_set():
            log.error("worker %d: worker %d went away; stopping", self.index, peer)
            self.stop()

    async def wait_stopped(self) -> None:
        self.node.on_peer_lost = None   # peers stop too: their channels closing is expected now
        await super().wait_stopped()   # a draining door hands no connection over
        if self.node.handover is not None:
            self.node.handover.close(asyncio.get_running_loop())
        self.node.close()

    async def run(self, ready: Callable[[Daemon], None] | None = None) -> None:
        await super().run(ready)


class _RoutedApi:
    """What ``apply_config`` needs of an Api, with each call run by the worker it belongs to
    (called from a thread beside the loop: each call hops onto the loop)."""

    def __init__(self, node: Node, loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.loop = loop
        self.mesh = node.mesh
        self.services = node.api.services

    def call(self, service: str, operation: str, params: dict[str, Any], *, host: str = "localhost:4566") -> Any:
        future = asyncio.run_coroutine_threadsafe(self.node.call(service, operation, params, host), self.loop)
        return future.result()


def child_main(spec: WorkerSpec, peers: dict[int, socket.socket], listen: socket.socket | None,
               status: int, handovers: dict[int, socket.socket] | None = None) -> None:
    """A child worker: serve until SIGTERM/SIGINT, writing ``READY`` to the ``status`` pipe
    once it serves (the parent waits for it; end of file without it means it failed)."""
    logging.basicConfig(level=spec.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    daemon = WorkerDaemon(spec, peers, listen, handovers)

    def ready(_: Daemon) -> None:
        os.write(status, READY)

    try:
        _run_loop(daemon.run(ready))
    finally:
        os.close(status)
