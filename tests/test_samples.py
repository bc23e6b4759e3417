"""The committed benign samples (samples_benign/): verdicts, credentials, coverage, read-only access.

The samples and ``expected.json`` are made by ``samples_benign/make_samples.py``;
these tests run the real library and CLI over the committed files.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.api import check, make_options
from provenance.judge import VERDICTS
from provenance.match import builtin_rules_dir
from provenance.report import Report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples_benign"
EXPECTED: dict[str, dict[str, str]] = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
SUPPORT_FILES = {"README.md", "expected.json", "make_samples.py", "test-ca.pem"}
SIGNED = sorted(name for name, want in EXPECTED.items() if want["state"] == "valid")
TAMPERED = sorted(name for name, want in EXPECTED.items() if want["state"] == "invalid")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    return {name: check(SAMPLES / name) for name in sorted(EXPECTED)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_verdict_and_credentials_state(name: str) -> None:
    report = check(SAMPLES / name)
    want = EXPECTED[name]
    got = {"verdict": report.verdict, "state": report.credentials.state}
    assert got == want, f"{name}: {report.summary} findings={[f.rule for f in report.findings]}"


def test_folder_holds_exactly_the_listed_samples() -> None:
    present = {p.name for p in SAMPLES.iterdir() if p.is_file()} - SUPPORT_FILES
    assert present == set(EXPECTED)
    assert len(EXPECTED) >= 20
    assert sum(p.stat().st_size for p in SAMPLES.iterdir() if p.is_file()) < 3 * 1024 * 1024


def test_samples_cover_every_verdict_and_format(reports: dict[str, Report]) -> None:
    assert {want["verdict"] for want in EXPECTED.values()} == set(VERDICTS)
    media_types = {r.media_type for r in reports.values()}
    assert {"image/jpeg", "image/png", "image/webp", "image/tiff", "image/gif"} <= media_types
    assert any(r.credentials.state == "valid" and r.media_type == "image/jpeg" for r in reports.values())
    assert any(r.credentials.state == "valid" and r.media_type == "image/png" for r in reports.values())


def test_every_rule_family_but_watermark_fires_on_some_sample(reports: dict[str, Report]) -> None:
    families: dict[str, set[str]] = {}  # family -> rule ids
    for path in sorted(builtin_rules_dir().glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        family = str(doc.get("family", path.stem))
        families.setdefault(family, set()).update(rule["id"] for rule in doc["rule"])
    families.pop("watermark", None)
    fired = {finding.rule for report in reports.values() for finding in report.findings}
    silent = sorted(family for family, ids in families.items() if not ids & fired)
    assert not silent, f"no sample fires a rule of: {silent}"


def test_misnamed_file_keeps_its_verdict_and_notes_the_extension(reports: dict[str, Report]) -> None:
    report = reports["misnamed_png.jpg"]
    assert report.media_type == "image/png"
    assert "CONTAINER-001" in {f.rule for f in report.findings}
    assert report.verdict == EXPECTED["misnamed_png.jpg"]["verdict"]


def test_checking_leaves_sample_bytes_unchanged() -> None:
    before = {name: _sha256(SAMPLES / name) for name in EXPECTED}
    anchored = make_options(trust_anchors=[SAMPLES / "test-ca.pem"])
    for name in EXPECTED:
        plain = check(SAMPLES / name)
        check(SAMPLES / name, anchored)
        if (SAMPLES / name).stat().st_size:
            assert plain.sha256 == before[name], name
    after = {name: _sha256(SAMPLES / name) for name in EXPECTED}
    assert after == before


def test_cli_trusts_signed_samples_with_the_test_anchor(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))  # no user config file
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "provenance",
            "check",
            "samples_benign/",
            "--format",
            "json",
            "--trust-anchors",
            "samples_benign/test-ca.pem",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr  # the broken samples are errors
    by_name = {Path(entry["path"]).name: entry for entry in json.loads(proc.stdout)}
    walked = {name for name in EXPECTED if not name.endswith(".m4s")}  # folder walks leave DASH segments out
    assert walked <= set(by_name) and not any(name.endswith(".m4s") for name in by_name)
    assert SIGNED and TAMPERED
    for name in SIGNED:
        credentials = by_name[name]["credentials"]
        assert credentials["state"] == "trusted", name
        assert "test-ca.pem" in (credentials["trust_list"] or ""), name
    for name in TAMPERED:
        credentials = by_name[name]["credentials"]
        assert credentials["state"] == "invalid", name
        failures = [v for v in credentials["validation"] if v["kind"] == "failure"]
        mismatch = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch")  # BMFF (MP4) has its own hash
        assert any(v["code"] in mismatch and v["meaning"].strip() for v in failures), failures
    errors = {name for name, entry in by_name.items() if entry["verdict"] == "error"}
    assert errors & set(EXPECTED) == {name for name in walked if EXPECTED[name]["verdict"] == "error"}


def _listed_rules() -> dict[str, set[str]]:
    """The README table's "Rules that should fire" column, by file (make_samples.py writes both)."""
    listed: dict[str, set[str]] = {}
    for line in (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].strip("`") in EXPECTED:
            listed[cells[0].strip("`")] = {r.strip() for r in cells[3].split(",") if r.strip() not in ("", "—")}
    return listed


def test_each_sample_fires_the_rules_its_readme_row_lists(reports: dict[str, Report]) -> None:
    listed = _listed_rules()
    assert set(listed) == set(EXPECTED)
    for name, rules in listed.items():
        fired = {f.rule for f in reports[name].findings}
        assert rules <= fired, f"{name}: listed {sorted(rules)}, fired {sorted(fired)}"


def test_camera_exif_alone_is_a_low_confidence_capture(reports: dict[str, Report]) -> None:
    for name in ("camera_exif.jpg", "camera.tiff"):
        report = reports[name]
        assert (report.verdict, report.confidence) == ("captured", "low"), name
        assert {f.rule for f in report.findings} == {"CAMERA-001"}, name


def test_a_manifest_naming_the_product_only_is_ai_generated_with_one_finding_per_fact() -> None:
    report = check(SAMPLES / "c2pa_microsoft_designer.jpg")
    active = report.credentials.active
    assert active is not None and not any(a.digital_source_type for a in active.actions)
    # The reader saw the claim generator twice (v1 string and claim_generator_info) ...
    fields = {r.field.split(": ", 1)[-1] for r in report.raw if r.source == "c2pa"}
    assert {"claim_generator", "claim_generator_info.name"} <= fields
    # ... and the rule that names it reports it once.
    rules = [f.rule for f in report.findings]
    assert rules.count("MICROSOFT-001") == 1
    assert {"MICROSOFT-002", "C2PA-003"} <= set(rules)
    assert report.verdict == "ai-generated"
    assert all(f.indicates == "ai-generated" for f in report.findings)


def test_an_agent_on_an_edit_action_makes_the_image_ai_edited_not_generated() -> None:
    report = check(SAMPLES / "c2pa_generative_edit.jpg")
    assert [(f.rule, f.indicates) for f in report.findings] == [("GOOGLE-002", "ai-edited")]
    assert report.verdict == "ai-edited"
