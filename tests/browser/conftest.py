"""Browser tests: Debian's Chromium, headless, driven by Playwright for Python.

Skipped cleanly when Chromium (``apt-get install -y chromium``) or the
``playwright`` package is missing; Playwright's own browser download is
never used (``playwright install`` needs a network this project has not).
Screenshots go to ``artifacts/screenshots/``; with ``PROVENANCE_UPDATE_DOCS=1``
the README's two screenshots in ``docs/`` are rewritten too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO, SAMPLES, png_bytes

CHROMIUM = os.environ.get("PROVENANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DOCS = REPO / "docs"
HERE = Path(__file__).resolve().parent
A1111 = "a red cube on a table\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: exampleModel"
SHARED_SAMPLES = ("ocsp.jpg", "CIE-sig-CA.jpg", "XCA.jpg")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs headless Chromium and Playwright; skipped when missing")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page with every request it made and every console message and script error."""

    page: Any
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


def watch(context: Any) -> Watched:
    page = context.new_page()
    watched = Watched(page)
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("console", lambda message: watched.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: watched.console.append(f"pageerror: {error}"))
    return watched


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    made = browser.new_context(viewport={"width": 1100, "height": 760}, device_scale_factor=1)
    yield made
    made.close()


@pytest.fixture()
def watched(context: Any) -> Watched:
    return watch(context)


def screenshot(page: Any, name: str, docs_name: str | None = None, **options: Any) -> Path:
    """Save a screenshot under artifacts/; also into docs/ (as a small palette PNG) when asked."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), **options)
    if docs_name and os.environ.get("PROVENANCE_UPDATE_DOCS") == "1":
        from PIL import Image

        DOCS.mkdir(exist_ok=True)
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
            small.save(DOCS / docs_name, optimize=True)
    return path


@pytest.fixture(scope="session")
def sample_inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """samples_benign/, a few made images, and the shared C2PA fixtures when present."""
    made = tmp_path_factory.mktemp("made")
    (made / "prompt_a1111.png").write_bytes(png_bytes((96, 64), text={"parameters": A1111}))
    (made / "plain_gradient.png").write_bytes(png_bytes((96, 64)))
    (made / 'odd <b>name<b> & "quotes".png').write_bytes(png_bytes((64, 64), text={"Comment": "<i>hello</i>"}))
    inputs = [made]
    if SAMPLES.is_dir() and any(p.suffix in (".png", ".jpg") for p in SAMPLES.iterdir()):
        inputs.insert(0, SAMPLES)
    for name in SHARED_SAMPLES:
        if (FIXTURES / "c2pa-rs" / name).is_file():
            inputs.append(FIXTURES / "c2pa-rs" / name)
    return inputs


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    if not all((FIXTURES / "c2pa-rs" / name).is_file() for name in SHARED_SAMPLES):
        pytest.skip("../shared/fixtures is not present")
    return FIXTURES / "c2pa-rs"


@pytest.fixture(scope="session")
def report_file(tmp_path_factory: pytest.TempPathFactory, sample_inputs: list[Path], browser: Any) -> Path:
    """The report a user makes with ``provenance check --format html --thumbnails --out``."""
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run_cli("check", "--format", "html", "--thumbnails", "--out", str(out), *map(str, sample_inputs))
    assert result.returncode in (0, 1, 2) and out.is_file(), result.stderr.decode()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, SCREENSHOTS / "report.html")
    return out
