"""Execution environments as real processes: Lambda's environment before init, captured output,
the runtime's logging, timeouts, MemorySize, the Runtime API (a Python bootstrap, Node.js)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import stat
import zipfile
from collections.abc import Iterator

import msgspec
import pytest

from eventmesh.drivers.lambda_.workers import WorkerPool
from eventmesh.effects import InvocationJob

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec"
LAMBDA_KEYS = {
    "PATH", "LANG", "TZ", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "_HANDLER", "LAMBDA_TASK_ROOT",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_EXECUTION_ENV", "AWS_ENDPOINT_URL",
}


def package(files: dict[str, str], executable: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((0o755 if name in executable else 0o644) | stat.S_IFREG) << 16
            archive.writestr(info, source)
    return buffer.getvalue()


def job(code: bytes, handler: str, payload: bytes = b"{}", *, runtime: str = "python3.12", kind: str = "python",
        request_id: str = "req-1", timeout_s: float = 5.0, memory_mb: int = 128, revision: str = "r1",
        environment: dict[str, str] | None = None) -> InvocationJob:
    sha = base64.b64encode(hashlib.sha256(code).digest()).decode()
    return InvocationJob(kind, handler, payload, request_id, "fn", "$LATEST",
                         f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn", memory_mb, timeout_s, "eu-west-1",
                         ACCOUNT, environment or {}, sha, "", "/aws/lambda/fn", "", 0.0, runtime, handler, revision,
                         ROLE)


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(2, endpoint_url="http://127.0.0.1:4566")
    yield workers
    workers.close()


ENV_HANDLER = """
import os
import boto3_free_marker  # the package's own module, importable at init
OUT_URL = os.environ["OUT_URL"]          # read at import time, as most real handlers do
SEEN_AT_INIT = dict(os.environ)

def handler(event, context):
    return {"out_url": OUT_URL, "init_env": SEEN_AT_INIT, "stream": context.log_stream_name,
            "cwd": os.getcwd()}
"""


def test_module_level_code_sees_lambdas_environment_and_nothing_of_the_daemons(pool, monkeypatch):
    monkeypatch.setenv("DAEMON_ONLY_SECRET", "must-not-leak")
    code = package({"app.py": ENV_HANDLER, "boto3_free_marker.py": ""})
    outcome = pool.run(job(code, "app.handler", environment={"OUT_URL": "http://out"}), code)
    assert outcome.error_type is None, outcome.payload
    body = json.loads(outcome.payload)
    env = body["init_env"]
    assert body["out_url"] == "http://out"
    assert "DAEMON_ONLY_SECRET" not in env and "PYTHONPATH" not in env
    assert set(env) - {"LC_CTYPE"} == LAMBDA_KEYS | {"OUT_URL"}
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["stream"] == outcome.log_stream
    assert "/[$LATEST]" in outcome.log_stream
    assert env["_HANDLER"] == "app.handler" and env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["AWS_ACCESS_KEY_ID"] == ACCOUNT   # the daemon acts in the function's account
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_CONFIG_FILE"] == os.devnull   # the operator's own AWS profile is out of reach
    assert outcome.init_duration_s > 0 and outcome.max_memory_mb > 0


def test_a_function_variable_overrides_the_endpoint_and_reserved_ones_are_lambdas(pool):
    code = package({"app.py": "import os\ndef handler(e, c):\n    return os.environ['AWS_ENDPOINT_URL']\n"})
    outcome = pool.run(job(code, "app.handler", environment={"AWS_ENDPOINT_URL": "http://elsewhere"}), code)
    assert json.loads(outcome.payload) == "http://elsewhere"


LOGGING_HANDLER = """
import logging, sys
print("cold start")
logger = logging.getLogger()

def handler(event, context):
    print("print line")
    print("to stderr", file=sys.stderr)
    logging.info("dropped: the root logger stays at WARNING")
    logger.setLevel(logging.INFO)
    logging.info("kept after setLevel")
    logging.warning("two\\nlines")
    return "ok"
