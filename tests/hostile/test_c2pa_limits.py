"""Signed manifests that are valid but hostile: too many ingredients, huge values, a pointer in XMP only.

Every manifest is signed in this session with the throwaway test chain of
``samples_benign/make_samples.py``; the pictures are synthetic.
"""

from __future__ import annotations

import io
import json
import re
import time
from types import ModuleType
from typing import Any

import pytest

from provenance.api import check_bytes, make_options
from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import c2pa as c2pa_reader
from provenance.report import Report
from tests.hostile import builders

DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def _signed(signer: Any, samples: ModuleType, manifest: dict[str, Any], count: int, fmt: str = "JPEG") -> bytes:
    """A manifest over a small picture with ``count`` plain (unsigned) JPEG ingredients."""
    ingredient = samples.encode(samples.picture(5, (8, 8)), "JPEG", quality=50)
    ingredients = [
        ({"title": f"part-{i}.jpg", "relationship": "componentOf"}, "image/jpeg", ingredient) for i in range(count)
    ]
    picture = samples.picture(1, (64, 48))
    if fmt == "PNG":
        return bytes(signer.sign(manifest, "image/png", samples.png(picture), ingredients))
    asset = samples.encode(picture, "JPEG", quality=80)
    return bytes(signer.sign(manifest, "image/jpeg", asset, ingredients))


def _manifest(samples: ModuleType, **extra: Any) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "Synthetic Test Editor", "version": "1.0"}],
        "title": "edited.jpg",
        "assertions": [samples.actions({"action": "c2pa.created", "digitalSourceType": DST + "digitalCapture"})],
        **extra,
    }


@pytest.fixture(scope="module")
def two_thousand(signer: Any, samples_module: ModuleType) -> bytes:
    return _signed(signer, samples_module, _manifest(samples_module), 2000)


# --- Item 11: the work asked of the C2PA library is bounded by counting first ------------------


def test_two_thousand_ingredients_are_counted_not_validated(two_thousand: bytes) -> None:
    started = time.monotonic()
    report = check_bytes(two_thousand, "many.jpg")
    elapsed = time.monotonic() - started
    assert report.verdict == "error" and report.error is not None
    assert report.error.kind == "limit-exceeded"
    assert "2000 ingredients, over the limit of 256" in report.error.message
    assert "not validated" in report.summary
    assert elapsed < 0.5, f"the store was validated anyway ({elapsed:.2f} s)"


def test_labels_split_across_app11_segments_are_counted(two_thousand: bytes) -> None:
    # 2,000 ingredient boxes span several 64 KB APP11 segments: the count joins them first.
    assert two_thousand.count(b"\xff\xeb") > 3
    assert c2pa_reader._count_boxes(c2pa_reader._app11_jumbf(two_thousand))[:2] == (1, 2000)


def test_ingredient_and_manifest_limits_are_configurable(signer: Any, samples_module: ModuleType) -> None:
    data = _signed(signer, samples_module, _manifest(samples_module), 3)
    assert check_bytes(data, "x.jpg", make_options(limits=Limits(max_c2pa_ingredients=3))).credentials.state == "valid"
    over = check_bytes(data, "x.jpg", make_options(limits=Limits(max_c2pa_ingredients=2)))
    assert over.error is not None and over.error.kind == "limit-exceeded" and "3 ingredients" in over.error.message
    chain = bytes(
        samples_module.c2pa_ai_edited(
            signer, samples_module.c2pa_capture(signer), samples_module.c2pa_ai_created(signer)
        )
    )
    assert check_bytes(chain, "chain.png").credentials.state == "valid"
    over = check_bytes(chain, "chain.png", make_options(limits=Limits(max_c2pa_manifests=2)))
    assert over.error is not None and "3 manifests, over the limit of 2" in over.error.message


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="red"/></svg>'


@pytest.mark.parametrize("media_type", ["image/png", "image/webp", "image/gif", "image/tiff", "image/svg+xml"])
def test_many_ingredients_are_counted_in_every_signable_format(
    signer: Any, samples_module: ModuleType, media_type: str
) -> None:
    # GIF splits the store into 255-byte sub-blocks and SVG holds it in base64: both are joined before counting.
    picture = samples_module.picture(1, (64, 48))
    assets = {
        "image/png": lambda: samples_module.png(picture),
        "image/webp": lambda: samples_module.encode(picture, "WEBP", lossless=True),
        "image/gif": lambda: samples_module.gif(picture),
        "image/tiff": lambda: samples_module.encode(picture, "TIFF"),
        "image/svg+xml": lambda: SVG,
    }
    ingredient = samples_module.encode(samples_module.picture(5, (8, 8)), "JPEG", quality=50)
    parts = [({"title": f"p{i}", "relationship": "componentOf"}, "image/jpeg", ingredient) for i in range(300)]
    data = bytes(signer.sign(_manifest(samples_module), media_type, assets[media_type](), parts))
    report = check_bytes(data, "many")
    assert report.error is not None and report.error.kind == "limit-exceeded"
    assert "300 ingredients, over the limit of 256" in report.error.message


