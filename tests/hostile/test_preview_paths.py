"""``report --thumbnails`` on results naming paths no file can have.

A results file is JSON anyone can edit: a path holding a lone surrogate that is
not an undecodable byte (``\\ud800``) or a NUL cannot be opened at all. The
preview worker raised on it and the card said "the decoder stopped
unexpectedly", of a file no decoder saw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.render.preview import UNREADABLE, Preview, read_checked
from tests.hostile.conftest import cli


@pytest.mark.parametrize("path", ["d/\ud800x.png", "d/\x00nul.png"])
def test_a_path_no_file_can_have_is_unreadable_not_a_decoder_crash(path: str) -> None:
    got = read_checked(path, "0" * 64, 10)
    assert isinstance(got, Preview) and got.uri is None and got.why_not == UNREADABLE


def test_report_says_so_in_the_card(tmp_path: Path) -> None:
    record = {"path": "d/\ud800x.png", "verdict": "no-evidence", "sha256": "0" * 64, "size": 10}
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(record) + "\n")
    result = cli("report", str(results), "--thumbnails", "--out", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr.decode()
    page = (tmp_path / "r.html").read_text()
    assert UNREADABLE in page and "stopped unexpectedly" not in page
