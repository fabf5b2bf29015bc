"""Runners and worker processes: python handlers (import path, zip), http handlers, timeouts, crashes."""

from __future__ import annotations

import http.server
import json
import threading

import anyio
import pytest

from eventmesh.clock import RealClock
from eventmesh.drivers.lambda_.runner import install_runner, install_virtual_runner
from eventmesh.drivers.lambda_.workers import WorkerPool
from eventmesh.effects import InvocationJob
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_ import create_function
from tests.services.lambda_.fnhelpers import ROLE, invoke_sync
from tests.zips import files_zip


def _job(target: str, timeout_s: float = 2.0, **kwargs) -> InvocationJob:
    return InvocationJob("python", target, b'{"n": 1}', "req", "fn", "$LATEST",
                         "arn:aws:lambda:us-east-1:000000000000:function:fn", 128, timeout_s, "us-east-1",
                         "000000000000", **kwargs)


def test_import_path_handler_gets_event_context_and_environment(vmesh, driver, tmp_path, monkeypatch):
    (tmp_path / "emhandlers_ctx.py").write_text(
        "import os\n"
        "def handle(event, context):\n"
        "    return {'event': event, 'id': context.aws_request_id, 'name': context.function_name,\n"
        "            'arn': context.invoked_function_arn, 'memory': context.memory_limit_in_mb,\n"
        "            'left': context.get_remaining_time_in_millis(), 'group': context.log_group_name,\n"
        "            'color': os.environ['COLOR'], 'fn_env': os.environ['AWS_LAMBDA_FUNCTION_NAME']}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    install_virtual_runner(vmesh, duration_s=0.5)
    fn = create_function(vmesh, "ctx", role=ROLE, handler="emhandlers_ctx:handle", memory=512, timeout=10,
                         environment={"COLOR": "blue"})
    results = invoke_sync(fn, b'{"k": 1}', request_id="req-7")
    driver.advance(0.5)
    assert json.loads(results[0].payload) == {
        "event": {"k": 1}, "id": "req-7", "name": "ctx", "arn": fn.arn, "memory": "512", "left": 10000,
        "group": "/aws/lambda/ctx", "color": "blue", "fn_env": "ctx"}
    assert results[0].duration_s == 0.5


def test_zip_handler_imports_its_own_modules(vmesh, driver):
    install_virtual_runner(vmesh)
    code = files_zip({"main.py": "from helper import twice\n"
                            "def run(event, context):\n    return twice(event['n'])\n",
                 "helper.py": "def twice(n):\n    return 2 * n\n"})
    fn = create_function(vmesh, "z", role=ROLE, handler="main.run", runtime="python3.12", zip_file=code)
    results = invoke_sync(fn, b'{"n": 4}')
    driver.advance(1)
    assert results[0].payload == b"8"


def test_missing_handler_and_unserialisable_result_are_function_errors(vmesh, driver, tmp_path, monkeypatch):
    (tmp_path / "emhandlers_bad.py").write_text("def weird(event, context):\n    return object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    install_virtual_runner(vmesh)
    missing = create_function(vmesh, "m", role=ROLE, handler="emhandlers_bad:absent")
    weird = create_function(vmesh, "w", role=ROLE, handler="emhandlers_bad:weird")
    first, second = invoke_sync(missing), invoke_sync(weird)
    driver.advance(1)
    assert first[0].error_type == "Runtime.HandlerNotFound"
    message = json.loads(first[0].payload)["errorMessage"]
    assert message == "Handler 'absent' missing on module 'emhandlers_bad'"
    assert second[0].error_type == "Runtime.MarshalError"


def test_virtual_duration_past_the_timeout_is_a_timeout(vmesh, driver, tmp_path, monkeypatch):
    (tmp_path / "emhandlers_ok.py").write_text("def ok(event, context):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    install_virtual_runner(vmesh, duration_s=5)
    fn = create_function(vmesh, "t", role=ROLE, handler="emhandlers_ok:ok", timeout=3)
    results = invoke_sync(fn)
    driver.advance(5)
    assert results[0].error_type == "Sandbox.Timedout"


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event = json.loads(body)
        reply = json.dumps({"echo": event}).encode()
        self.send_response(200)
        if event.get("fail"):
            self.send_header("X-Amz-Function-Error", "Unhandled")
            reply = json.dumps({"errorType": "Boom", "errorMessage": "failed"}).encode()
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/2015-03-31/functions/function/invocations"
    server.shutdown()


def test_http_handler_posts_the_event(vmesh, driver, echo_url):
    install_virtual_runner(vmesh)
    fn = create_function(vmesh, "h", role=ROLE, handler=echo_url, runtime="provided.al2023")
    ok, failed = invoke_sync(fn, b'{"a": 1}'), invoke_sync(fn, b'{"fail": true}')
    driver.advance(1)
    assert json.loads(ok[0].payload) == {"echo": {"a": 1}} and ok[0].function_error is None
    assert (failed[0].function_error, failed[0].error_type) == ("Unhandled", "Boom")


def test_unreachable_http_handler_is_a_system_error_retried_like_a_throttle(vmesh, driver):
    install_virtual_runner(vmesh)
    fn = create_function(vmesh, "down", role=ROLE, handler="http://127.0.0.1:9/invocations")
    results = invoke_sync(fn)
    fn.invoke(b"{}", invocation_type="Event")
    driver.advance(1.5)
    assert results[0].status == 500 and results[0].error_type == "ServiceException"
    stats = fn.statistics()
    assert (stats.invocations, stats.errors, stats.async_events_dropped) == (0, 0, 0)
    assert stats.async_queue_depth == 1 and stats.concurrent_executions <= 1


def test_worker_pool_runs_zips_and_survives_timeouts_and_crashes():
    pool = WorkerPool(1)
    try:
        code = files_zip({"app.py": "import os, time\n"
                               "def ok(e, c):\n    return {'pid': os.getpid(), 'n': e['n']}\n"
                               "def spin(e, c):\n    while True: pass\n"
                               "def die(e, c):\n    os._exit(3)\n"})
        first = pool.run(_job("app.ok", code_sha256="c2hh"), code)
        assert json.loads(first.payload)["n"] == 1 and first.error_type is None
        timed_out = pool.run(_job("app.spin", timeout_s=0.2, code_sha256="c2hh"), code)
        assert timed_out.error_type == "Sandbox.Timedout"
        assert timed_out.error_message == "RequestId: req Error: Task timed out after 0.20 seconds"
        crashed = pool.run(_job("app.die", code_sha256="c2hh"), code)
        assert crashed.error_type == "Runtime.ExitError"
        again = pool.run(_job("app.ok", code_sha256="c2hh"), code)
        assert again.error_type is None
        assert json.loads(again.payload)["pid"] != json.loads(first.payload)["pid"]
    finally:
        pool.close()


def test_realtime_runner_completes_sync_invocations_on_the_event_loop():
    code = files_zip({"app.py": "def ok(e, c):\n    return e['n'] + 1\n"})

    async def main() -> list:
        mesh = Mesh(RealClock(), seed=1)
        async with anyio.create_task_group() as tg:
            runner = install_runner(mesh, lambda coro: tg.start_soon(lambda: coro), workers=1)
            fn = create_function(mesh, "rt", role=ROLE, handler="app.ok", runtime="python3.12", zip_file=code)
            results: list = []
            done = anyio.Event()

            def collect(result) -> None:
                results.append(result)
                if len(results) == 3:
                    done.set()

            for n in range(3):
                fn.invoke(f'{{"n": {n}}}'.encode(), on_done=collect)
            mesh.flush()
            with anyio.fail_after(30):
                await done.wait()
            assert fn.statistics().concurrent_executions == 0
            runner.close()
            tg.cancel_scope.cancel()
        return results

    results = anyio.run(main)  # bounded by fail_after above
    assert sorted(r.payload for r in results) == [b"1", b"2", b"3"]
