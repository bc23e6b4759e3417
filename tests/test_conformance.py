"""The public C2PA reference files: every row of ../shared/fixtures/EXPECTED.tsv, offline.

The CLI runs inside a network namespace with no interfaces, so any attempt
to fetch a remote manifest or check revocation online would fail the run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli


def _rows() -> list[dict[str, str]]:
    path = FIXTURES / "EXPECTED.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _rows()


@pytest.fixture(scope="module")
def offline_reports(shared_fixtures: Path) -> dict[str, dict[str, object]]:
    files = [str(shared_fixtures / row["file"]) for row in ROWS]
    result = run_cli("check", "--format", "json", *files, netns=True)
    assert result.returncode in (0, 1, 2), result.stderr.decode()
    reports = json.loads(result.stdout)
    assert len(reports) == len(files), "every input appears in the output"
    return {str(Path(r["path"]).relative_to(shared_fixtures)): r for r in reports}


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_expected_state_and_verdict(row: dict[str, str], offline_reports: dict[str, dict[str, object]]) -> None:
    report = offline_reports[row["file"]]
    credentials = report["credentials"]
    assert isinstance(credentials, dict)
    assert credentials["state"] in row["credentials"].split("|"), row["why"]
    assert report["verdict"] in row["verdict"].split("|"), row["why"]


def test_ingredient_failures_are_visible(offline_reports: dict[str, dict[str, object]]) -> None:
    """An ingredient whose own signature fails while the active claim is valid must show."""
    for name, code in (
        ("c2pa-rs/CIE-sig-CA.jpg", "claimSignature.mismatch"),
        ("c2pa-rs/CACAE-uri-CA.jpg", "assertion.hashedURI.mismatch"),
    ):
        credentials = offline_reports[name]["credentials"]
        assert isinstance(credentials, dict)
        assert credentials["state"] == "valid"
        failing = [
            ing
            for manifest in credentials["manifests"]
            for ing in manifest["ingredients"]
            if ing["validation"] == "invalid"
        ]
        assert failing, name
        assert any(f["code"] == code and f["meaning"] for ing in failing for f in ing["failures"])


def test_remote_manifest_is_named_not_fetched(offline_reports: dict[str, dict[str, object]]) -> None:
    credentials = offline_reports["c2pa-rs/cloud.jpg"]["credentials"]
    assert isinstance(credentials, dict)
    assert credentials["state"] == "remote"
    assert str(credentials["remote_url"]).startswith("https://")
    assert "not fetched" in str(offline_reports["c2pa-rs/cloud.jpg"]["summary"])


def test_trusted_signer_names_its_list(offline_reports: dict[str, dict[str, object]]) -> None:
    report = offline_reports["c2pa-rs/ocsp.jpg"]
    credentials = report["credentials"]
    assert isinstance(credentials, dict)
    assert credentials["state"] == "trusted"
    assert "list" in str(credentials["trust_list"])
    # The generator manifest is a componentOf ingredient declaring trainedAlgorithmicMedia.
    declarations = [d for m in credentials["manifests"] for d in m["ai_declarations"]]
    assert {"ai-edited"} <= {d["indicates"] for d in declarations}


def test_without_shipped_lists_the_adobe_file_is_only_valid(shared_fixtures: Path) -> None:
    result = run_cli(
        "check", "--format", "json", "--no-default-trust", str(shared_fixtures / "c2pa-rs/ocsp.jpg"), netns=True
    )
    (report,) = json.loads(result.stdout)
    assert report["credentials"]["state"] == "valid"
    assert report["verdict"] == "ai-edited"
    assert result.returncode == 1


def test_outputs_validate_against_the_schema(offline_reports: dict[str, dict[str, object]], schema_validator) -> None:  # type: ignore[no-untyped-def]
    for name, report in offline_reports.items():
        errors = list(schema_validator.iter_errors(report))
        assert not errors, (name, errors[0].message)
