"""A second SDK: the main calls of every service through the AWS SDK for JavaScript v3 (and a
layer, a response stream and a function URL of Lambda).

Runs when node and npm are installed and the npm registry answers (the packages are installed
once into a cache directory); skipped otherwise. The daemon runs on the real clock, on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from eventmesh.daemon import serve_in_thread
from tests.zips import files_zip

PACKAGES = ["@aws-sdk/client-sqs", "@aws-sdk/client-sns", "@aws-sdk/client-kinesis",
            "@aws-sdk/client-eventbridge", "@aws-sdk/client-lambda"]
SCRIPT = Path(__file__).with_name("smoke.mjs")
HANDLER = ("from layered import STEP\n\ndef handler(event, context):\n"
           "    return {'n': event.get('n', 0) + STEP, 'path': event.get('rawPath')}\n")
LAYER = {"python/layered.py": "STEP = 1\n"}   # the function's step comes from its layer


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    cache = Path(os.environ.get("EVENTMESH_JS_CACHE", Path.home() / ".cache" / "eventmesh-js-sdk"))
    if not all((cache / "node_modules" / p).exists() for p in PACKAGES):
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "package.json").write_text('{"name": "eventmesh-js-smoke", "private": true}')
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", *PACKAGES], cwd=cache,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"npm could not install the SDK: {done.stderr.strip()[-300:]}")
    return cache


def _zip(files: dict[str, str]) -> str:
    return base64.b64encode(files_zip(files)).decode()


@pytest.fixture(scope="module")
def seen(node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("js")
    script = tmp_path / "smoke.mjs"
    shutil.copy(SCRIPT, script)
    (tmp_path / "node_modules").symlink_to(node_modules / "node_modules")
    daemon = serve_in_thread(clock="real")
    try:
        done = subprocess.run(["node", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "EVENTMESH_URL": daemon.url,
                                   "EVENTMESH_ZIP": _zip({"app.py": HANDLER}), "EVENTMESH_LAYER_ZIP": _zip(LAYER)})
    finally:
        daemon.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_sqs_sns_eventbridge_and_lambda_through_the_javascript_sdk(seen: dict) -> None:
    assert seen["sqs"]["body"] == "from js" and seen["sqs"]["attribute"] == "v"
    assert seen["sqs"]["md5"] == hashlib.md5(b"from js").hexdigest()  # the SDK verifies it too
    assert seen["sns"]["subscriptions"] == 1 and seen["sns"]["delivered"] == "fanned out"
    assert seen["events"] == {"failed": 0, "source": "js.app"}
    lam = seen["lambda"]
    assert (lam["status"], lam["runtime"], lam["layers"]) == (200, "python3.12", 1)
    assert json.loads(lam["payload"]) == {"n": 42, "path": None}
    assert json.loads(lam["streamed"]) == {"n": 2, "path": None}
    assert "/lambda-url/us-east-1/" in lam["url"]
    assert lam["fetched"]["status"] == 200 and json.loads(lam["fetched"]["body"]) == {"n": 1, "path": "/from-node"}


def test_kinesis_through_the_javascript_sdk(seen: dict) -> None:
    """The JS SDK's Kinesis client speaks HTTP/2 (h2 prior knowledge)."""
    assert seen["kinesis"] == {"shardId": "shardId-000000000000", "data": "kinesis from js",
                               "tags": [{"Key": "team", "Value": "js"}]}, seen["kinesis"]
