"""What the workers of one daemon share so that any of them answers for the others: the secret
functions' access keys are minted from, and the key SNS signs with."""

from __future__ import annotations

import pytest

from eventmesh.services.sns.signing import Signer
from eventmesh.wire.auth import AccessKeys, UnrecognizedClientException


def test_keys_minted_from_one_secret_pass_every_worker() -> None:
    secret = b"s" * 32
    home, other = AccessKeys({"AKIDEXAMPLE": None}, secret), AccessKeys({"AKIDEXAMPLE": None}, secret)
    key = home.mint("111122223333")
    assert key == home.mint("111122223333")
    assert other.account(key) == "111122223333"   # never told: derived from the secret
    forged = key[:-1] + ("0" if key[-1] != "0" else "1")
    stranger = AccessKeys({"AKIDEXAMPLE": None}, b"t" * 32)
    for keys, candidate in ((other, forged), (stranger, key)):
        with pytest.raises(UnrecognizedClientException):
            keys.account(candidate)


def test_signers_given_one_key_name_and_serve_one_certificate() -> None:
    pem = Signer.new_key_pem()
    first, second = Signer(None), Signer(None)  # type: ignore[arg-type]  # the mesh is not read
    first.private_key_pem = second.private_key_pem = pem
    assert first.cert_name == second.cert_name   # the SigningCertURL any worker's message names
    assert first.certificate(first.cert_name) == second.certificate(first.cert_name)
    assert first.sign("canonical", "2") == second.sign("canonical", "2")
    assert Signer(None).cert_name != first.cert_name   # type: ignore[arg-type]  # a key of its own
