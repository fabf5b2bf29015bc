"""SNS message signatures: a real RSA key pair per daemon, its certificate at the SigningCertURL.

SNS signs the canonical string of every notification and (un)subscribe confirmation (``Key\\nValue\\n``
pairs, ``records.py``) with SHA1withRSA for ``SignatureVersion`` 1 and SHA256withRSA for 2, base64
encoded, and serves the X.509 certificate of the public key at ``SigningCertURL``
(``SimpleNotificationService-<hash>.pem``). Here one 2048-bit key and a self-signed certificate are
made on first use per mesh (``mesh.root.state(Signer)``), so clients that fetch the certificate and
verify signatures (``cryptography``, the SDKs' message validators pointed at the daemon) accept them.
The daemon serves the certificate at ``GET /<certificate name>``.

An RSA signature costs ≈0.3 ms of CPU, one per published message (all its subscriptions share
it), which caps an enveloped fan-out near 3,000 messages/s on one core. ``mode = "digest"``
(config ``sns_signatures: digest``) signs with a base64 SHA1/SHA256 digest instead: as fast as
before, but no client can verify it.
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable

from eventmesh.mesh import Mesh

__all__ = ["CERT_NAME_PREFIX", "DIGEST_CERT_NAME", "SIGNING_MODES", "Signer"]

SIGNING_MODES = ("rsa", "digest")
RSA_KEY_BITS = 2048  # the size of AWS's SNS signing keys
RSA_PUBLIC_EXPONENT = 65537
CERT_NAME_PREFIX = "SimpleNotificationService-"
CERT_NAME_HASH_CHARS = 32  # AWS's names carry 32 hex digits
DIGEST_CERT_NAME = f"{CERT_NAME_PREFIX}{'0' * 24}eventmesh.pem"  # named in digest mode (nothing signs)
CERT_COMMON_NAME = "sns.amazonaws.com"
# A fixed validity (no clock read): the certificate is valid for any time a simulation runs at.
CERT_NOT_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CERT_NOT_AFTER = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class Signer:
    """The mesh's signing key and certificate (one per daemon, made when first needed)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mode = "rsa"
        self._signers: dict[str, Callable[[bytes], bytes]] = {}  # by SignatureVersion
        self._pem: bytes | None = None
        self._name: str | None = None
        # The key to sign with (PKCS#8 PEM), when the daemon gives one: the workers of a daemon
        # of several share it, so any of them serves the certificate every message names.
        self.private_key_pem: bytes | None = None

    @staticmethod
    def new_key_pem() -> bytes:
        """A fresh signing key, PKCS#8 PEM (what ``private_key_pem`` takes)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def _load(self) -> None:
        # Imported here: ``cryptography`` costs ~70 ms to import, paid only when RSA is used.
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from cryptography.x509.oid import NameOID

        if self.private_key_pem is not None:
            loaded = serialization.load_pem_private_key(self.private_key_pem, password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            key = loaded
        else:
            key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_COMMON_NAME)])
        serial = int.from_bytes(hashlib.sha256(key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()[:16], "big")
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(serial >> 1).not_valid_before(CERT_NOT_BEFORE).not_valid_after(CERT_NOT_AFTER)
                .sign(key, hashes.SHA256()))
        pkcs1 = padding.PKCS1v15()
        sha1, sha256 = hashes.SHA1(), hashes.SHA256()  # noqa: S303 - SignatureVersion 1 is SHA1withRSA
        self._signers = {"1": lambda data: key.sign(data, pkcs1, sha1),
                         "2": lambda data: key.sign(data, pkcs1, sha256)}
        self._pem = cert.public_bytes(serialization.Encoding.PEM)
        digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        self._name = f"{CERT_NAME_PREFIX}{digest[:CERT_NAME_HASH_CHARS]}.pem"

    @property
    def cert_name(self) -> str:
        """The file name in ``SigningCertURL``."""
        if self.mode != "rsa":
            return DIGEST_CERT_NAME
        if self._name is None:
            self._load()
        assert self._name is not None
        return self._name

    def certificate(self, name: str) -> bytes | None:
        """The PEM certificate served at ``/<name>``, or None when ``name`` is not ours."""
        if name != self.cert_name:
            return None
        if self._pem is None:
            self._load()
        return self._pem

    def sign(self, canonical: str, version: str) -> str:
        """Base64 signature of ``canonical``: SHA1withRSA for version 1, SHA256withRSA for 2."""
        data = canonical.encode()
        if self.mode != "rsa":
            digest = hashlib.sha256 if version == "2" else hashlib.sha1
            return base64.b64encode(digest(data).digest()).decode()
        if not self._signers:
            self._load()
        signer = self._signers["2" if version == "2" else "1"]
        return base64.b64encode(signer(data)).decode()
