"""Drivers run the engine: ``realtime`` on anyio + uvloop for the daemon, ``virtual`` for tests."""
