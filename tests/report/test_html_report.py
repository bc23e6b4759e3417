"""The HTML report without a browser: escaping, the page policy, links, the chain, previews, the CLI."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from provenance.api import check, check_bytes
from provenance.limits import Limits
from provenance.render.html import make_thumbnail, render_card, render_html, safe_url, thumbnails_for
from provenance.render.preview import Preview, decode, preview_file
from tests.conftest import png_bytes, run_cli

A1111 = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: exampleModel"
EVIL = "<script>alert(1)</script>"


class Page(HTMLParser):
    """Every tag with its attributes, and the text of script and style elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def policy(page: Page) -> dict[str, str]:
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
    assert len(metas) == 1
    out = {}
    for part in metas[0]["content"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def hostile_report() -> dict[str, Any]:
    """A real report of a PNG whose file name and metadata carry markup."""
    data = png_bytes(text={"parameters": A1111 + "\n" + EVIL, "Comment": '"><img src=x onerror=alert(2)>'})
    report = check_bytes(data, f"{EVIL}.png").to_dict()
    assert report["verdict"] == "ai-generated"
    return report


def test_file_names_and_metadata_values_are_escaped() -> None:
    report = hostile_report()
    # A forged record, as a JSONL file could hold, with markup in every text field.
    forged = dict(report, path=f"x{EVIL}", summary=EVIL, error={"kind": EVIL, "message": EVIL})
    forged["credentials"] = dict(report["credentials"], state="valid", signer=EVIL, claim_generator=EVIL)
    forged["findings"] = [dict(report["findings"][0], value=EVIL, field=EVIL, rule=EVIL, reference="javascript:x")]
    page = render_html([report, forged])
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.png" in page.replace("<wbr>", "")
    parsed = parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 1, "only the page's own script"
    assert [t for t, _ in parsed.tags].count("img") == 0
    assert "javascript:" not in " ".join(a.get("href", "") for _, a in parsed.tags)


def test_policy_forbids_every_fetch_and_allows_only_our_inline_code() -> None:
    page = parse(render_html([hostile_report()]))
    csp = policy(page)
    assert csp["default-src"] == "'none'"
    assert csp["img-src"] == "'none'", "no images without --thumbnails"
    assert csp["base-uri"] == "'none'" and csp["form-action"] == "'none'"
    assert len(page.scripts) == 1 and csp["script-src"] == sha(page.scripts[0])
    assert len(page.styles) == 1 and csp["style-src"] == sha(page.styles[0])
    assert not any("style" in attrs for _, attrs in page.tags), "style attributes would be blocked"
    with_previews = parse(render_html([hostile_report()], thumbnails={}))
    assert policy(with_previews)["img-src"] == "data:"


def test_no_address_outside_the_page_except_finding_references() -> None:
    reports = [hostile_report()]
    references = {f["reference"] for r in reports for f in r["findings"]}
    thumb = make_thumbnail(png_bytes())
    assert thumb is not None
    page = parse(render_html(reports, thumbnails={reports[0]["path"]: thumb}))
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = attrs.get(name)
            if value is None:
                continue
            if tag == "img" and name == "src":
                assert value.startswith("data:image/jpeg;base64,")
            elif value.startswith("#"):
                continue
            else:
                assert tag == "a" and name == "href" and value in references, (tag, name, value)
                assert attrs.get("rel") == "noreferrer noopener"
    assert not re.search(r"\b(src|href)=\"?(//|ftp:|file:|javascript:)", str(page.tags))


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.org/doc", True),
        ("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("//example.org", False),
        ('https://example.org/"onmouseover=x', False),
        ("https://exa mple.org", False),
        ("self#jumbf=/c2pa/x", False),
    ],
)
def test_only_plain_http_addresses_become_links(url: str, linked: bool) -> None:
    assert (safe_url(url) is not None) is linked


