"""The HTML report in a real browser: offline, filters, sorting, cards, previews, no script, paging."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from provenance.api import check_bytes
from provenance.render.html import render_html
from tests.browser.conftest import A1111, Watched, screenshot, watch
from tests.conftest import png_bytes


def open_report(watched: Watched, path: Path) -> Any:
    page = watched.page
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    return page


def rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#ft tbody tr[data-x]",
        "rows => rows.map(r => ({name: r.cells[0].querySelector('a').textContent, path: r.cells[0].textContent,"
        " v: r.dataset.v, c: r.dataset.c, fl: r.dataset.fl}))",
    )


def overview_count(page: Any, attribute: str, value: str) -> int:
    text = page.text_content(f"#overview a[{attribute}='{value}'] >> xpath=ancestor::tr/td")
    return int(text.replace(",", ""))


def test_report_opens_offline_without_errors(watched: Watched, report_file: Path) -> None:
    page = open_report(watched, report_file)
    url = report_file.as_uri()
    assert watched.requests, "the page itself was requested"
    outside = [r for r in watched.requests if r != url and not r.startswith(("data:", "about:"))]
    assert outside == [], f"the report made requests: {outside}"
    assert not [m for m in watched.console if "Content Security Policy" in m or m.startswith("pageerror")], (
        watched.console
    )
    assert page.is_visible("#filters") and page.is_visible("#ft")
    page.set_viewport_size({"width": 1100, "height": 1400})
    screenshot(page, "report-top.png", "report.png")


def test_filters_search_and_overview_links(watched: Watched, report_file: Path) -> None:
    page = open_report(watched, report_file)
    first = rows(page)
    assert 0 < len(first) <= 50
    counted = re.search(r"of ([\d,]+)", page.text_content("#showing") or "")
    assert counted
    all_files = int(counted.group(1).replace(",", ""))

    page.select_option("#fv", "ai-generated")
    shown = rows(page)
    assert shown and {r["v"] for r in shown} == {"ai-generated"}
    assert len(shown) == min(50, overview_count(page, "data-fv", "ai-generated"))
    indexes = page.eval_on_selector_all("#ft tbody tr", "r => r.map(x => x.dataset.x)")
    assert all(page.is_visible(f"#f{x}") for x in indexes)
    assert page.eval_on_selector_all("#cards > article", "a => a.length") == len(shown), "cards follow the table"

    page.select_option("#fv", "")
    page.check("#ff")
    flagged = rows(page)
    assert flagged and all(r["fl"] == "1" for r in flagged)
    said = re.search(r"([\d,]+) flagged", page.text_content("#overview") or "")
    assert said and len(flagged) == min(50, int(said.group(1).replace(",", "")))

    page.click("#filters button[type=reset]")
    page.fill("#q", "prompt_a1111")
    page.wait_for_function("() => document.querySelectorAll('#ft tbody tr[data-x]').length === 1")
    (only,) = rows(page)
    assert only["name"].endswith("prompt_a1111.png") and only["v"] == "ai-generated"

    page.fill("#q", "no such file anywhere")
    page.wait_for_selector("#ft tbody tr:not([data-x])")
    assert "No file matches" in (page.text_content("#ft tbody") or "")

    page.fill("#q", "")
    page.click("#overview a[data-fv='error']")
    page.wait_for_function("() => document.getElementById('fv').value === 'error'")
    errors = rows(page)
    assert errors and {r["v"] for r in errors} == {"error"}
    assert len(errors) == min(50, overview_count(page, "data-fv", "error"))
    page.click("#filters button[type=reset]")
    page.wait_for_function(f"() => document.getElementById('showing').textContent.includes('of {all_files:,}')")


def test_sorting_by_keyboard(watched: Watched, report_file: Path) -> None:
    page = open_report(watched, report_file)
    severity = ["ai-generated", "ai-edited", "error", "captured", "no-evidence"]
    header = page.locator("#ft thead th", has_text="Verdict")
    header.locator("button").focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    ranks = [severity.index(r["v"]) for r in rows(page)]
    assert ranks == sorted(ranks) and ranks[0] == 0
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    ranks = [severity.index(r["v"]) for r in rows(page)]
    assert ranks == sorted(ranks, reverse=True)

    by_name = page.locator("#ft thead th", has_text="File").locator("button")
    by_name.click()
    names = [r["path"] for r in rows(page)]
    assert names[0].casefold() < names[-1].casefold()
    by_name.click()
    assert [r["path"] for r in rows(page)][: len(names)] != names
    page.select_option("#ps", "250")
    everything = [r["path"] for r in rows(page)]
    by_name.click()
    assert [r["path"] for r in rows(page)] == everything[::-1], "sorting the other way reverses the list"


def test_card_shows_chain_failures_and_findings(watched: Watched, report_file: Path, shared_samples: Path) -> None:
    page = open_report(watched, report_file)
    page.fill("#q", "CIE-sig-CA")
    page.wait_for_function("() => document.querySelectorAll('#ft tbody tr[data-x]').length === 1")
    page.click("#ft tbody tr[data-x] th a")
    card = page.locator("#cards article", has_text="CIE-sig-CA.jpg")
    # The card opens on the hashchange event the click fires, which may come after the click returns.
    card.locator("details[open]").first.wait_for(state="attached", timeout=5000)
    assert card.locator("details").first.get_attribute("open") is not None
    failing = card.locator("li.ingredient.failing")
    assert failing.count() == 1 and failing.is_visible()
    text = failing.text_content() or ""
    assert "Ingredient FAILED" in text and "E-sig-CA.jpg" in text and "claimSignature.mismatch" in text
    assert "does not match the manifest" in text, "the failure is explained in words"
    assert card.locator(".tree > li.manifest").first.text_content().startswith("Active manifest")  # type: ignore[union-attr]
    failing.scroll_into_view_if_needed()
    screenshot(page, "report-chain.png")

    page.fill("#q", "ocsp.jpg")
    page.wait_for_function("() => document.querySelectorAll('#ft tbody tr[data-x]').length === 1")
    page.click("#ft tbody tr[data-x] th a")
    card = page.locator("#cards article", has_text="ocsp.jpg")
    assert "AI-edited" in (card.locator(".line").text_content() or "")
    assert card.locator("text=AI declaration: ai-edited").count() >= 2
    findings = card.locator("table.fnd tbody tr")
    assert findings.count() >= 2
    rules = [findings.nth(i).locator("th code").text_content() for i in range(findings.count())]
    assert "IPTC-009" in rules
    links = card.locator("table.fnd a")
    assert links.count() >= 1
    for i in range(links.count()):
        assert re.match(r"https?://", links.nth(i).get_attribute("href") or "")
        assert links.nth(i).get_attribute("rel") == "noreferrer noopener"
    credentials = card.locator("dl.facts", has_text="Signer").text_content() or ""
    assert "Adobe C2PA" in credentials and "Trust list matched" in credentials


def test_previews_are_blurred_until_unblurred(watched: Watched, report_file: Path) -> None:
    page = open_report(watched, report_file)
    page.fill("#q", "prompt_a1111")
    page.wait_for_function("() => document.querySelectorAll('#ft tbody tr[data-x]').length === 1")
    card = page.locator("#cards article").first
    image = card.locator(".thumb img")
    assert (image.get_attribute("src") or "").startswith("data:image/jpeg;base64,")
    assert "blur" in image.evaluate("i => getComputedStyle(i).filter")
    assert "Previews are on" in (page.text_content("header") or "")
    card.locator(".thumb label").click()
    assert image.evaluate("i => getComputedStyle(i).filter") == "none"
    screenshot(page, "report-preview.png")
    card.locator(".thumb input").focus()
    page.keyboard.press("Space")
    assert "blur" in image.evaluate("i => getComputedStyle(i).filter")


def test_readable_with_javascript_off(browser: Any, report_file: Path) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.goto(report_file.as_uri())
        count = page.eval_on_selector_all("#ft tbody tr", "r => r.length")
        # Cards past the first page sit inside <noscript>, which a browser without scripts shows as HTML.
        assert count == page.eval_on_selector_all("#cards article", "a => a.length") > 0
        assert page.is_visible("#cards article >> nth=-1")
        assert page.is_hidden("#filters") and page.is_hidden(".pager")
        assert "AI-generated" in (page.text_content("#cards") or "")
        screenshot(page, "report-no-js.png")
    finally:
        context.close()


def test_print_hides_the_controls(watched: Watched, report_file: Path) -> None:
    page = open_report(watched, report_file)
    page.emulate_media(media="print")
    assert page.is_hidden("#filters") and page.is_hidden(".pager") and page.is_hidden("#cardtools")
    assert page.is_visible("#ft") and page.is_visible("#cards article")


def test_large_report_is_paged(browser: Any, tmp_path: Path) -> None:
    base = check_bytes(png_bytes(text={"parameters": A1111}), "x.png").to_dict()
    plain = check_bytes(png_bytes(), "x.png").to_dict()
    reports = [dict(base if i % 3 else plain, path=f"folder/file-{i:04d}.png") for i in range(260)]
    path = tmp_path / "big.html"
    path.write_text(render_html(json.loads(json.dumps(reports))), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        watched = watch(context)
        page = open_report(watched, path)
        assert page.text_content("#pinfo") == "Page 1 of 6"
        assert page.is_disabled("#prev") and not page.is_disabled("#next")
        page.click("#next")
        names = [r["name"] for r in rows(page)]
        assert names[0] == "file-0050.png" and len(names) == 50
        assert rows(page)[0]["path"] == "file-0050.pngfolder/", "the folder is shown apart, under the name"
        cards = page.eval_on_selector_all("#cards > article", "a => a.map(x => x.id)")
        assert cards == [f"f{i}" for i in range(50, 100)]
        assert page.locator("#f60 details").get_attribute("open") is None, "big reports start with cards closed"
        page.click("#last")
        assert len(rows(page)) == 10 and page.is_disabled("#next")
        page.select_option("#ps", "250")
        assert page.text_content("#pinfo") == "Page 1 of 2"
        page.evaluate("location.hash = '#f255'")
        page.wait_for_function("() => document.getElementById('f255') && document.querySelector('#f255 details').open")
        assert page.text_content("#pinfo") == "Page 2 of 2"
    finally:
        context.close()
    # Without scripts, every card past the first page (held in <noscript>) is plain HTML.
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        assert page.eval_on_selector_all("#cards article.card", "a => a.length") == 260
        assert page.eval_on_selector_all("#ft tbody tr", "r => r.filter(x => x.offsetParent !== null).length") == 260
        assert page.is_visible("#f259 h3")
    finally:
        context.close()


@pytest.mark.parametrize("size", [25])
def test_page_size_choice(browser: Any, tmp_path: Path, size: int) -> None:
    report = check_bytes(png_bytes(), "x.png").to_dict()
    path = tmp_path / "r.html"
    path.write_text(render_html([dict(report, path=f"f{i}.png") for i in range(30)]), encoding="utf-8")
    context = browser.new_context()
    try:
        page = open_report(watch(context), path)
        page.select_option("#ps", str(size))
        assert len(rows(page)) == size and page.text_content("#pinfo") == "Page 1 of 2"
    finally:
        context.close()


def _luminance(colour: str) -> float:
    channels = [int(x) / 255 for x in re.findall(r"\d+", colour)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_a_weak_capture_does_not_look_like_trusted_credentials(browser: Any, tmp_path: Path) -> None:
    from provenance.api import check, make_options
    from tests.conftest import SAMPLES

    if not (SAMPLES / "test-ca.pem").is_file():
        pytest.skip("samples_benign/ is not present")
    trusting = make_options(trust_anchors=[SAMPLES / "test-ca.pem"])
    reports = [
        check(SAMPLES / "camera_exif.jpg").to_dict(),  # camera EXIF alone
        check(SAMPLES / "c2pa_capture.jpg").to_dict(),  # signed, signer on no list
        dict(check(SAMPLES / "c2pa_capture.jpg", trusting).to_dict(), path="trusted_capture.jpg"),
    ]
    assert [(r["verdict"], r["confidence"]) for r in reports] == [
        ("captured", "low"),
        ("captured", "medium"),
        ("captured", "high"),
    ]
    assert reports[2]["credentials"]["state"] == "trusted"
    path = tmp_path / "captures.html"
    path.write_text(render_html(reports), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        page = open_report(watch(context), path)
        styles = page.eval_on_selector_all(
            "#cards article .line .b.v-captured, #cards article .line .b.c-trusted",
            "bs => bs.map(b => { const s = getComputedStyle(b); return {cls: b.className, bg: s.backgroundColor,"
            " fg: s.color, border: s.borderTopStyle + ' ' + s.borderTopColor}; })",
        )
    finally:
        context.close()
    low, medium, high, trusted = (
        next(s for s in styles if key in s["cls"]) for key in ("q-low", "q-medium", "q-high", "c-trusted")
    )
    looks = {name: (s["bg"], s["border"]) for name, s in (("low", low), ("medium", medium), ("high", high))}
    assert looks["high"][0] == trusted["bg"], "a trusted capture keeps the trusted colour"
    assert len({looks["low"], looks["medium"], looks["high"]}) == 3, looks
    assert looks["low"][0] != trusted["bg"] and looks["medium"][0] != trusted["bg"]
    assert "dashed" in looks["low"][1], "weak evidence is drawn outlined, not filled"
    for style in (low, medium, high):
        assert _contrast(style["fg"], style["bg"]) >= 4.5, style


SEPARATORS = "/\\._-?&=:,;+@#|~"
LINE_BREAKS = """el => {
  const text = [], breaks = [];
  let top = null;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getClientRects()[0];
      if (box && top !== null && box.top > top + 2) { breaks.push(text.length); }
      if (box) { top = box.top; }
      text.push(node.data[i]);
    }
  }
  return {text: text.join(""), breaks: breaks};
}"""


def _sensible_break(text: str, at: int) -> bool:
    """A line break before text[at] falls after a separator or space, at a camelCase or letter-digit seam,
    or inside a run too long to keep whole (a digest)."""
    before, after = text[at - 1], text[at]
    if before in SEPARATORS or before.isspace() or after.isspace():
        return True
    if (before.islower() and after.isupper()) or (before.isalpha() and after.isdigit()):
        return True
    start = max((text.rfind(c, 0, at) for c in SEPARATORS + " "), default=-1) + 1
    ends = [i for i in (text.find(c, at) for c in SEPARATORS + " ") if i >= 0]
    return min(ends, default=len(text)) - start > 12


LONG_NAMES = (
    "a_very_long_file_name_exported_from_the_camera_upload_folder_2026-11-27.png",
    "sd_xl_base_1.0.safetensors-generationParameters-exampleModel_v1.png",
    "IMG_20261127_0123456789abcdef0123456789abcdef0123456789abcdef.png",
    "ordinary name with spaces that goes on for quite a while.png",
)


def test_narrow_window_keeps_the_table_whole_and_breaks_names_at_sensible_points(browser: Any, tmp_path: Path) -> None:
    folder = tmp_path / "uploads" / "2026-11-27_batch-with-a-long-folder-name"
    folder.mkdir(parents=True)
    for name in LONG_NAMES:
        (folder / name).write_bytes(png_bytes(text={"parameters": A1111}))
    (folder / "plain.png").write_bytes(png_bytes())
    reports = [check_bytes((folder / p).read_bytes(), str(folder / p)).to_dict() for p in sorted(os.listdir(folder))]
    path = tmp_path / "narrow.html"
    path.write_text(render_html(reports), encoding="utf-8")
    context = browser.new_context(viewport={"width": 800, "height": 900})
    try:
        page = open_report(watch(context), path)
        sizes = page.evaluate(
            "() => { const w = document.querySelector('#files .wrap'), t = document.getElementById('ft');"
            " return {wrap: w.clientWidth, table: t.scrollWidth, page: document.documentElement.scrollWidth,"
            " heads: [...t.tHead.rows[0].cells].map(c => c.getBoundingClientRect().right)}; }"
        )
        assert sizes["table"] <= sizes["wrap"], f"the table scrolls sideways at 800 px: {sizes}"
        assert sizes["page"] <= 800 and max(sizes["heads"]) <= 800, sizes
        checked = 0
        for selector in ("#ft tbody th[scope=row] a", "#cards article h3"):
            for handle in page.query_selector_all(selector):
                seen = handle.evaluate(LINE_BREAKS)
                text = seen["text"]
                bad = [
                    text[max(0, b - 8) : b] + "|" + text[b : b + 8]
                    for b in seen["breaks"]
                    if not _sensible_break(text, b)
                ]
                assert not bad, f"broken mid-word: {bad}"
                checked += len(seen["breaks"])
        assert checked >= 10, "long names did wrap"
    finally:
        context.close()


def test_cards_past_the_first_screen_start_collapsed_to_their_summary(browser: Any, tmp_path: Path) -> None:
    ai = check_bytes(png_bytes(text={"parameters": A1111}), "x.png").to_dict()
    reports = [dict(ai, path=f"file-{i}.png") for i in range(8)]
    path = tmp_path / "cards.html"
    path.write_text(render_html(reports), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        page = open_report(watch(context), path)
        opened = page.eval_on_selector_all("#cards article > details", "ds => ds.map(d => d.open)")
        assert opened == [True, True, True, False, False, False, False, False]
        closed = page.locator("#f5")
        assert closed.locator("h3").is_visible() and closed.locator(".line").is_visible()
        assert closed.locator(".sum").is_visible() and not closed.locator("table.fnd").is_visible()
        assert "Details: 1 finding" in (closed.locator("summary").text_content() or "")
        page.click("#ft a[href='#f5']")
        page.wait_for_function("() => document.querySelector('#f5 details').open")
        page.emulate_media(media="print")
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert page.eval_on_selector_all("#cards article > details", "ds => ds.every(d => d.open)")
    finally:
        context.close()
