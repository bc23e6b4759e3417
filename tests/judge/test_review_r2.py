"""Sentences a new user read on the samples and the reference fixtures, checked against the files."""

from __future__ import annotations

from pathlib import Path

from provenance.api import check, make_options
from tests.conftest import SAMPLES
from tests.judge.test_families import expired, fixture, text_of

__all__ = ["expired"]  # the module-scoped fixture, shared with test_families


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
    # Iptc4xmpExt:AISystemUsed names the system itself: no "declared AI system model" prefix.
    assert "(Example Image Model; Leonardo.Ai web app)" in xmp.summary
    tiff = check(SAMPLES / "iptc_ai.tiff")
    assert "(Ideogram 2.0)" in tiff.summary and "model Ideogram" not in tiff.summary
    # A rule that names its generator still says "model": the model really is one.
    assert "(OpenAI model gpt-image-1)" in check(SAMPLES / "c2pa_ai_created.jpg").summary


def test_ingredient_signer_trusted_by_the_lists_in_use_is_not_called_untrusted() -> None:
    # The ingredients of c2pa_ai_edited.png stored signingCredential.untrusted when they were added;
    # with the test CA as an anchor the library's ingredient deltas say signingCredential.trusted now.
    options = make_options(trust_anchors=[SAMPLES / "test-ca.pem"])
    report = check(SAMPLES / "c2pa_ai_edited.png", options)
    assert report.credentials.state == "trusted"
    codes = [f.code for m in report.credentials.manifests for i in m.ingredients for f in i.failures]
    assert "signingCredential.untrusted" not in codes
    assert all(m.trust == "trusted" for m in report.credentials.manifests)
    assert "no trust list" not in text_of(report)
    # Without the anchor the same ingredients are untrusted, and the report says so.
    plain = check(SAMPLES / "c2pa_ai_edited.png")
    assert "nor are the signers of 2 ingredient manifests" in text_of(plain)


def test_html_chain_lists_an_ingredient_declaration_once() -> None:
    # c2pa_ai_edited.png: the component ingredient c2pa_ai_created.jpg has its own manifest, nested in the
    # chain under the ingredient; its three AI declarations were printed under both.
    import re

    from provenance.render.html import render_card

    card = render_card(check(SAMPLES / "c2pa_ai_edited.png").to_dict(), 0)
    chain = card.split("Manifest chain", 1)[1].split("<h5>", 1)[0]
    for rule in ("OPENAI-001", "IPTC-010", "OPENAI-002"):
        assert len(re.findall(rf"AI declaration: ai-edited</span> <code>{rule}</code>", chain)) == 1, rule
    # The active manifest keeps its own.
    assert len(re.findall(r"AI declaration: ai-edited</span> <code>IPTC-009</code>", chain)) == 1


def _badge_meaning(report: dict[str, object]) -> str:
    import re

    from provenance.render.html import render_card

    card = render_card(report, 0)
    found = re.search(r"<h4>Content Credentials</h4><p><span[^>]*>[^<]*</span> ([^<]*)\.</p>", card)
    assert found, card[:2000]
    return found.group(1)


def test_html_invalid_badge_is_worded_by_family(shared_fixtures: Path) -> None:
    assert _badge_meaning(check(SAMPLES / "c2pa_tampered.jpg").to_dict()) == (
        "the Content Credentials fail validation: the pixels or other bound bytes changed after signing"
    )
    no_alg = _badge_meaning(fixture(shared_fixtures, "no_alg.jpg").to_dict())
    assert no_alg == "the Content Credentials fail validation: the manifest is malformed and could not be verified"
    e_sig = _badge_meaning(fixture(shared_fixtures, "E-sig-CA.jpg").to_dict())
    assert "the manifest was altered after signing" in e_sig and "bound bytes" not in e_sig