def test_real_stores_are_far_below_the_limits() -> None:
    from tests.conftest import FIXTURES, SAMPLES

    files = sorted((FIXTURES / "c2pa-rs").glob("*")) + sorted(SAMPLES.glob("c2pa_*"))
    if not files:
        pytest.skip("no C2PA fixtures")
    for path in files:
        data = path.read_bytes()
        assert c2pa_reader.check_store(data, "image/jpeg", DEFAULT_LIMITS).too_big is None, path


# --- Item 12: max_value_chars holds for C2PA values too ------------------------------------------------


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _strings(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _strings(v, f"{path}[{i}]")]
    return []


def _renderings(report: Report) -> dict[str, str]:
    from rich.console import Console

    from provenance.render import text
    from provenance.render.csv import render_csv_row
    from provenance.render.html import render_document

    console = Console(file=io.StringIO(), width=200, color_system=None)
    text.render(report, console, verbose=True)
    return {
        "json": json.dumps(report.to_dict(), ensure_ascii=False),
        "text": console.file.getvalue(),  # type: ignore[attr-defined]
        "csv": render_csv_row(report),
        "html": render_document([report.to_dict()]),
    }


@pytest.fixture(scope="module")
def huge_values(signer: Any, samples_module: ModuleType) -> bytes:
    size = 200_000
    manifest = {
        "claim_generator_info": [{"name": "G" * size, "version": "1.0"}],
        "title": "T" * size,
        "assertions": [
            samples_module.actions(
                {
                    "action": "c2pa.created",
                    "digitalSourceType": DST + "trainedAlgorithmicMedia",
                    "softwareAgent": {"name": "S" * size},
                    "description": "D" * 100_000,
                }
            )
        ],
    }
    ingredient = samples_module.encode(samples_module.picture(5, (8, 8)), "JPEG", quality=50)
    asset = samples_module.encode(samples_module.picture(1, (64, 48)), "JPEG", quality=80)
    parts = [({"title": "I" * size, "relationship": "componentOf"}, "image/jpeg", ingredient)]
    return bytes(signer.sign(manifest, "image/jpeg", asset, parts))


@pytest.mark.parametrize("cap", [DEFAULT_LIMITS.max_value_chars, 100])
def test_every_c2pa_value_is_capped(huge_values: bytes, cap: int) -> None:
    report = check_bytes(huge_values, "huge.jpg", make_options(limits=Limits(max_value_chars=cap)))
    assert report.credentials.state == "valid" and report.verdict == "ai-generated"
    out = report.to_dict()
    # Composed sentences name a value among other words; every field read from the file is capped.
    composed = re.compile(r"^/summary$|^/findings\[\d+\]/message$")
    too_long = [(p, len(v)) for p, v in _strings(out) if len(v) > cap and not composed.match(p)]
    assert too_long == []
    assert all(len(v) <= cap + 1000 for p, v in _strings(out) if composed.match(p))
    active = report.credentials.active
    assert active is not None and active.title == "T" * cap
    assert active.claim_generator is not None and active.claim_generator.startswith("G" * min(cap, 50))
    assert active.ingredients[0].title == "I" * cap
    for name, rendered in _renderings(report).items():
        for letter in "TGSDI":
            assert letter * (cap + 1) not in rendered, (name, letter)


# --- Item 13: a remote pointer in XMP only -------------------------------------------------------------


def _xmp_jpeg(description: str) -> bytes:
    packet = builders.xmp_packet(description)
    return builders.jpeg_with(builders.jpeg_segment(0xE1, builders.XMP_APP1 + packet))


URL = "https://manifests.example/m/abc.c2pa"


@pytest.mark.parametrize(
    "description",
    [
        f'<rdf:Description rdf:about="" xmlns:dct="http://purl.org/dc/terms/" dct:provenance="{URL}"/>',
        f'<rdf:Description rdf:about="" xmlns:t="http://purl.org/dc/terms/"><t:provenance>{URL}</t:provenance>'
        "</rdf:Description>",
        f'<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="{URL}"/>',
    ],
    ids=["other-prefix", "element", "usual-prefix"],
)
def test_xmp_provenance_alone_is_a_remote_manifest(description: str) -> None:
    report = check_bytes(_xmp_jpeg(description), "pointer.jpg")
    assert report.credentials.state == "remote"
    assert report.credentials.remote_url == URL
    assert "not fetched" in report.summary
    assert {"source": "c2pa", "field": "remote manifest", "value": URL} in [r.to_dict() for r in report.raw]


