"""report.html: one self-contained page with the topology, the plots, the totals; looked at in a
real headless browser when one is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import eventmesh.simulate as sim
from tests.simulate.test_runner import _busy

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    sim.run(_busy(), out=out)
    return out


def test_the_page_is_self_contained_and_has_every_part(report: Path):
    page = (report / "report.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for heading in ("Topology", "Faults", "Metrics", "Totals"):
        assert f"<h2>{heading}" in page
    assert "SQS age of oldest message" in page and "balanced" in page
    pngs = sorted(p.name for p in (report / "plots").glob("*.png"))
    assert "topology.png" in pngs and "AWS_SQS_ApproximateAgeOfOldestMessage_Maximum.png" in pngs
    assert all((report / "plots" / name).read_bytes().startswith(b"\x89PNG") for name in pngs)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium installed")
def test_a_real_browser_renders_the_page(report: Path, tmp_path: Path):
    shot = tmp_path / "shot.png"
    run = subprocess.run([_chromium() or "", "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}",
                          "--window-size=1200,1800", f"--screenshot={shot}", (report / "report.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000   # a page with pictures, not a blank one
