"""Validation failures worded by family, and the strongest evidence first.

Real signed files: an expired-certificate file and a tampered file made here
with throwaway chains, the benign samples, and the C2PA reference fixtures in
``../shared/fixtures`` (ingredient, altered-claim and malformed families).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from provenance.api import Options, check, check_bytes, make_options
from provenance.evidence import Credentials, Evidence, Ingredient, Manifest, StatusCode
from provenance.read.c2pa_codes import FAMILIES, family
from provenance.report import Report
from tests.conftest import SAMPLES
from tests.hostile import builders
from tests.judge.expired import DST, expired_signed_jpeg


def text_of(report: Report) -> str:
    from rich.console import Console

    from provenance.render.text import render

    console = Console(file=io.StringIO(), width=140, record=True)
    render(report, console)
    text = console.export_text()
    for border in "│╭╮╰╯─":
        text = text.replace(border, " ")
    return " ".join(text.split())  # panel borders aside, one line of words


def fixture(shared_fixtures: Path, name: str) -> Report:
    return check(shared_fixtures / "c2pa-rs" / name)


@pytest.fixture(scope="module")
def expired(samples_module: ModuleType) -> tuple[bytes, bytes]:
    return expired_signed_jpeg(samples_module)


@pytest.fixture(scope="module")
def anchored(signer: Any, tmp_path_factory: pytest.TempPathFactory) -> Options:
    pem = tmp_path_factory.mktemp("anchors") / "test-root.pem"
    pem.write_bytes(signer.pki.root_pem)
    return make_options(trust_anchors=[pem])


# --- the families themselves ---------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("assertion.dataHash.mismatch", "content-changed"),
        ("assertion.bmffHash.mismatch", "content-changed"),
        ("assertion.boxesHash.mismatch", "content-changed"),
        ("assertion.collectionHash.mismatch", "content-changed"),
        ("assertion.hashedURI.mismatch", "claim-altered"),
        ("claimSignature.mismatch", "claim-altered"),
        ("signingCredential.expired", "credential"),
        ("signingCredential.revoked", "credential"),
        ("signingCredential.invalid", "credential"),
        ("claimSignature.outsideValidity", "credential"),
        ("claim.malformed", "malformed"),
        ("assertion.cbor.invalid", "malformed"),
        ("assertion.action.malformed", "malformed"),
        ("ingredient.manifest.missing", "ingredient"),
        ("ingredient.claimSignature.mismatch", "ingredient"),
    ],
)
def test_each_code_has_its_family(code: str, expected: str) -> None:
    assert family(code) == expected and expected in FAMILIES


# --- credential problem: an expired certificate, nothing changed ----------------


def test_expired_certificate_is_not_called_tampered(expired: tuple[bytes, bytes], schema_validator: Any) -> None:
    data, _ = expired
    report = check_bytes(data, "expired.jpg")
    codes = {v.code: v for v in report.credentials.validation if v.kind == "failure"}
    assert "signingCredential.expired" in codes and codes["signingCredential.expired"].family == "credential"
    assert "assertion.dataHash.mismatch" not in codes
    assert report.credentials.state == "invalid" and report.flagged  # the state and exit code 1 stay
    out = report.to_dict()
    schema_validator.validate(out)
    assert out["credentials"]["family"] == "credential" and out["credentials"]["content_unchanged"] is True
    summary = report.summary
    assert "no longer bound" not in summary and "changed after signing" not in summary
    assert "the content is unchanged since signing (assertion.dataHash.match)" in summary
    assert "the signature cannot be relied on because the signing certificate has expired" in summary
    assert "no trusted time-stamp" in summary
    assert (report.verdict, report.confidence) == ("ai-generated", "high")  # the declaration is intact


def test_expired_certificate_panel_does_not_contradict_itself(expired: tuple[bytes, bytes]) -> None:
    text = text_of(check_bytes(expired[0], "expired.jpg"))
    assert "had expired when it signed" not in text
    assert "Signed no trusted time" not in text
    assert "Signed no time-stamp: when it was signed is not proven" in text
    assert "Failure the signing certificate cannot be relied on" in text
    assert "Content unchanged since signing" in text


def test_expired_capture_is_not_credible_but_not_tampered(samples_module: ModuleType) -> None:
    data, _ = expired_signed_jpeg(samples_module, "digitalCapture")
    report = check_bytes(data, "expired-capture.jpg")
    assert report.verdict == "no-evidence" and report.credentials.state == "invalid"
    assert "declare a capture (digitalCapture), but that claim is not credible" in report.summary
    assert "No AI or capture markers were found" not in report.summary
    assert "no longer bound" not in report.summary


# --- content changed: the strong warning stays ------------------------------------


def test_tampered_sample_keeps_the_strong_warning(schema_validator: Any) -> None:
    report = check(SAMPLES / "c2pa_tampered.jpg")
    out = report.to_dict()
    schema_validator.validate(out)
    assert out["credentials"]["family"] == "content-changed" and out["credentials"]["content_unchanged"] is False
    assert "so what they declare is no longer bound to this file" in report.summary
    assert "the pixels or other bound bytes changed after signing" in report.summary
    # The capture the table lists is named, and dismissed, in the summary.
    assert any(f.indicates == "captured" for f in report.findings)
    assert "No AI or capture markers were found" not in report.summary
    assert "declare a capture (digitalCapture), but that claim is not credible" in report.summary
    assert "Failure content changed after signing" in text_of(report)


def test_content_changed_ai_declaration_loses_confidence(signer: Any, samples_module: ModuleType) -> None:
    signed = bytes(samples_module.c2pa_ai_created(signer))
    report = check_bytes(samples_module.tamper_jpeg(signed), "tampered-ai.jpg")
    assert report.credentials.state == "invalid" and report.verdict == "ai-generated"
    assert report.confidence == "medium"
    assert "no longer bound to this file" in report.summary


# --- claim altered and malformed ----------------------------------------------------


def test_signature_not_matching_the_claim(shared_fixtures: Path) -> None:
    report = fixture(shared_fixtures, "E-sig-CA.jpg")
    assert report.to_dict()["credentials"]["family"] == "claim-altered"
    assert "the manifest was altered after signing" in report.summary
    # The data hash matched, but inside a claim whose signature fails: not proof the content is unchanged.
    assert "unchanged" not in report.summary and "still match" not in report.summary
    assert report.to_dict()["credentials"]["content_unchanged"] is None


def test_statement_changed_after_signing_names_it(shared_fixtures: Path) -> None:
    report = fixture(shared_fixtures, "adobe-20220124-E-clm-CAICAI.jpg")
    assert report.to_dict()["credentials"]["family"] == "claim-altered"
    assert "a statement in the manifest was changed after signing: c2pa.ingredient__1" in report.summary
    assert "the image bytes still match the signed hash: assertion.dataHash.match" in report.summary
    assert "no longer bound" not in report.summary


def test_manifest_the_library_rejects(shared_fixtures: Path) -> None:
    report = fixture(shared_fixtures, "no_alg.jpg")
    assert report.to_dict()["credentials"]["family"] == "malformed"
    assert "the manifest is malformed" in report.summary and "unknown algorithm" in report.summary
    # The camera EXIF the table lists is not passed over in silence.
    assert "No AI or capture markers were found" not in report.summary
    assert "no capture is concluded because the file's Content Credentials failed validation" in report.summary


# --- failure only in an ingredient ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ingredient", "why"),
    [
        ("CIE-sig-CA.jpg", "E-sig-CA.jpg", "the signature does not match the manifest"),
        ("CACAE-uri-CA.jpg", "E-uri-CA.jpg", "a statement in the manifest was changed after signing"),
    ],
)
def test_ingredient_failure_names_the_ingredient(shared_fixtures: Path, name: str, ingredient: str, why: str) -> None:
    report = fixture(shared_fixtures, name)
    assert report.credentials.state == "valid"
    out = report.to_dict()
    assert out["credentials"]["family"] == "ingredient"
    assert "The active Content Credentials verify and the content is unchanged since signing" in report.summary
    assert (
        f"the credentials of ingredient '{ingredient}' (componentOf) failed validation, because {why}" in report.summary
    )
    assert "no longer bound" not in report.summary


# --- valid rather than trusted: which signer, which manifest ---------------------------


def test_valid_not_trusted_names_the_ingredient_signer(shared_fixtures: Path, schema_validator: Any) -> None:
    report = fixture(shared_fixtures, "ocsp_with_assertion.jpg")
    assert report.credentials.state == "valid"
    out = report.to_dict()
    schema_validator.validate(out)
    trust = {m["signer"]: m["trust"] for m in out["credentials"]["manifests"]}
    assert trust["Adobe C2PA"] == "trusted" and trust["C2PA Signer"] == "untrusted"
    note = out["credentials"]["trust_note"]
    assert note.startswith("the active manifest's signer, Adobe C2PA, is on a trust list, but")
    assert "signed by C2PA Signer, on no trust list in use" in note
    assert f"Not trusted {note}" in text_of(report)  # shown without --verbose


def test_valid_not_trusted_names_the_active_signer() -> None:
    report = check(SAMPLES / "c2pa_ai_created.jpg")
    note = report.to_dict()["credentials"]["trust_note"]
    assert note.startswith("the active manifest's signer, provenance TEST signer, is on no trust list in use")
    assert "Not trusted the active manifest's signer" in text_of(report)


# --- the strongest evidence leads ---------------------------------------------------


def test_trusted_credentials_lead_over_xmp(signer: Any, samples_module: ModuleType, anchored: Options) -> None:
    xmp = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": DST + "trainedAlgorithmicMedia"})
    base = samples_module.encode(samples_module.picture(72, (96, 64)), "JPEG", quality=85)
    asset = base[:2] + builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp) + base[2:]
    manifest = {
        "claim_generator_info": [{"name": "Test generator", "version": "1.0"}],
        "title": "both.jpg",
        "assertions": [
            samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "trainedAlgorithmicMedia"})
        ],
    }
    report = check_bytes(signer.sign(manifest, "image/jpeg", asset), "both.jpg", anchored)
    assert report.credentials.state == "trusted" and report.verdict == "ai-generated"
    assert report.summary.startswith("According to Content Credentials signed by provenance TEST signer, a signer on")
    assert "XMP metadata also declares it" in report.summary
    assert "stripped or forged" not in report.summary
    assert "the trusted signature proves who signed this claim" in report.summary
    assert "it does not prove the claim itself" in report.summary
    top = report.top_finding
    assert top is not None and top.source == "c2pa"


def test_trusted_sample_caveat(samples_module: ModuleType) -> None:
    report = check(SAMPLES / "c2pa_ai_created.jpg", make_options(trust_anchors=[SAMPLES / "test-ca.pem"]))
    assert report.credentials.state == "trusted"
    assert "metadata can be stripped or forged" not in report.summary
    assert "the trusted signature proves who signed this claim and that the image is unchanged" in report.summary


def test_unsigned_metadata_keeps_its_caveat() -> None:
    report = check(SAMPLES / "iptc_ai_xmp.jpg")
    assert report.summary.startswith("According to XMP metadata")
    assert "metadata can be stripped or forged" in report.summary


def test_top_finding_is_never_an_info_finding(shared_fixtures: Path) -> None:
    from provenance.render.csv import csv_fields, render_csv_header

    ai = check(SAMPLES / "c2pa_ai_created.jpg")
    assert any(f.indicates == "info" for f in ai.findings)
    assert ai.top_finding is not None and ai.top_finding.indicates == "ai-generated"
    only_info = fixture(shared_fixtures, "CIE-sig-CA.jpg")
    assert only_info.findings and all(f.indicates == "info" for f in only_info.findings)
    assert only_info.top_finding is None
    column = render_csv_header().strip().split(",").index("top_finding")
    assert csv_fields(only_info)[column] == ""


def test_the_html_table_headlines_the_same_finding_as_the_csv(shared_fixtures: Path) -> None:
    import re

    from provenance.render.html import render_html

    ai = check(SAMPLES / "c2pa_ai_created.jpg")
    only_info = fixture(shared_fixtures, "CIE-sig-CA.jpg")
    page = render_html([ai.to_dict(), only_info.to_dict()]).replace("<wbr>", "")
    rows = re.findall(r"<tr[^>]* data-x=\"(\d)\"[^>]*>(.*?)</tr>", page, re.S)
    cells = {int(x): re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for x, row in rows}
    top = ai.top_finding
    assert top is not None and cells[0][5].startswith(f"{top.rule}: ")
    assert cells[1][5] == "", "an info finding never headlines a row"


def test_opt_out_alone_does_not_headline(signer: Any, samples_module: ModuleType) -> None:
    manifest = {
        "claim_generator_info": [{"name": "Test camera app", "version": "1.0"}],
        "title": "opt-out.jpg",
        "assertions": [
            samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "algorithmicMedia"}),
            {
                "label": "cawg.training-mining",
                "data": {"entries": {"cawg.ai_generative_training": {"use": "notAllowed"}}},
            },
        ],
    }
    asset = samples_module.encode(samples_module.picture(73, (96, 64)), "JPEG", quality=85)
    report = check_bytes(signer.sign(manifest, "image/jpeg", asset), "opt-out.jpg")
    assert report.verdict == "no-evidence"
    assert any(f.indicates == "info" for f in report.findings)
    assert report.top_finding is None


def test_generator_lists_have_no_repeats() -> None:
    ai = check(SAMPLES / "c2pa_ai_created.jpg")
    assert "(OpenAI model gpt-image-1)" in ai.summary and "OpenAI; OpenAI" not in ai.summary
    novelai = check(SAMPLES / "novelai.webp")
    assert "NovelAI model NovelAI" not in novelai.summary
    assert novelai.summary.count("NovelAI Diffusion V4") == 1


def test_every_sample_summary_starts_with_a_capital() -> None:
    expected = json.loads((SAMPLES / "expected.json").read_text())
    for name in expected:
        summary = check(SAMPLES / name).summary
        assert summary[:1].isupper(), (name, summary)


# --- ingredient family, judged on constructed values (the judge is a pure function) ---


def _chain(state: str, active_codes: tuple[StatusCode, ...]) -> Credentials:
    broken = StatusCode("claimSignature.mismatch", "failure", "the signature does not match", family="claim-altered")
    ingredient = Ingredient("part.jpg", "componentOf", "c", "invalid", (broken,))
    active = Manifest(
        "m", "active", "out.jpg", "Editor 1.0", "Editor signer", "Editor Co", None, "Es256", (), (ingredient,)
    )
    component = Manifest("c", "component", "part.jpg", "Gen 1.0", "Gen signer", "Gen Co", None, "Es256")
    return Credentials(state=state, active_manifest="m", validation=active_codes, manifests=(active, component))


SOUND = (
    StatusCode("claimSignature.validated", "success", "the manifest's signature verifies"),
    StatusCode("assertion.dataHash.match", "success", "the image bytes are unchanged since signing"),
)


def test_ai_declared_only_by_a_failed_ingredient_loses_confidence() -> None:
    from provenance.judge import judge
    from provenance.match import load_rules, match

    ev = Evidence(
        "c2pa", "digitalSourceType", DST + "trainedAlgorithmicMedia", "manifest c (component ingredient)", "component"
    )
    verdict = judge(match([ev], load_rules()), _chain("valid", SOUND))
    assert verdict.verdict in ("ai-generated", "ai-edited") and verdict.confidence == "medium"
    assert "the credentials of ingredient 'part.jpg' (componentOf) failed" in verdict.summary
    assert "ingredient 'part.jpg', signed by Gen signer" in verdict.summary


def test_active_declaration_survives_an_ingredient_only_failure() -> None:
    from provenance.judge import judge
    from provenance.match import load_rules, match

    missing = StatusCode(
        "ingredient.manifest.missing", "failure", "an ingredient's manifest is missing", family="ingredient"
    )
    ev = Evidence("c2pa", "digitalSourceType", DST + "trainedAlgorithmicMedia", "manifest m (active)", "active")
    verdict = judge(match([ev], load_rules()), _chain("invalid", (missing, *SOUND)))
    assert (verdict.verdict, verdict.confidence) == ("ai-generated", "high")
    assert "invalid because of an ingredient: the active claim's signature verifies" in verdict.summary
    assert "no longer bound" not in verdict.summary


def test_trusted_fingerprint_leads_over_a_declared_xmp(
    signer: Any, samples_module: ModuleType, anchored: Options
) -> None:
    """A trusted manifest written by ChatGPT (a strong fingerprint) outranks an unsigned XMP declaration."""
    xmp = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": DST + "trainedAlgorithmicMedia"})
    base = samples_module.encode(samples_module.picture(74, (96, 64)), "JPEG", quality=85)
    asset = base[:2] + builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp) + base[2:]
    manifest = {
        "claim_generator_info": [{"name": "ChatGPT", "version": "0.0-test"}],
        "title": "chatgpt.jpg",
        "assertions": [
            samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "digitalCreation"})
        ],
    }
    report = check_bytes(signer.sign(manifest, "image/jpeg", asset), "chatgpt.jpg", anchored)
    assert report.credentials.state == "trusted" and report.verdict == "ai-generated"
    assert report.summary.startswith("Content Credentials signed by provenance TEST signer, a signer on"), (
        report.summary
    )
    assert "XMP metadata also declares it" in report.summary
    assert "According to XMP" not in report.summary and "stripped or forged" not in report.summary
    assert report.decisive == ("OPENAI-001",)
    assert report.top_finding is not None and report.top_finding.rule == "OPENAI-001"


def test_plural_sources_take_a_plural_verb() -> None:
    assert check(SAMPLES / "comfyui.webm").summary.startswith("Matroska/WebM tags hold a generator's fingerprint")
    assert check(SAMPLES / "comfyui_tags.mp4").summary.startswith("MP4/MOV container metadata holds a generator's")
    edit = check(SAMPLES / "c2pa_openai_edit.jpg").summary
    assert edit.startswith("Content Credentials signed by provenance TEST signer hold a generator's fingerprint")
