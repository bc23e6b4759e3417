"""Video and audio samples: our credentials agree with the C2PA library's own reading.

For every media sample of ``samples_benign/expected.json`` (the ``.m4s``
fragments are read with their init segment), the report's credentials
state and status codes are compared with what ``c2pa.Reader`` says about
the same file, opened as a file stream with the same settings (trust
anchors, offline) through :func:`provenance.read.c2pa._context`: once with
the default trust lists and once with ``--trust-anchors
samples_benign/test-ca.pem`` added, which makes the test chain's signers
trusted. A file the library finds no manifest in (or cannot read: WebM,
MKV) must have credentials ``none``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from provenance.api import Options, check, make_options
from provenance.read.c2pa import _context
from tests.test_samples import EXPECTED, SAMPLES

c2pa = pytest.importorskip("c2pa")

MEDIA_SUFFIXES = {".mp4", ".mov", ".m4a", ".webm", ".mkv", ".wav", ".avi", ".mp3", ".flac"}
MEDIA = sorted(name for name in EXPECTED if Path(name).suffix in MEDIA_SUFFIXES)
SIGNED = [name for name in MEDIA if EXPECTED[name]["state"] != "none"]
TEST_CA = SAMPLES / "test-ca.pem"
TRUST = {"default": False, "test-ca": True}


def _options(with_test_ca: bool, fragments: bool = False) -> Options:
    options = make_options(trust_anchors=[TEST_CA] if with_test_ca else None)
    if fragments:
        options = Options(trust=options.trust, rules=options.rules, limits=options.limits, fragments=True)
    return options


def _library(
    path: Path, media_type: str, options: Options, fragments: Sequence[Path] = ()
) -> tuple[str, dict[str, Any]]:
    """The library's state and store JSON for ``path``, or ``("none", {})`` when it finds no manifest."""
    context = _context(options.trust.lists, options.trust.allow_network)
    with open(path, "rb") as source:
        try:
            reader = c2pa.Reader(media_type, source, context=context)
        except (c2pa.C2paError.ManifestNotFound, c2pa.C2paError.NotSupported):
            return "none", {}
        with reader:
            for fragment in fragments:
                with open(fragment, "rb") as chunk:
                    source.seek(0)
                    reader.with_fragment(media_type, source, chunk)
            return (reader.get_validation_state() or "").lower(), json.loads(reader.json())


def _codes(group: Any, kind: str = "failure") -> set[str]:
    return {entry["code"] for entry in (group or {}).get(kind) or [] if isinstance(entry, dict)}


def _compare(name: str, options: Options, fragments: Sequence[Path] = ()) -> dict[str, Any]:
    path = SAMPLES / name
    report = check(path, options)
    assert report.media_type, report.error
    state, store = _library(path, report.media_type, options, fragments)
    ours = report.credentials
    assert ours.state == state, f"{name}: ours {ours.state!r}, the library's {state!r}"
    results = store.get("validation_results") or {}
    active = results.get("activeManifest") or {}
    assert {v.code for v in ours.validation if v.kind == "failure"} == _codes(active), name
    every = {(kind, code) for kind in ("failure", "informational", "success") for code in _codes(active, kind)}
    assert {(v.kind, v.code) for v in ours.validation} == every, name
    # Failures the library found in ingredients during this validation are shown on those ingredients.
    deltas = {c for d in results.get("ingredientDeltas") or [] for c in _codes(d.get("validationDeltas"))}
    shown = {f.code for m in ours.manifests for ing in m.ingredients for f in ing.failures}
    assert deltas <= shown, f"{name}: ingredient failures {deltas - shown} not shown"
    return {"state": state, "failures": _codes(active)}


def test_every_media_sample_is_compared() -> None:
    suffixes = {Path(name).suffix for name in SIGNED}
    assert {".mp4", ".mov", ".m4a", ".wav", ".avi", ".mp3", ".flac"} <= suffixes
    assert {"valid", "invalid"} <= {EXPECTED[name]["state"] for name in SIGNED}


@pytest.mark.parametrize("trust", sorted(TRUST))
@pytest.mark.parametrize("name", MEDIA)
def test_state_and_codes_agree_with_the_library(name: str, trust: str) -> None:
    seen = _compare(name, _options(TRUST[trust]))
    want = EXPECTED[name]["state"]
    if want == "valid" and TRUST[trust]:
        assert seen["state"] == "trusted", name  # the test CA makes the samples' signers trusted
    elif want == "valid":
        assert seen["state"] == "valid", name
    else:
        assert seen["state"] == want, name
    if want == "invalid":
        assert seen["failures"], f"{name}: invalid with no failure code"


@pytest.mark.parametrize("trust", sorted(TRUST))
def test_init_segment_with_its_fragments_agrees_with_the_library(trust: str) -> None:
    """``--fragments``: the init segment validated with its ``.m4s`` fragments, by us and by the library.

    The sample's manifest holds the one-file BMFF hash (c2pa-python cannot
    sign DASH fragments; see make_samples.py), so both readings say invalid
    here: what is tested is that they agree, state and codes.
    """
    name = "c2pa_dash_init.mp4"
    if name not in EXPECTED:
        pytest.skip("no DASH sample")
    chunks = sorted(SAMPLES.glob("c2pa_dash_chunk-*.m4s"))
    assert chunks
    _compare(name, _options(TRUST[trust], fragments=True), chunks)
