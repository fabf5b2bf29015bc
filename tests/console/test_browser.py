"""The console rendered by a real browser (headless Chromium from the OS packages; skipped
when none is installed): its script runs offline, fills the tables and draws the graph."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from eventmesh.config import load_config
from eventmesh.daemon import ServerHandle, serve_in_thread

TOPOLOGY = Path(__file__).resolve().parent / "topology.yaml"
BROWSER = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                if (found := shutil.which(name))), None)
# Enough virtual browser time for the page's first refresh (its fetches are local and fast).
PAGE_BUDGET_MS = 5000
BROWSER_TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(load_config(TOPOLOGY))
    sqs = boto3.client("sqs", endpoint_url=handle.url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"job": "stuck"}')
    handle.advance(30)     # it fails twice and lands in the DLQ
    sqs.send_message(QueueUrl=url, MessageBody='{"job": "running"}')
    handle.advance(1)
    try:
        yield handle
    finally:
        handle.stop()


def _chromium(tmp_path: Path, *args: str) -> str:
    assert BROWSER is not None
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
               f"--virtual-time-budget={PAGE_BUDGET_MS}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=True)
    return done.stdout


def test_the_page_renders_resources_graph_and_dlq(daemon: ServerHandle, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", daemon.url + "/_eventmesh/ui")
    assert 'data-loaded="true"' in dom                      # the script ran its first refresh
    assert "jobs-dlq" in dom and ">DLQ<" in dom              # the DLQ is marked
    assert dom.count('class="node ') >= 9                    # queues, topic, bus, rule, functions, mapping
    assert "failure path" in dom
    assert '{"job": "stuck"}' in dom                         # the DLQ peek, picked first
    assert "START RequestId:" in dom                         # the invocation log
    assert 'clock <b id="clock-mode">virtual</b>' in dom


def test_screenshot(daemon: ServerHandle, tmp_path: Path) -> None:
    shot = tmp_path / "console.png"
    _chromium(tmp_path, "--hide-scrollbars", "--window-size=1400,1700", f"--screenshot={shot}",
              daemon.url + "/_eventmesh/ui")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_advance_button_moves_the_virtual_clock(daemon: ServerHandle, tmp_path: Path) -> None:
    from tests.console.cdp import Page

    assert BROWSER is not None
    page = Page(BROWSER, daemon.url + "/_eventmesh/ui", tmp_path / "cdp-profile")
    try:
        page.wait_for("document.body.dataset.loaded === 'true'")
        before = daemon.mesh.clock.now()
        page.evaluate("document.getElementById('advance-seconds').value = '90';"
                      "document.getElementById('advance').click()")
        message = page.wait_for("document.getElementById('clock-message').textContent")
        assert message.startswith("advanced 90 s")
        assert daemon.mesh.clock.now() == before + 90
        shown = page.wait_for(f"document.getElementById('clock-now').textContent.includes('{before + 90:.3f}')"
                              "&& document.getElementById('clock-now').textContent")
        assert shown == f"t = {before + 90:.3f} s"
    finally:
        page.close()
