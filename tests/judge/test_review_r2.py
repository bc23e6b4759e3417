"""Sentences a new user read on the samples and the reference fixtures, checked against the files."""

from __future__ import annotations

from pathlib import Path

from provenance.api import check
from tests.conftest import SAMPLES
from tests.judge.test_families import fixture, text_of


def test_untrusted_signer_never_called_sound_beside_a_broken_signature(shared_fixtures: Path) -> None:
    # E-sig-CA.jpg: the library reports signingCredential.untrusted and claimSignature.mismatch together.
    report = fixture(shared_fixtures, "E-sig-CA.jpg")
    codes = {v.code for v in report.credentials.validation if v.kind == "failure"}
    assert {"signingCredential.untrusted", "claimSignature.mismatch"} <= codes
    panel = text_of(report)
    assert "the signature does not match the manifest" in panel
    assert "signature is sound" not in panel
    assert "the signer is on no trust list in use" in panel


def test_ingredient_source_named_with_its_signer_is_closed_by_a_comma() -> None:
    report = check(SAMPLES / "c2pa_ai_edited.png")
    assert (
        "the Content Credentials of ingredient 'c2pa_ai_created.jpg', signed by provenance TEST signer, also declare it"
        in report.summary
    )


def test_a_software_name_is_not_called_a_model() -> None:
    # xmp:CreatorTool "Leonardo.Ai web app" and EXIF Software "Ideogram 2.0" name products, not models.
    xmp = check(SAMPLES / "iptc_ai_xmp.jpg")
    assert "Leonardo.Ai web app" in xmp.summary and "model Leonardo.Ai" not in xmp.summary
    tiff = check(SAMPLES / "iptc_ai.tiff")
    assert "(Ideogram 2.0)" in tiff.summary and "model Ideogram" not in tiff.summary
    # A rule that names its generator still says "model": the model really is one.
    assert "(OpenAI model gpt-image-1)" in check(SAMPLES / "c2pa_ai_created.jpg").summary
