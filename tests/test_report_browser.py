"""The report in headless Chromium: it loads without console errors and renders every table."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_fixtures import TABLE_IDS, build, make_results

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The page has no scripts (its CSP forbids them), so any console message at all is a fault.
CONSOLE_ERROR = re.compile(r"Uncaught|Refused to|:CONSOLE[:(]")


def _chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.fail(
            "headless Chromium is missing: run `.ci/setup-services` (it installs "
            "chromium with apt-get) and try again"
        )
    return path


def _browse(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [
        _chromium(),
        *FLAGS,
        f"--user-data-dir={tmp / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    kwargs = make_results(root)
    out = root / "report" / "index.html"
    build(kwargs, out)
    return out


def test_page_loads_without_console_errors(page, tmp_path):
    done = _browse(page, tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    for table_id in TABLE_IDS:
        assert f'id="{table_id}"' in done.stdout
    assert 'id="synthetic-banner"' in done.stdout
    for element_id in ("section-comparison", "table-comparison", "heatmap-covariance"):
        assert f'id="{element_id}"' in done.stdout
    errors = [line for line in done.stderr.splitlines() if CONSOLE_ERROR.search(line)]
    assert not errors, errors


def test_screenshot_is_a_png(page, tmp_path):
    shot = tmp_path / "report.png"
    done = _browse(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,4000")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