def test_ingredient_failure_is_marked_in_words(shared_fixtures: Path) -> None:
    report = check(shared_fixtures / "c2pa-rs" / "CIE-sig-CA.jpg").to_dict()
    card = render_card(report, 0)
    failing = re.findall(r'<li class="ingredient failing">(.*?)</p>', card)
    assert len(failing) == 1 and "Ingredient FAILED" in failing[0] and "E-sig-CA.jpg" in failing[0]
    assert "claimSignature.mismatch" in card
    assert "the signature does not match the manifest" in card, "the failure is explained in plain words"
    assert "Ingredient NO CREDENTIALS" in card  # A.jpg, the grandparent, carries none


def test_ai_declarations_sit_on_the_manifest_that_makes_them(shared_fixtures: Path) -> None:
    report = check(shared_fixtures / "c2pa-rs" / "ocsp.jpg").to_dict()
    card = render_card(report, 3)
    assert card.count("AI declaration: ai-edited") >= 2  # the active manifest and the Firefly ingredient
    assert "Adobe C2PA" in card and "Trust list matched" in card
    assert 'id="f3"' in card and "IPTC-009" in card and "(decisive)" in card


def test_counts_and_table_rows() -> None:
    ai = check_bytes(png_bytes(text={"parameters": A1111}), "ai.png").to_dict()
    plain = check_bytes(png_bytes(), "plain.png").to_dict()
    broken = check_bytes(b"\x89", "broken.png").to_dict()
    page = render_html([ai, plain, broken, plain])
    assert page.count("<tr data-x=") == 4 and page.count('<article class="card"') == 4
    assert re.search(r'data-fv="no-evidence">.*?</th><td>2</td>', page)
    assert re.search(r'data-fv="error">.*?</th><td>1</td>', page)
    assert "not-an-image" in page


def test_empty_input_gives_a_page() -> None:
    page = render_html([])
    assert "No files were checked." in page and "</html>" in page


def test_thumbnail_is_small_jpeg_or_nothing(tmp_path: Path) -> None:
    from PIL import Image

    uri = make_thumbnail(png_bytes(size=(640, 320), mode="RGBA"))
    assert uri is not None and uri.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
        assert image.format == "JPEG" and max(image.size) == 160 and image.size == (160, 80)
    assert make_thumbnail(b"not an image") is None
    assert make_thumbnail(tmp_path / "missing.png") is None
    assert Image.MAX_IMAGE_PIXELS is not None, "the decompression-bomb guard stays on"


def test_thumbnail_refuses_a_decompression_bomb() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # A PNG header claiming 30000 x 30000 pixels (900 megapixels) over almost no data.
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )
    assert make_thumbnail(bomb) is None


def test_thumbnails_for_skips_stdin_and_special_files(tmp_path: Path) -> None:
    import os

    good = tmp_path / "good.png"
    good.write_bytes(png_bytes())
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    records = [check(good).to_dict(), {"path": "-", "sha256": "0" * 64}, {"path": str(fifo), "sha256": "0" * 64}]
    previews = thumbnails_for(records)
    assert previews[str(good)].uri is not None
    assert previews["-"] == Preview(None, "the image was read from standard input")
    assert previews[str(fifo)] == Preview(None, "the path is not a regular file")