"""


def test_output_print_stderr_and_the_runtimes_logging_format_are_captured(pool):
    code = package({"app.py": LOGGING_HANDLER})
    first = pool.run(job(code, "app.handler", request_id="rid-1"), code)
    assert first.init_log == "cold start\n"
    lines = first.log.split("\n")
    assert lines[:2] == ["print line", "to stderr"]
    assert not any("dropped" in line for line in lines)
    level, stamp, request_id, message = lines[2].split("\t")
    assert (level, request_id, message) == ("[INFO]", "rid-1", "kept after setLevel")
    assert stamp.endswith("Z") and len(stamp) == len("2024-01-01T00:00:00.000Z")
    assert lines[3].endswith("\trid-1\ttwo\rlines")   # one entry: one CloudWatch event
    second = pool.run(job(code, "app.handler", request_id="rid-2"), code)
    assert second.init_log == "" and second.init_duration_s == 0.0   # a warm start
    assert "cold start" not in second.log and second.log.startswith("print line\n")


def test_a_timed_out_invocation_keeps_what_it_printed_and_the_environment_is_replaced(pool):
    code = package({"app.py": "import time\ndef handler(e, c):\n    print('working', flush=True)\n"
                              "    time.sleep(30)\n"})
    outcome = pool.run(job(code, "app.handler", timeout_s=1.0), code)
    assert outcome.error_type == "Sandbox.Timedout"
    assert outcome.log == "working\n"
    assert pool.started == 1
    pool.run(job(code, "app.handler", timeout_s=1.0, request_id="again"), code)
    assert pool.started == 2


def test_allocating_past_memory_size_fails_with_runtime_out_of_memory(pool):
    code = package({"app.py": "def handler(e, c):\n    if e.get('big'):\n        b = bytearray(3 << 30)\n"
                              "    return 'small'\n"})
    outcome = pool.run(job(code, "app.handler", b'{"big": true}'), code)
    assert outcome.error_type == "Runtime.OutOfMemory"
    assert json.loads(outcome.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: req-1 Error: Runtime exited with error: signal: killed"}
    assert outcome.max_memory_mb == 128
    again = pool.run(job(code, "app.handler", request_id="req-2"), code)   # a fresh environment
    assert again.error_type is None and json.loads(again.payload) == "small"


def test_environments_serve_one_function_version_and_revision(pool):
    code = package({"app.py": "import os\nPID = os.getpid()\ndef handler(e, c):\n    return PID\n"})
    a1 = json.loads(pool.run(job(code, "app.handler"), code).payload)
    a2 = json.loads(pool.run(job(code, "app.handler"), code).payload)
    b = json.loads(pool.run(job(code, "app.handler", revision="r2"), code).payload)
    assert a1 == a2 != b
    assert pool.started == 2


def test_a_package_whose_entries_escape_is_not_extracted(pool):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        archive.writestr("../../escaped.py", "x = 1\n")
    code = buffer.getvalue()
    outcome = pool.run(job(code, "app.handler"), code)
    assert outcome.error_type == "Runtime.InvalidEntrypoint"


BOOTSTRAP = """#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
print("init", os.environ["_HANDLER"], flush=True)
if os.environ.get("FAIL_INIT"):
    body = json.dumps({"errorType": "Custom.InitError", "errorMessage": "no config"}).encode()
    urllib.request.urlopen(urllib.request.Request(api + "/init/error", body, method="POST"))
    raise SystemExit(1)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(r.headers["Lambda-Runtime-Deadline-Ms"])
        arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
        event = json.loads(r.read())
    print("got", event, flush=True)
    if event.get("fail"):
        body = json.dumps({"errorType": "MyError", "errorMessage": "asked to"}).encode()
        urllib.request.urlopen(urllib.request.Request(api + f"/invocation/{rid}/error", body, method="POST"))
        continue
    body = json.dumps({"echo": event, "rid": rid, "arn": arn, "has_deadline": deadline > 0,
                       "region": os.environ["AWS_REGION"]}).encode()
    urllib.request.urlopen(urllib.request.Request(api + f"/invocation/{rid}/response", body, method="POST"))
