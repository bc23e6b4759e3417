"""How big a 20,000-file HTML report is, and how fast headless Chromium opens and filters it.

    python benchmarks/html_report.py [--files 20000] [--runs 3]

The reports are real ones (samples_benign/ and, when present, the shared C2PA
fixtures, checked in process), repeated under distinct names until there are
``--files`` of them. Needs Debian's Chromium at /usr/bin/chromium and
Playwright for Python. Prints medians over ``--runs``; the machine is shared,
so expect noise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from provenance.api import check  # noqa: E402
from provenance.render.html import render_html  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the same browser as the tests)

# Each step runs synchronously in the page's own handlers; reading offsetHeight
# forces style and layout, so the time includes them (not the final paint).
STEP = """([id, value, kind]) => {
  const el = document.getElementById(id);
  const t = performance.now();
  if (kind === "select") { el.value = value; el.dispatchEvent(new Event("change")); }
  else if (kind === "search") {
    el.value = value;
    document.getElementById("filters").dispatchEvent(new Event("submit", {cancelable: true}));
  }
  else { el.click(); }
  void document.body.offsetHeight;
  return performance.now() - t;
}"""


def reports(count: int) -> list[dict[str, Any]]:
    sources = sorted(p for p in (REPO / "samples_benign").iterdir() if p.suffix.lower() != ".py")
    shared = REPO.parent / "shared" / "fixtures" / "c2pa-rs"
    names = ("ocsp.jpg", "CIE-sig-CA.jpg", "XCA.jpg", "C.jpg", "cloud.jpg")
    sources += [shared / n for n in names if (shared / n).is_file()]
    real = [check(p).to_dict() for p in sources]
    out = []
    for i in range(count):
        base = real[i % len(real)]
        name = Path(base["path"]).name
        out.append(dict(base, path=f"/srv/uploads/batch-{i // 1000:02d}/{i:05d}-{name}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data = reports(args.files)
    renders = []
    for _ in range(args.runs):
        start = time.perf_counter()
        page_text = render_html(data)
        renders.append(time.perf_counter() - start)
    folder = Path(tempfile.mkdtemp(prefix="html-bench-"))
    path = folder / "report.html"
    path.write_text(page_text, encoding="utf-8")
    size = path.stat().st_size
    print(f"{args.files} files: {size:,} bytes ({size / 1024**2:.1f} MiB), {size / args.files:,.0f} bytes a file")
    print(f"render_html: median {statistics.median(renders):.2f} s over {args.runs} runs")

    results: dict[str, list[float]] = {}

    def note(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load", timeout=300_000)
            page.wait_for_selector("html[data-ready='1']", timeout=300_000)
            note("open, wall clock until ready and loaded (s)", time.perf_counter() - start)
            timing = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [n.domContentLoadedEventEnd, n.loadEventEnd]; }"
            )
            note("DOMContentLoaded, from navigation start (s)", timing[0] / 1000)
            note("load event, from navigation start (s)", timing[1] / 1000)
            note("filter by verdict (ms)", page.evaluate(STEP, ["fv", "ai-edited", "select"]))
            note("filter flagged and credentials (ms)", page.evaluate(STEP, ["fc", "invalid", "select"]))
            page.evaluate(STEP, ["fc", "", "select"])
            page.evaluate(STEP, ["fv", "", "select"])
            note("search text over all rows (ms)", page.evaluate(STEP, ["q", "ocsp", "search"]))
            page.evaluate(STEP, ["q", "", "search"])
            sort_ms = page.evaluate(
                """() => { const b = document.querySelector('#ft thead th:nth-child(2) button');
                const t = performance.now(); b.click(); void document.body.offsetHeight;
                return performance.now() - t; }"""
            )
            note("sort by verdict (ms)", sort_ms)
            note("next page (ms)", page.evaluate(STEP, ["next", "", "click"]))
            start = time.perf_counter()
            page.fill("#q", "CIE-sig")
            page.wait_for_function(
                "() => document.getElementById('showing').textContent.includes('of 2')"
                " || document.getElementById('showing').textContent.includes('that match')"
            )
            note("typing a search, wall clock incl. 120 ms debounce (ms)", (time.perf_counter() - start) * 1000)
            note(
                "JS heap used (MiB)",
                page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize / 1048576 : 0"),
            )
            context.close()
        browser.close()
    for key, values in results.items():
        print(f"{key}: median {statistics.median(values):.2f} (runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