def huge_png(side: int = 9400) -> bytes:
    """A few hundred kilobytes of PNG declaring ``side`` x ``side`` grey pixels, all zero."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", body)
        + chunk(b"IEND", b"")
    )


def test_preview_of_a_huge_image_is_refused_before_decoding(tmp_path: Path) -> None:
    import resource
    import time

    data = huge_png()
    assert len(data) < 400_000
    path = tmp_path / "zeros.png"
    path.write_bytes(data)
    record = check(path).to_dict()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    preview = preview_file(str(path), record["sha256"], record["size"])
    assert time.monotonic() - started < 1.0 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000
    assert preview.uri is None
    assert preview.why_not == "the image is 9,400 \u00d7 9,400 pixels, more than the 40-megapixel limit for previews"
    page = render_html([record], thumbnails=thumbnails_for([record]))
    assert "Preview not shown: the image is 9,400 \u00d7 9,400 pixels" in page
    assert make_thumbnail(data) is None
    # The cap is a limit like the others: raised, the same file gets its preview.
    assert preview_file(str(path), record["sha256"], record["size"], Limits(max_preview_pixels=10**8)).uri


def test_a_jpeg_is_decoded_at_reduced_scale_under_the_cap() -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 140, 200)).save(out, "JPEG", quality=50)  # 12 megapixels
    assert decode(out.getvalue(), max_pixels=200_000).uri is not None, "1/8 scale: 500 x 375 pixels"
    assert decode(out.getvalue(), max_pixels=100_000).uri is None


def test_a_preview_that_takes_too_long_is_given_up(tmp_path: Path) -> None:
    import time

    path = tmp_path / "zeros.png"
    path.write_bytes(huge_png(6000))  # 36 megapixels: under the cap, slow to decode
    record = check(path).to_dict()
    started = time.monotonic()
    previews = thumbnails_for([record], limits=Limits(timeout=0.05))
    assert time.monotonic() - started < 5
    assert previews[str(path)] == Preview(None, "making it took longer than the 0.05 s limit")


def test_previews_show_only_the_bytes_that_were_checked(tmp_path: Path) -> None:
    from PIL import Image

    def picture(colour: tuple[int, int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (64, 48), colour).save(out, "PNG")
        return out.getvalue()

    red, private = picture((220, 20, 20)), picture((20, 20, 220))
    secret = tmp_path / "private" / "blue.png"
    secret.parent.mkdir()
    secret.write_bytes(private)
    folder = tmp_path / "scan"
    folder.mkdir()
    for name in ("linked.png", "changed.png", "same.png"):
        (folder / name).write_bytes(red)
    results = tmp_path / "results.jsonl"
    assert run_cli("scan", str(folder), "--out", str(results)).returncode == 0
    (folder / "linked.png").unlink()
    (folder / "linked.png").symlink_to(secret)  # swapped for a link to a private image after the scan
    (folder / "changed.png").write_bytes(private)  # or overwritten with it
    out = tmp_path / "report.html"
    result = run_cli("report", str(results), "--thumbnails", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    page = out.read_text(encoding="utf-8")
    assert "Preview not shown: the path is a symbolic link." in page
    assert "Preview not shown: the file changed since it was checked." in page
    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    assert len(uris) == 1, "only the unchanged file is shown"
    with Image.open(io.BytesIO(base64.b64decode(uris[0]))) as shown:
        r, _, b = shown.convert("RGB").getpixel((shown.width // 2, shown.height // 2))
    assert r > 150 and b < 100, "the preview is of the red picture that was checked"


def test_cli_check_html_and_report_from_jsonl(tmp_path: Path) -> None:
    (tmp_path / "ai.png").write_bytes(png_bytes(text={"parameters": A1111}))
    (tmp_path / "<script>alert(3)<script>.png").write_bytes(png_bytes())  # no "/" in a file name
    out = tmp_path / "report.html"
    result = run_cli("check", "--format", "html", "--out", str(out), "--thumbnails", str(tmp_path))
    assert result.returncode == 1, result.stderr.decode()
    assert result.stdout == b""
    page = out.read_text(encoding="utf-8")
    assert page.count('<article class="card"') == 2 and "<script>alert" not in page
    assert "&lt;script&gt;alert(3)&lt;script&gt;.png" in page
    assert page.count('src="data:image/jpeg;base64,') == 2

    jsonl = tmp_path / "results.jsonl"
    assert run_cli("check", "--format", "jsonl", "--out", str(jsonl), str(tmp_path / "ai.png")).returncode == 1
    again = run_cli("report", str(jsonl), "--out", str(tmp_path / "again.html"), "--title", f"Batch {EVIL}")
    assert again.returncode == 0, again.stderr.decode()
    page = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert "<title>Batch &lt;script&gt;" in page and "AI-generated" in page
    assert "img-src 'none'" in page, "no previews unless asked"

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"path": "a", "verdict": "error"}) + "\n{oops\n", encoding="utf-8")
    refused = run_cli("report", str(bad))
    assert refused.returncode == 2 and b"bad.jsonl:2" in refused.stderr


def test_cards_held_for_later_pages_cannot_be_broken_out_of() -> None:
    plain = check_bytes(png_bytes(), "x.png").to_dict()
    reports = [dict(plain, path=f"f{i}.png") for i in range(60)]
    reports[55] = dict(plain, path="</noscript><script>alert(1)</script>", summary="</NOSCRIPT><img src=x>")
    page = render_html(reports)
    assert page.count('<noscript data-x="') == 10, "cards past the first page of 50 wait in <noscript>"
    assert "<script>alert" not in page and "<img src=x" not in page and "</NOSCRIPT>" not in page
    parsed = parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 1


def test_style_and_script_are_the_package_files_allowed_by_their_hashes() -> None:
    static = Path(__file__).resolve().parents[2] / "provenance" / "render" / "static"
    css, js = (static / "report.css").read_bytes(), (static / "report.js").read_bytes()
    page = parse(render_html([hostile_report()]))
    csp = policy(page)
    assert page.styles == [css.decode("utf-8")] and page.scripts == [js.decode("utf-8")]
    assert csp["style-src"] == "'sha256-" + base64.b64encode(hashlib.sha256(css).digest()).decode() + "'"
    assert csp["script-src"] == "'sha256-" + base64.b64encode(hashlib.sha256(js).digest()).decode() + "'"


def test_trust_labels_belong_to_the_manifest_they_describe(shared_fixtures: Path) -> None:
    """The active signer (Adobe) is on the shipped lists; a nested ingredient's signer is on none."""
    from provenance.api import make_options

    fixture = shared_fixtures / "c2pa-rs" / "ocsp_with_assertion.jpg"
    report = check(fixture).to_dict()
    assert report["credentials"]["state"] == "valid"
    card = render_card(report, 0)
    assert "signer not on a trust list" not in card, "the active signer is not the untrusted one"
    assert "Credentials: Valid, active signer trusted" in card
    assert "Validation: Valid, active signer trusted" in card, "the active manifest's own label in the chain"
    assert "the active manifest&#x27;s signer is on a trust list in use" in card
    assert "the signer of the ingredient \u201cocsp.jpg\u201d is on no trust list in use" in card
    ingredient = re.search(r'<li class="ingredient">(?:(?!<li class="ingredient">).)*?Not on a trust list', card)
    assert ingredient, "the untrusted label stays on the ingredient whose signer it describes"
    row = re.search(r"<tr [^>]*data-c=\"valid\".*?</tr>", render_html([report]))
    assert row and "Valid, active signer trusted" in row.group(0)
    # Without the shipped lists the active signer is on none either, and the card says so.
    alone = check(fixture, make_options(default_trust=False)).to_dict()
    assert alone["credentials"]["state"] == "valid"
    assert "Credentials: Valid, signer not on a trust list" in render_card(alone, 0)


def test_long_tokens_get_break_points_at_separators_only() -> None:
    page = render_html([dict(check_bytes(png_bytes(), "x.png").to_dict(), path="folder/a_long_name-v2.final.png")])
    assert "a_<wbr>long_<wbr>name-<wbr>v2.<wbr>final.<wbr>png" in page
    digest = "0123456789abcdef" * 4
    shown = render_card(dict(check_bytes(png_bytes(), "x.png").to_dict(), sha256=digest), 0)
    assert digest in shown.replace("<wbr>", "") and "<wbr>" in shown.split("SHA-256")[1].split("</dd>")[0]
    assert "short.png" in render_html([dict(check_bytes(png_bytes(), "short.png").to_dict())])