def test_html_invalid_badge_for_an_expired_certificate_does_not_say_changed(expired: tuple[bytes, bytes]) -> None:
    from provenance.api import check_bytes

    meaning = _badge_meaning(check_bytes(expired[0], "expired.jpg").to_dict())
    assert meaning == (
        "the Content Credentials fail validation: the signing certificate cannot be relied on; "
        "the content is unchanged since signing"
    )


def test_html_error_card_and_row_claim_nothing_was_checked(tmp_path: Path) -> None:
    # A PDF and an empty file are never read: no reader ran, so no confidence, no credentials state,
    # no "no rule matched", and the error is stated once.
    from provenance.render.html import render_card, render_html

    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    for path in (pdf, SAMPLES / "broken_empty.png"):
        report = check(path).to_dict()
        assert report["verdict"] == "error" and report["readers"] == []
        card = render_card(report, 0)
        message = report["error"]["message"]
        assert card.count(message) == 1, card
        assert f"error kind: <strong>{report['error']['kind']}</strong>" in card
        for claim in ("confidence:", "Credentials: None", "carries no Content Credentials", "no rule matched"):
            assert claim not in card, claim
        row = render_html([report]).split('<table id="ft">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert "not checked" in row and ">low<" not in row and "Credentials: None" not in row


def test_csv_error_row_has_no_confidence_or_credentials_state(tmp_path: Path) -> None:
    import csv
    import io

    from provenance.render.csv import COLUMNS
    from tests.conftest import run_cli

    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = run_cli("scan", "--format", "csv", str(tmp_path / "doc.pdf"), str(SAMPLES / "broken_empty.png"))
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in csv.reader(io.StringIO(result.stdout.decode()))][1:]
    assert len(rows) == 2
    for row in rows:
        assert row["verdict"] == "error" and row["error"]
        assert (row["confidence"], row["credentials_state"]) == ("", "")


def test_a_finding_does_not_repeat_a_name_its_sentence_already_says() -> None:
    finding = next(f for f in check(SAMPLES / "drawthings.png").findings if f.rule == "DRAWTHINGS-001")
    assert finding.value == "Draw Things"
    assert finding.message == "XMP CreatorTool names Draw Things"
    # A value that adds something is still given.
    fooocus = next(f for f in check(SAMPLES / "fooocus.jpg").findings if f.rule == "FOOOCUS-003")
    assert fooocus.message == "EXIF Software names Fooocus (Fooocus v2.5.5)"


def test_watermark_summary_names_the_generator_without_nested_brackets(tmp_path: Path) -> None:
    watermarks = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "watermarks"
    marked = watermarks / "sdxl_1024_text.png"
    if not marked.is_file():
        import pytest

        pytest.skip("../shared/fixtures/watermarks is not present")
    report = check(marked, make_options(watermarks=True))
    assert report.verdict == "ai-generated"
    assert "generated by AI (Stable Diffusion);" in report.summary
    assert "((" not in report.summary and "))" not in report.summary


def test_text_panel_states_a_reader_problem_once(shared_fixtures: Path) -> None:
    rejected = text_of(fixture(shared_fixtures, "no_alg.jpg"))
    assert rejected.count("the C2PA library rejected the manifest: Other: unknown algorithm") == 2  # summary, Error row
    assert "note (c2pa-invalid-manifest" not in rejected
    small = check(SAMPLES / "plain_gradient.webp", make_options(watermarks=True))
    assert any(i.kind == "too-small" for i in small.issues)
    panel = text_of(small)
    assert panel.count("the dwtDct mark needs at least 256x256 pixels") == 1, panel


