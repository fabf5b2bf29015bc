"""Helpers for the SNS tests: a recording SQS-like target and an HTTP endpoint double."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from eventmesh.effects import Delivery, DeliveryResult, HttpRequest, HttpResponse, Outcome
from eventmesh.mesh import Mesh
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.topic import PublishEntry, PublishResult, Topic


class RecordingQueue:
    """An in-process delivery target that records each accepted batch with its virtual time.

    ``fail`` lists error codes answered to the next accepts, one per accept (then success); each is
    answered as a retryable failure unless it is an ``Outcome`` kind's name (``"MISSING"``...).
    """

    def __init__(self, mesh: Mesh, name: str, fail: list[str] | None = None) -> None:
        self.mesh = mesh
        self.arn = mesh.arn("sqs", name) if not name.startswith("arn:") else name
        self.fail = list(fail or [])
        self.attempts: list[float] = []
        self.batches: list[tuple[float, list[Delivery], str]] = []
        mesh.add(self)

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        now = self.mesh.clock.now()
        self.attempts.append(now)
        if self.fail:
            code = self.fail.pop(0)
            kind = Outcome[code] if code in Outcome.__members__ else Outcome.FAILED
            return DeliveryResult(kind, code, "scripted failure")
        self.batches.append((now, list(items), source_arn))
        return DeliveryResult()

    @property
    def items(self) -> list[Delivery]:
        return [item for _, items, _ in self.batches for item in items]

    @property
    def bodies(self) -> list[str]:
        return [item.body for item in self.items]


class FakeHttp:
    """Answers every HttpRequest synchronously: ``status(effect)`` gives the status (None: no answer)."""

    def __init__(self, mesh: Mesh, status: int | None | Callable[[HttpRequest], int | None] = 200) -> None:
        self.mesh = mesh
        self.status = status
        self.calls: list[tuple[float, HttpRequest]] = []
        mesh.subscribe(HttpRequest, self._on)

    def _on(self, effect: HttpRequest) -> None:
        self.calls.append((self.mesh.clock.now(), effect))
        status = self.status(effect) if callable(self.status) else self.status
        self.mesh.reply(effect.reply_to, HttpResponse(status, None if status is not None else "connection refused"))

    def of_type(self, kind: str) -> list[tuple[float, HttpRequest]]:
        return [(t, e) for t, e in self.calls if e.headers.get("x-amz-sns-message-type") == kind]


def make_topic(mesh: Mesh, name: str = "orders", **attributes: str) -> Topic:
    return sns_service.create_topic(mesh, name, dict(attributes))


def publish(topic: Topic, message: str = "hello", **kwargs: Any) -> PublishResult:
    result = topic.publish(PublishEntry(message=message, **kwargs))
    topic.mesh.flush()
    return result


def attrs(**values: str) -> dict[str, dict[str, Any]]:
    """String message attributes in the API shape."""
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def verify_signature(topic: Topic, canonical: str, signature: str, version: str) -> None:
    """Check ``signature`` as a client does: with the certificate served at SigningCertURL
    (raises ``InvalidSignature`` when it does not verify)."""
    pem = topic.signer.certificate(topic.signer.cert_name)
    assert pem is not None
    key = x509.load_pem_x509_certificate(pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
    key.verify(base64.b64decode(signature), canonical.encode(), padding.PKCS1v15(), algorithm)
