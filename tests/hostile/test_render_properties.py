"""Every renderer survives every report the schema allows, and shows people nothing a terminal acts on.

A report's strings come from the file: its name (any bytes but ``/`` and
NUL, undecodable ones kept as lone surrogates U+DC80 to U+DCFF), and
metadata text that may hold controls, bidirectional overrides and, from a
JSON ``\\ud800`` escape, lone surrogates. Reports are built here with such
strings in every string field and put through every renderer: the
terminal panel (into a strict UTF-8 file), JSON, JSONL and CSV records as
``scan`` writes them, and the HTML page. Each must finish, encode as strict
UTF-8, and (but JSON, which is data) carry no control character but
newline and tab, no bidirectional control and no lone surrogate. The JSON
form must still validate against the schema and keep the path
round-trippable to the original bytes.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from provenance.evidence import (
    Action,
    Credentials,
    Ingredient,
    Manifest,
    RawField,
    ReadIssue,
    StatusCode,
)
from provenance.match import Finding
from provenance.render.csv import COLUMNS, csv_path
from provenance.render.html import render_html
from provenance.render.safe import visible, visible_line
from provenance.render.text import render
from provenance.report import Report, ReportError
from provenance.scan import Render
from provenance.unicode import valid, valid_text
from tests.hostile.test_output import unsafe

PROFILE = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

#: Characters that make a terminal or a page act, or hide what follows.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Whole sequences an attacker would use: screen clear, OSC 52 clipboard write, window title,
#: C1 CSI, a right-to-left override hiding an extension, lone surrogates, markup of each renderer.
HOSTILE = (
    "\x1b[2J",
    "\x1b]52;c;cHduZWQ=\x07",
    "\x1b]0;title\x1b\\",
    "\x07",
    "\x9b31m",
    "\x9d8;;http://x\x9c",
    "\x7f",
    "\r",
    "\x00",
    "x\u202egnp.exe",
    "\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
    "\ud800",
    "\udfff",
    "\udcff\udc80",
    "\ud83d",  # half of a surrogate pair
    "<script>alert(1)</script>",
    "[/][bold]",
    ":red_circle:",
    "=HYPERLINK(1)",
    '"\n,',
)


_chars = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.integers(0, 0x1F).map(chr),
    st.integers(0x7F, 0x9F).map(chr),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.sampled_from(sorted(BIDI)),
)
hostile_text = st.one_of(
    st.text(_chars, max_size=30),
    st.binary(max_size=30).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=4).map("".join),
    st.tuples(st.text(_chars, max_size=8), st.sampled_from(HOSTILE), st.text(max_size=8)).map("".join),
)
maybe_text = st.none() | hostile_text
paths = st.one_of(
    hostile_text,
    st.binary(min_size=1, max_size=40)
    .filter(lambda b: b"\0" not in b)
    .map(lambda b: os.fsdecode(b"/tmp/" + b.replace(b"/", b"_"))),
)
VERDICTS = ("ai-generated", "ai-edited", "captured", "no-evidence", "error")
STATES = ("none", "remote", "invalid", "valid", "trusted")


SOURCES = ("c2pa", "xmp", "exif", "png-text", "jpeg-comment", "container", "heuristic", "watermark")


@st.composite
def reports(draw: st.DrawFn, strict: bool | None = None) -> Report:
    """A report with hostile text in every free-text field; ``strict``: enums and patterns as the schema
    asks (``None``: either way), else hostile text there too."""
    t = hostile_text
    if strict is None:
        strict = draw(st.booleans())

    def one_of(*choices: str) -> st.SearchStrategy[str]:
        return st.sampled_from(choices) if strict else st.sampled_from(choices) | t

    status = st.builds(StatusCode, t, st.sampled_from(("success", "informational", "failure")), t, t, t)
    action = st.builds(Action, t, maybe_text, maybe_text, maybe_text, maybe_text)
    labels = draw(st.lists(t, min_size=0, max_size=3))
    manifests = []
    for label in labels:
        ingredients = draw(
            st.lists(
                st.builds(
                    Ingredient,
                    t,
                    t,
                    st.none() | st.sampled_from(labels) | t,
                    st.sampled_from(("valid", "invalid", "no-manifest")),
                    st.lists(status, max_size=2).map(tuple),
                ),
                max_size=2,
            )
        )
        manifests.append(
            Manifest(
                label=label,
                scope=draw(st.sampled_from(("active", "parent", "component", "unreferenced"))),
                title=draw(maybe_text),
                claim_generator=draw(maybe_text),
                signer=draw(maybe_text),
                issuer=draw(maybe_text),
                signing_time=draw(maybe_text),
                algorithm=draw(maybe_text),
                actions=tuple(draw(st.lists(action, max_size=2))),
                ingredients=tuple(ingredients),
                assertions=tuple(draw(st.lists(t, max_size=2))),
            )
        )
    credentials = Credentials(
        state=draw(st.sampled_from(STATES)),
        active_manifest=draw(st.none() | st.sampled_from(labels) if labels else st.none()),
        trust_list=draw(maybe_text),
        remote_url=draw(maybe_text | st.just("https://example.invalid/m\u202e.c2pa")),
        error=draw(maybe_text),
        validation=tuple(draw(st.lists(status, max_size=3))),
        manifests=tuple(manifests),
    )
    rule = st.from_regex(r"\A[A-Z][A-Z0-9]{0,6}(-[A-Z0-9]{1,4}){0,2}-[0-9]{3}\Z") if strict else t
    finding = st.builds(
        Finding,
        rule=rule,
        title=t,
        source=one_of(*SOURCES),
        field=t,
        value=t,
        location=t,
        scope=one_of("file", "active", "parent", "component"),
        indicates=one_of("ai-generated", "ai-edited", "captured", "not-ai", "info"),
        strength=one_of("declared", "strong", "weak"),
        message=t,
        reference=st.just("https://example.invalid/\x1b[2J") | t.filter(bool),
        generator=maybe_text,
        model=maybe_text,
        version=maybe_text,
    )
    findings = tuple(draw(st.lists(finding, max_size=3)))
    decisive = tuple(draw(st.lists(st.sampled_from([f.rule for f in findings]) if findings else t, max_size=2)))
    verdict = draw(st.sampled_from(VERDICTS))
    error = ReportError(draw(one_of("truncated", "internal-error")), draw(hostile_text) or "x")
    return Report(
        path=draw(paths),
        verdict=verdict,
        confidence=draw(st.sampled_from(("high", "medium", "low"))),
        summary=draw(hostile_text) or "s",
        media_type=draw(st.none() | st.just("image/png") | hostile_text),
        size=draw(st.none() | st.integers(0, 2**40)),
        sha256=draw(st.none() | st.just("0" * 64) | st.text("0123456789abcdef", min_size=64, max_size=64)),
        mtime=draw(st.none() | st.floats(0, 2e9)),
        credentials=credentials,
        findings=findings,
        decisive=decisive,
        error=error if verdict == "error" or draw(st.booleans()) else None,
        issues=tuple(draw(st.lists(st.builds(ReadIssue, t, t, t), max_size=3))),
        readers=("container", "text"),
        raw=tuple(draw(st.lists(st.builds(RawField, t, t, t), max_size=3))),
        tool_version=draw(hostile_text),
        rules_digest=draw(hostile_text),
    )


def _text_panel(report: Report, verbose: bool) -> str:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n")
    console = Console(file=stream, width=100, color_system=None, force_terminal=False, legacy_windows=False)
    render(report, console, verbose=verbose)
    stream.flush()
    return raw.getvalue().decode("utf-8")


@PROFILE
@given(reports(), st.booleans())
def test_every_renderer_survives_any_report(report: Report, verbose: bool) -> None:
    # Terminal panel, into a strict UTF-8 file.
    panel = _text_panel(report, verbose)
    assert not unsafe(panel), unsafe(panel)

    # JSON: data, exact; a path from os.fsdecode turns back into its bytes.
    data = json.loads(json.dumps(report.to_dict(verbose)))
    if not any(0xD800 <= ord(ch) <= 0xDBFF for ch in report.path):  # JSON reads a split pair as one character
        assert data["path"] == report.path
    if all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in report.path):
        os.fsencode(data["path"])

    # JSONL and JSON records exactly as scan writes them, and its CSV row.
    plain = json.loads(json.dumps(report.to_dict()))
    for fmt in ("jsonl", "json"):
        assert json.loads(Render(fmt)(report)[4].decode("ascii")) == plain
    row_bytes = Render("csv")(report)[4]
    row_text = row_bytes.decode("utf-8")  # strict: no lone surrogate reached the bytes
    assert row_text.count("\n") == 1 and row_text.endswith("\n"), "one row, one line"
    assert not unsafe(row_text.rstrip("\n"), newlines=False)
    (row,) = list(csv.reader(io.StringIO(row_text, newline="")))
    assert len(row) == len(COLUMNS)
    assert row[0] == csv_path(report.path) == visible_line(report.path)

    # HTML: whole page encodes, nothing raw, the name shown in its escaped form.
    page = render_html([report.to_dict(verbose)])
    page.encode("utf-8")
    assert not unsafe(page), unsafe(page)
    name = report.path or "(no name)"
    shown = page.replace("<wbr>", "")  # long names get break points; the text is the same without them
    assert html.escape(visible_line(name), quote=True) in shown, "a name is shown escaped, on one line"


@settings(max_examples=60, deadline=None, database=None)
@given(reports(strict=True))
def test_any_report_validates_against_the_schema(schema_validator: Any, report: Report) -> None:
    schema_validator.validate(json.loads(json.dumps(report.to_dict(verbose=True))))


@PROFILE
@given(hostile_text)
def test_visible_escapes_every_unsafe_character_and_keeps_the_rest(text: str) -> None:
    shown = visible(text)
    assert not unsafe(shown)
    assert not unsafe(visible_line(text), newlines=False)
    assert visible(shown) == shown and visible_line(visible_line(text)) == visible_line(text), "idempotent"
    shown.encode("utf-8")
    for ch in text:
        if ch.isprintable() or ch in "\n\t":
            assert ch in shown
    assert visible("caf\u00e9 \u2713 \U0001f600 \u65e5\u672c") == "caf\u00e9 \u2713 \U0001f600 \u65e5\u672c"


@PROFILE
@given(hostile_text)
def test_valid_text_leaves_no_lone_surrogate(text: str) -> None:
    fixed = valid_text(text)
    fixed.encode("utf-8")
    if text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass") == text and not any(
        0xD800 <= ord(ch) <= 0xDFFF for ch in text
    ):
        assert fixed is text
    nested = {"k\ud800": [text, ("t", text)], "n": 1}
    cleaned = valid(nested)
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")


def test_escapes_are_the_documented_forms() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x1b]52;c;aGk=\x07") == "\\x1b]52;c;aGk=\\x07"
    assert visible("x\u202egnp.exe") == "x\\u202egnp.exe"
    assert visible("\x9b\x7f\r") == "\\x9b\\x7f\\r"
    assert visible("line\nnext\ttab") == "line\nnext\ttab"
    assert visible_line("line\nnext\ttab") == "line\\nnext\\ttab"
    assert visible(os.fsdecode(b"bad\xff.png")) == "bad\\xff.png"  # an undecodable byte of a name
    assert visible("\ud800") == valid_text("\ud800") == "\\ud800"
    assert valid_text(os.fsdecode(b"\xfe")) == "\\xfe"
    untouched = "plain ascii"
    assert valid_text(untouched) is untouched and valid({"a": [untouched]})["a"][0] is untouched
