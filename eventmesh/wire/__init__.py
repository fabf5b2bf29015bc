"""The daemon's AWS wire: one HTTP port for every service.

``server`` (asyncio Protocol on httptools) → ``router`` (which service and protocol) →
``protocols`` (wire ↔ the botocore model's JSON shape) → one adapter module per service
(``sqs``, ``sns``, ``lambda_``, ``kinesis``, ``events``) that calls the cores. Errors are
rendered in one place, ``api.errors``.
"""