"""


def test_a_custom_runtime_bootstrap_speaks_the_runtime_api(pool):
    code = package({"bootstrap": BOOTSTRAP}, executable=("bootstrap",))
    first = pool.run(job(code, "my.handler", b'{"n": 1}', runtime="provided.al2023", kind="runtime"), code)
    assert first.error_type is None, first.payload
    assert json.loads(first.payload) == {"echo": {"n": 1}, "rid": "req-1", "has_deadline": True,
                                         "arn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn",
                                         "region": "eu-west-1"}
    assert first.init_log == "init my.handler\n" and first.log == "got {'n': 1}\n"
    assert first.init_duration_s > 0
    failed = pool.run(job(code, "my.handler", b'{"fail": true}', runtime="provided.al2023", kind="runtime",
                          request_id="req-2"), code)
    assert failed.error_type == "MyError" and failed.error_message == "asked to"
    assert pool.started == 1   # the same environment answered both


def test_a_bootstrap_that_reports_an_init_error_fails_the_invocation(pool):
    code = package({"bootstrap": BOOTSTRAP}, executable=("bootstrap",))
    outcome = pool.run(job(code, "h", runtime="provided.al2023", kind="runtime",
                           environment={"FAIL_INIT": "1"}), code)
    assert outcome.error_type == "Custom.InitError" and outcome.error_message == "no config"
    assert "init h" in outcome.init_log


def test_a_package_without_bootstrap_is_an_invalid_entrypoint(pool):
    code = package({"readme.txt": "no bootstrap"})
    outcome = pool.run(job(code, "h", runtime="provided.al2023", kind="runtime"), code)
    assert outcome.error_type == "Runtime.InvalidEntrypoint"
    assert "Couldn't find valid bootstrap" in (outcome.error_message or "")


def test_a_bootstrap_that_exits_mid_invocation_is_an_exit_error(pool):
    code = package({"bootstrap": "#!/bin/sh\nexit 3\n"}, executable=("bootstrap",))
    outcome = pool.run(job(code, "h", runtime="provided.al2023", kind="runtime"), code)
    assert outcome.error_type == "Runtime.ExitError"
    assert outcome.error_message == "RequestId: req-1 Error: Runtime exited with error: exit status 3"


NODE_FILES = {
    "index.js": "console.log('loading');\n"
                "exports.handler = async (event, context) => {\n"
                "  console.log('event', JSON.stringify(event));\n"
                "  if (event.fail) throw new TypeError('bad input');\n"
                "  return {doubled: event.n * 2, fn: context.functionName,\n"
                "          left: context.getRemainingTimeInMillis() > 0, region: process.env.AWS_REGION};\n"
                "};\n"
                "exports.callback = (event, context, callback) => { callback(null, 'via callback'); };\n",
    "esm/app.mjs": "export const handler = async (event) => ({module: 'esm', n: event.n});\n",
}
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
def test_node_handlers_run_from_a_zip(pool):
    code = package(NODE_FILES)
    node = dict(runtime="nodejs20.x", kind="runtime")
    ok = pool.run(job(code, "index.handler", b'{"n": 21}', **node), code)
    assert ok.error_type is None, ok.payload
    assert json.loads(ok.payload) == {"doubled": 42, "fn": "fn", "left": True, "region": "eu-west-1"}
    assert ok.init_log.endswith("\tundefined\tINFO\tloading\n")
    assert ok.log.endswith('\treq-1\tINFO\tevent {"n":21}\n')
    bad = pool.run(job(code, "index.handler", b'{"fail": 1}', request_id="req-2", **node), code)
    assert bad.error_type == "TypeError" and bad.error_message == "bad input"
    assert json.loads(bad.payload)["trace"][0] == "TypeError: bad input"
    called = pool.run(job(code, "index.callback", revision="cb", **node), code)
    assert json.loads(called.payload) == "via callback"
    esm = pool.run(job(code, "esm/app.handler", b'{"n": 5}', revision="esm", **node), code)
    assert json.loads(esm.payload) == {"module": "esm", "n": 5}


@needs_node
def test_a_node_handler_that_is_missing_is_an_import_error(pool):
    code = package(NODE_FILES)
    outcome = pool.run(job(code, "nothere.handler", runtime="nodejs20.x", kind="runtime"), code)
    assert outcome.error_type == "Runtime.ImportModuleError"
    missing = pool.run(job(code, "index.nope", runtime="nodejs20.x", kind="runtime", revision="x"), code)
    assert missing.error_type == "Runtime.HandlerNotFound"


def test_jobs_cross_to_workers_unchanged():
    code = package({"app.py": ""})
    original = job(code, "app.handler")
    encoded = msgspec.msgpack.encode(original)
    assert msgspec.msgpack.decode(encoded, type=InvocationJob) == original


def test_inline_runs_read_the_environment_at_import_and_log_to_cloudwatch(vmesh, driver):
    from eventmesh.drivers.lambda_.runner import install_virtual_runner
    from eventmesh.services.lambda_ import create_function
    from eventmesh.services.logs import install, recent_log_lines
    from tests.services.lambda_.fnhelpers import invoke_sync

    install(vmesh)
    install_virtual_runner(vmesh, duration_s=0.25)
    code = package({"app.py": "import os\nOUT = os.environ['OUT_URL']\n"
                              "def handler(e, c):\n    print('to', OUT)\n    return OUT\n"})
    fn = create_function(vmesh, "inline", role=ROLE, handler="app.handler", runtime="python3.12", zip_file=code,
                         environment={"OUT_URL": "http://out"})
    results = invoke_sync(fn, request_id="r-9")
    driver.advance(1)
    assert json.loads(results[0].payload) == "http://out"
    assert "OUT_URL" not in os.environ   # applied around the call only
    lines = [line.message for line in recent_log_lines(vmesh, "inline")]
    assert lines == ["START RequestId: r-9 Version: $LATEST\n", "to http://out\n", "END RequestId: r-9\n",
                     "REPORT RequestId: r-9\tDuration: 250.00 ms\tBilled Duration: 250 ms\tMemory Size: 128 MB\t\n"]


def test_a_full_pool_stops_an_idle_environment_of_another_function():
    code = package({"app.py": "import os\ndef handler(e, c):\n    return os.getpid()\n"})
    pool = WorkerPool(1)
    try:
        first = json.loads(pool.run(job(code, "app.handler"), code).payload)
        other = json.loads(pool.run(job(code, "app.handler", revision="other"), code).payload)
        back = json.loads(pool.run(job(code, "app.handler"), code).payload)
        assert len({first, other, back}) == 3 and pool.started == 3
    finally:
        pool.close()