def test_unread_files_are_counted_under_no_credentials_state(tmp_path: Path) -> None:
    import json
    import re

    from provenance.render.html import render_html
    from tests.conftest import run_cli

    names = ("broken_empty.png", "broken_random.jpg", "c2pa_capture.jpg", "plain_gradient.webp")
    paths = [str(SAMPLES / n) for n in names]
    summary_file = tmp_path / "summary.json"
    run_cli("scan", "--summary-json", str(summary_file), "--out", str(tmp_path / "out.jsonl"), *paths)
    summary = json.loads(summary_file.read_text())
    assert summary["errors"] == 2 and summary["credentials"]["none"] == 1 and summary["credentials"]["valid"] == 1
    page = render_html([check(p).to_dict() for p in paths])
    assert re.search(r'data-fc="none">.*?</th><td>1</td>', page)
    assert len(re.findall(r'data-v="error" data-c=""', page)) == 2


def test_one_software_value_gives_one_finding() -> None:
    # novelai.webp: EXIF Software "NovelAI Diffusion V4 1A2B3C4D" is NovelAI's model-and-hash fact (NOVELAI-003);
    # the generic SOFTWARE-001 said the same value again.
    report = check(SAMPLES / "novelai.webp")
    on_software = [f.rule for f in report.findings if (f.source, f.field) == ("exif", "Software")]
    assert on_software == ["NOVELAI-003"]
    assert report.verdict == "ai-generated" and report.summary.count("NovelAI Diffusion V4") == 1
    # Other generator names in Software still match the generic rule.
    assert any(f.rule == "SOFTWARE-001" for f in check(SAMPLES / "iptc_ai.tiff").findings)


def test_readme_says_which_files_a_folder_walk_passes_over() -> None:
    from provenance.paths import SKIPPED_EXTENSIONS, wanted_in_walk

    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    said = readme.split("- `PATH` is a file, a folder", 1)[1].split("standard input", 1)[0]
    for ext in (".txt", ".json", ".xmp", ".pdf", ".docx"):
        assert f"`{ext}`" in said and ext in SKIPPED_EXTENSIONS and not wanted_in_walk("a" + ext)
    assert "hidden files" in said and not wanted_in_walk(".hidden.png")


def test_html_does_not_call_a_tolerated_code_failed_on_valid_credentials(shared_fixtures: Path) -> None:
    # C_with_CAWG_data.jpg is valid; the library lists cawg.x509.credential.untrusted among its failures.
    import re

    from provenance.render.html import render_card

    report = fixture(shared_fixtures, "C_with_CAWG_data.jpg")
    assert report.credentials.state == "valid"
    card = render_card(report.to_dict(), 0)
    words = dict(
        (code, word) for word, code in re.findall(r"<li><strong>([^<]*)</strong>: [^<]*\. <code>([^<]*)</code>", card)
    )
    assert words["cawg.x509.credential.untrusted"] == "Not on a trust list"
    assert "FAILED" not in card
    # A real failure keeps its word.
    assert "<strong>FAILED</strong>" in render_card(fixture(shared_fixtures, "XCA.jpg").to_dict(), 0)


def test_a_quoted_description_reads_as_a_quotation() -> None:
    finding = next(f for f in check(SAMPLES / "c2pa_microsoft_designer.jpg").findings if f.rule == "C2PA-003")
    assert finding.message == 'The signed creation record describes the image as "AI Generated Image"'


def test_readme_sample_output_is_what_the_tool_prints() -> None:
    import os
    import subprocess
    import sys

    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Sample output", 1)[1]
    command = section.split("`", 2)[1]
    assert command == "provenance check samples_benign/a1111_parameters.png samples_benign/c2pa_tampered.jpg"
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "provenance", *command.split()[1:], "--format", "text"],
        capture_output=True,
        cwd=SAMPLES.parent,
        env=env,
        timeout=300,
    )
    assert result.returncode == 1 and "(exit code 1)" in section.split("```", 1)[0]
    assert result.stdout.decode() == shown


def test_html_reader_notes_state_each_failure_once() -> None:
    from provenance.render.html import render_card

    report = check(SAMPLES / "plain_gradient.webp", make_options(watermarks=True)).to_dict()
    kinds = [i["kind"] for i in report["issues"]]
    assert "too-small" in kinds and "reader-failed" in kinds
    notes = render_card(report, 0).split("<h4>Notes from the readers</h4>", 1)[1]
    assert notes.count("the dwtDct mark needs at least 256x256 pixels") == 1