def test_xmp_provenance_in_a_png_is_a_remote_manifest() -> None:
    packet = builders.xmp_packet(
        f'<rdf:Description rdf:about="" xmlns:dct="http://purl.org/dc/terms/" dct:provenance="{URL}"/>'
    )
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet
    report = check_bytes(builders.png_with(builders.png_chunk(b"iTXt", itxt)), "pointer.png")
    assert (report.credentials.state, report.credentials.remote_url) == ("remote", URL)


def test_a_pointer_the_library_does_not_follow_says_so_with_network_allowed() -> None:
    description = f'<rdf:Description rdf:about="" xmlns:dct="http://purl.org/dc/terms/" dct:provenance="{URL}"/>'
    report = check_bytes(_xmp_jpeg(description), "pointer.jpg", make_options(allow_network=True))
    assert (report.credentials.state, report.credentials.remote_url) == ("remote", URL)
    assert any(i.kind == "remote-not-fetched" and i.source == "c2pa" for i in report.issues)


@pytest.mark.parametrize(
    "value", ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/m.c2pa", "https://", "not a url"]
)
def test_only_http_urls_are_taken_as_remote_manifests(value: str) -> None:
    description = f'<rdf:Description rdf:about="" xmlns:dct="http://purl.org/dc/terms/" dct:provenance="{value}"/>'
    report = check_bytes(_xmp_jpeg(description), "pointer.jpg")
    assert report.credentials.state == "none" and report.credentials.remote_url is None


@pytest.mark.parametrize(
    "value",
    [
        "https://manifests.example/m/(abc).c2pa",
        "https://manifests.example/m/abc.c2pa)",
        "https://manifests.example/a(b",
    ],
)
@pytest.mark.parametrize("form", ["element", "attribute"])
def test_the_remote_url_is_the_whole_pointer(value: str, form: str) -> None:
    # Parentheses are URL characters: the URL shown is the one the file names, never a prefix of it.
    if form == "element":
        description = (
            '<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/">'
            f"<dcterms:provenance>{value}</dcterms:provenance></rdf:Description>"
        )
    else:
        description = (
            f'<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="{value}"/>'
        )
    report = check_bytes(_xmp_jpeg(description), "pointer.jpg")
    assert (report.credentials.state, report.credentials.remote_url) == ("remote", value)
    assert {"source": "c2pa", "field": "remote manifest", "value": value} in [r.to_dict() for r in report.raw]


@pytest.mark.parametrize("value", ["https://good.example/ evil.example/x", "https://good.example/\tx"])
def test_a_pointer_with_white_space_is_never_shown_cut_at_it(value: str) -> None:
    description = (
        '<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/">'
        f"<dcterms:provenance>{value}</dcterms:provenance></rdf:Description>"
    )
    report = check_bytes(_xmp_jpeg(description), "pointer.jpg")
    assert report.credentials.remote_url is None
    assert "https://good.example/" not in json.dumps(report.to_dict())


# --- Fields past the per-source cap were not checked: no sentence may say they hold nothing ----------


def test_an_ai_action_past_the_field_cap_is_never_summed_up_as_nothing(signer: Any, samples_module: ModuleType) -> None:
    # A capture, thousands of plain actions, then an AI edit: the AI action lies past the
    # 4096 c2pa fields passed to the rules. The summary said "declare a capture and nothing in
    # the file points to AI", of a file whose signed manifest declares AI.
    actions = [{"action": "c2pa.created", "digitalSourceType": DST + "digitalCapture"}]
    actions += [{"action": "c2pa.color_adjustments"} for _ in range(5000)]
    actions.append({"action": "c2pa.edited", "digitalSourceType": DST + "trainedAlgorithmicMedia"})
    manifest = {
        "claim_generator_info": [{"name": "Synthetic Test Editor", "version": "1.0"}],
        "title": "edited.jpg",
        "assertions": [samples_module.actions(*actions)],
    }
    report = check_bytes(_signed(signer, samples_module, manifest, 0), "padded.jpg")
    assert "nothing in the file points to AI" not in report.summary and "not checked" in report.summary
    assert "c2pa" not in report.readers
    failed = [i for i in report.issues if i.kind == "reader-failed" and i.source == "c2pa"]
    assert failed and "not checked" in failed[0].message
    assert report.confidence != "medium"  # a capture from a check that did not finish is worth less
