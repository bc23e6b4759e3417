"""The verdict: strength ordering, honesty about absence and tampering."""

from __future__ import annotations

from provenance.evidence import Credentials, Evidence, Manifest, ReadIssue, StatusCode
from provenance.judge import judge
from provenance.match import load_rules, match

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def _findings(*evidence: Evidence):  # type: ignore[no-untyped-def]
    return match(list(evidence), load_rules())


def _creds(state: str) -> Credentials:
    active = Manifest("m", "active", None, "Cam 1.0", "Camera Co signer", "Camera Co", None, "Es256")
    failures = (StatusCode("assertion.dataHash.mismatch", "failure", "the pixels changed after signing"),)
    return Credentials(
        state=state, active_manifest="m", manifests=(active,), validation=failures if state == "invalid" else ()
    )


def test_no_markers_is_never_called_real() -> None:
    verdict = judge([], Credentials())
    assert verdict.verdict == "no-evidence" and verdict.confidence == "low"
    assert "does not mean the image is real" in verdict.summary
    assert "watermark check was not run" in verdict.summary


def test_declared_beats_weak_and_names_decisive_rules() -> None:
    findings = _findings(
        Evidence("exif", "Make", "Canon"),
        Evidence("xmp", "Iptc4xmpExt:DigitalSourceType", TRAINED, "XMP packet"),
    )
    verdict = judge(findings, Credentials())
    assert (verdict.verdict, verdict.confidence) == ("ai-generated", "high")
    assert verdict.decisive == ("IPTC-010",)


def test_camera_exif_alone_is_low_confidence_capture() -> None:
    verdict = judge(_findings(Evidence("exif", "Make", "Canon")), Credentials())
    assert (verdict.verdict, verdict.confidence) == ("captured", "low")
    assert "weak" in verdict.summary


def test_signed_capture_confidence_follows_trust() -> None:
    ev = Evidence("c2pa", "digitalSourceType", CAPTURE, "manifest m (active)", "active")
    assert judge(_findings(ev), _creds("trusted")).confidence == "high"
    assert judge(_findings(ev), _creds("valid")).confidence == "medium"
    tampered = judge(_findings(ev), _creds("invalid"))
    assert tampered.verdict == "no-evidence"
    assert "changed after signing" in tampered.summary


def test_invalid_credentials_keep_ai_declaration_but_lower_confidence() -> None:
    ev = Evidence("c2pa", "digitalSourceType", TRAINED, "manifest m (active)", "active")
    verdict = judge(_findings(ev), _creds("invalid"))
    assert (verdict.verdict, verdict.confidence) == ("ai-generated", "medium")
    assert "invalid" in verdict.summary


def test_error_wins() -> None:
    verdict = judge([], Credentials(), ReadIssue("empty", "the file is empty (0 bytes)"))
    assert verdict.verdict == "error" and "empty" in verdict.summary


def test_no_evidence_says_whether_the_watermark_check_ran() -> None:
    ran = judge([], Credentials(), watermark_checked=True)
    assert ran.verdict == "no-evidence" and "watermark check ran and found no mark" in ran.summary
    assert "not run" not in ran.summary