def test_the_same_file_gives_the_same_report_in_every_run() -> None:
    # The library's manifest map comes in a different order from one process to the next; the report
    # follows the chain instead: active manifest, then its ingredients as listed (parent, component).
    import json
    import subprocess
    import sys

    runs = set()
    for _ in range(6):
        out = subprocess.run(
            [sys.executable, "-m", "provenance", "check", "--format", "json", "samples_benign/c2pa_ai_edited.png"],
            capture_output=True,
            cwd=SAMPLES.parent,
            timeout=300,
        ).stdout
        report = json.loads(out)[0]
        titles = tuple(m["title"] for m in report["credentials"]["manifests"])
        runs.add((titles, tuple(f["rule"] for f in report["findings"])))
    assert len(runs) == 1, runs
    ((titles, _),) = runs
    assert titles == ("c2pa_ai_edited.png", "c2pa_capture.jpg", "c2pa_ai_created.jpg")


def test_html_and_csv_do_not_report_none_when_the_credentials_check_failed() -> None:
    # As in an install where the C2PA library cannot load: the check failed, so "None: the file
    # carries no Content Credentials" would be a check reported as having found nothing.
    import json
    import subprocess
    import sys

    code = (
        "import sys, json\nsys.modules['c2pa'] = None\n"
        "from provenance.api import check\nfrom provenance.render.csv import csv_fields\n"
        "from provenance.render.html import render_card, render_html\n"
        f"r = check({str(SAMPLES / 'c2pa_capture.jpg')!r})\n"
        "print(json.dumps([csv_fields(r), render_card(r.to_dict(), 0), render_html([r.to_dict()])]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=SAMPLES.parent, timeout=300)
    row, card, page = json.loads(done.stdout)
    assert row[1] == "no-evidence" and row[3] == ""
    assert "Credentials: not checked (the check failed)" in card
    assert "carries no Content Credentials" not in card and "Credentials: None" not in card
    assert "no rule matched anything" not in card and "No findings from the checks that finished" in card
    table = page.split('<table id="ft">', 1)[1].split("</table>", 1)[0]
    assert "not checked (the check failed)" in table and 'data-c=""' in table


def test_scan_summary_counts_a_failed_credentials_check_as_not_checked(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    summary_file = tmp_path / "summary.json"
    argv = [
        "provenance",
        "scan",
        "--jobs",
        "1",
        "--summary-json",
        str(summary_file),
        "--out",
        str(tmp_path / "o.jsonl"),
    ]
    argv += [str(SAMPLES / "c2pa_capture.jpg"), str(SAMPLES / "plain_gradient.webp")]
    code = f"import sys\nsys.modules['c2pa'] = None\nsys.argv = {argv!r}\nfrom provenance.cli import main\nmain()\n"
    subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=SAMPLES.parent, timeout=300)
    summary = json.loads(summary_file.read_text())
    assert summary["files"] == 2 and summary["errors"] == 0
    # The signed file's credentials could not be read (the library is missing); the plain one has none to read.
    assert summary["credentials"] == {"none": 1, "remote": 0, "invalid": 0, "valid": 0, "trusted": 0}


def test_text_panel_says_once_that_the_signer_is_on_no_trust_list() -> None:
    panel = text_of(check(SAMPLES / "c2pa_capture.jpg"))
    assert "Not trusted the active manifest's signer, provenance TEST signer, is on no trust list in use" in panel
    assert panel.count("on no trust list in use") == 2  # the summary and the Not trusted row
    assert "signingCredential.untrusted" not in panel
    # Invalid credentials have no Not trusted row: the code's own row stays.
    assert "signingCredential.untrusted the signer is on no trust list" in text_of(check(SAMPLES / "c2pa_tampered.jpg"))
