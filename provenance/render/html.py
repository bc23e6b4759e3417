"""A self-contained HTML report people can look at: overview, file table, one card per file.

The only input is report dictionaries in the :meth:`Report.to_dict
<provenance.report.Report.to_dict>` form, so a report can be rendered from a
scan's JSONL long after the scan. Everything taken from a report (file names,
metadata values, signer names) is attacker-controlled and is escaped; the
page loads nothing: a Content-Security-Policy forbids any fetch, the CSS and
the script are inline and allowed by their hashes, and images are allowed
only as ``data:`` URIs when previews were asked for. All content is rendered
here, as HTML; the script only filters, sorts and pages the table.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import partial
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from provenance import __version__
from provenance.read.c2pa_codes import TOLERATED
from provenance.render.preview import THUMBNAIL_PIXELS as THUMBNAIL_PIXELS
from provenance.render.preview import Preview
from provenance.render.preview import make_thumbnail as make_thumbnail
from provenance.render.preview import thumbnails_for as thumbnails_for
from provenance.render.safe import visible, visible_line

DEFAULT_TITLE = "provenance report"

#: Verdicts, most serious first, with the words shown on the badge.
VERDICTS: dict[str, str] = {
    "ai-generated": "AI-generated",
    "ai-edited": "AI-edited",
    "error": "Error: not analysed",
    "captured": "Captured",
    "no-evidence": "No evidence",
}
VERDICT_MEANING: dict[str, str] = {
    "ai-generated": "the file declares, or carries a tool fingerprint showing, that a generative model made it",
    "ai-edited": "a generative model made part of it or edited it",
    "error": "the file could not be analysed",
    "captured": "credible evidence of a camera capture and no AI evidence",
    "no-evidence": "nothing points either way; this is not a finding that the image is real",
}
#: Credentials states, in the order the table sorts them.
STATES: dict[str, str] = {
    "invalid": "Invalid",
    "trusted": "Trusted",
    "valid": "Valid, not trusted",
    "remote": "Remote, not fetched",
    "none": "None",
}
STATE_MEANING: dict[str, str] = {
    "invalid": "the Content Credentials fail validation",
    "trusted": "the Content Credentials verify and the signer is on a trust list in use",
    "valid": "the Content Credentials verify, but the signer is on no trust list in use: "
    "anyone can make such a certificate",
    "remote": "the file points at Content Credentials stored elsewhere; they were not fetched (offline)",
    "none": "the file carries no Content Credentials",
}
CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}
INGREDIENT_WORDS = {
    "valid": ("OK", "its own Content Credentials verify"),
    "invalid": ("FAILED", "its own Content Credentials fail validation"),
    "no-manifest": ("NO CREDENTIALS", "it carries no Content Credentials of its own"),
}
SCOPE_WORDS = {
    "active": "Active manifest",
    "parent": "Parent ingredient's manifest",
    "component": "Component ingredient's manifest",
    "unreferenced": "Manifest not linked from the active one",
}
FLAGGED = frozenset({"ai-generated", "ai-edited"})

#: Values longer than this are cut in the page (the JSON report keeps them whole).
MAX_VALUE_CHARS = 1200
#: Rows past the first page are hidden while a page with scripts on loads (the
#: script then pages them), so the browser lays out one page, not all; cards past
#: it are held in <noscript> (see render_document).
FIRST_PAGE = 50
#: The first cards of a page start open; the rest start collapsed to their summary (heading,
#: verdict, one sentence), so the page stays a list to scan (a card opens when its row is followed).
OPEN_CARDS = 3
#: Manifest chains deeper than this are cut (a hostile JSONL could nest without end).
MAX_CHAIN_DEPTH = 40

#: The page's style sheet and script, package files (``provenance/render/static/``) so that they can be
#: linted and read on their own. They are inlined into every page, and allowed by the policy by the
#: SHA-256 of exactly the text inlined.
STATIC = "provenance.render"


def _asset(name: str, closing: str) -> str:
    text = (resources.files(STATIC) / "static" / name).read_bytes().decode("utf-8")
    if closing in text.lower():  # inlined as the element's text, it could not contain its end tag
        raise RuntimeError(f"static/{name} may not contain {closing}")
    return text


CSS = _asset("report.css", "</style")
JS = _asset("report.js", "</script")


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


STYLE_HASH = _digest(CSS)
SCRIPT_HASH = _digest(JS)


def content_security_policy(images: bool, form_action: str = "'none'") -> str:
    """The policy of the page: nothing may load; only our own inline CSS and script run."""
    parts = [
        "default-src 'none'",
        f"style-src {STYLE_HASH}",
        f"script-src {SCRIPT_HASH}",
        "img-src data:" if images else "img-src 'none'",
        "base-uri 'none'",
        f"form-action {form_action}",
    ]
    return "; ".join(parts)


# --- small helpers --------------------------------------------------------


def _e(value: Any) -> str:
    """Escaped text of any report value (``None`` is empty): controls, bidirectional overrides and
    lone surrogates made visible (:func:`provenance.render.safe.visible`), then HTML-escaped."""
    if value is None:
        return ""
    return escape(visible(value if isinstance(value, str) else str(value)), quote=True)


def _s(data: Any, key: str) -> str:
    """A text field of a report dictionary, tolerant of missing keys and odd types."""
    if not isinstance(data, Mapping):
        return ""
    value = data.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, list) else []


def _dict(data: Any, key: str) -> Mapping[str, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


#: Where a long token may break: after a separator of paths, URLs, names and hashes.
_BREAK_AFTER = re.compile(r"(?<=[/\\._\-?&=:,;+@#|~])|(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z]{3})(?=[0-9])")
_SPACES = re.compile(r"(\s+)")
#: Tokens at least this long get break opportunities; runs longer than _LONG_RUN without
#: a separator (hashes, say) may break every _RUN_STEP characters.
_LONG_TOKEN = 12
_LONG_RUN = 12
_RUN_STEP = 10


def _w(value: Any) -> str:
    """Escaped text whose long tokens may wrap at sensible points (``<wbr>``), not anywhere mid-word.

    A path, URL, model name or hash breaks after ``/ . _ -`` and the like, or
    where camelCase or letters and digits meet; a run with none of these (a
    hex digest) only in chunks. The text a
    reader copies or searches is unchanged.
    """
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if len(text) < _LONG_TOKEN:
        return _e(text)
    out = []
    for token in _SPACES.split(text):
        if len(token) < _LONG_TOKEN or token.isspace():
            out.append(_e(token))
            continue
        pieces: list[str] = []
        for piece in _BREAK_AFTER.split(token):
            while len(piece) > _LONG_RUN:
                pieces.append(piece[:_RUN_STEP])
                piece = piece[_RUN_STEP:]
            pieces.append(piece)
        out.append("<wbr>".join(_e(p) for p in pieces if p))
    return "".join(out)


def _cut(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    if len(text) <= limit:
        return _w(text)
    return f"{_w(text[:limit])}<span class=x> \u2026 (cut here: {len(text):,} characters in all)</span>"


def safe_url(url: str) -> str | None:
    """``url`` if it is a plain http(s) address, else ``None`` (never linked)."""
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 or ch in "\"'<>\\`" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _link(url: str, text: str | None = None) -> str:
    safe = safe_url(url)
    shown = _e(text if text is not None else url)
    if safe is None:
        return shown
    return f'<a href="{_e(safe)}" rel="noreferrer noopener">{shown}</a>'


def _verdict(report: Mapping[str, Any]) -> str:
    verdict = _s(report, "verdict")
    return verdict if verdict in VERDICTS else "error"


def _state(report: Mapping[str, Any]) -> str:
    state = _s(_dict(report, "credentials"), "state")
    return state if state in STATES else "none"


def _flagged(report: Mapping[str, Any]) -> bool:
    return _verdict(report) in FLAGGED or _state(report) == "invalid"


def _badge_verdict(verdict: str, confidence: str = "") -> str:
    """The verdict's badge; a capture's carries its confidence, so that weak evidence never looks like a trusted one."""
    strength = f" q-{confidence}" if verdict == "captured" and confidence in CONFIDENCE_RANK else ""
    return f'<span class="b v-{verdict}{strength}">{_e(VERDICTS[verdict])}</span>'


def _badge_state(state: str, prefix: str = "", words: str | None = None) -> str:
    return f'<span class="b c-{state}">{_e(prefix + (words or STATES[state]))}</span>'


def _unchecked(report: Mapping[str, Any]) -> bool:
    """Whether the Content Credentials check failed on this file (its state says nothing then)."""
    return _verdict(report) == "error" or any(
        isinstance(i, Mapping) and _s(i, "kind") == "reader-failed" and _s(i, "source") == "c2pa"
        for i in _list(report, "issues")
    )


UNCHECKED_WORDS = "Not checked (the check failed)"


def _about(entry: Mapping[str, Any], label: str) -> bool:
    """Whether a validation status is about the manifest ``label`` (one naming no manifest is about the active one)."""
    url = _s(entry, "url")
    if "/c2pa/" not in url:
        return True
    named = url.split("/c2pa/", 1)[1].split("/", 1)[0]
    return named == label


def _untrusted_ingredients(credentials: Mapping[str, Any]) -> list[str]:
    """Titles of the ingredients whose own signer is on no trust list, in chain order."""
    titles: list[str] = []
    for manifest in _list(credentials, "manifests"):
        for ingredient in _list(manifest, "ingredients"):
            failures = _list(ingredient, "failures")
            if any(_s(f, "code") == "signingCredential.untrusted" for f in failures):
                title = _s(ingredient, "title") or "untitled"
                if title not in titles:
                    titles.append(title)
    return titles


#: Why credentials are invalid, by failure family (see provenance.read.c2pa_codes): an expired
#: certificate is not a changed file, and a malformed manifest is not a broken signature.
INVALID_MEANING: dict[str, str] = {
    "content-changed": "the pixels or other bound bytes changed after signing",
    "claim-altered": "the manifest was altered after signing, or its signature does not match it",
    "malformed": "the manifest is malformed and could not be verified",
    "credential": "the signing certificate cannot be relied on",
    "ingredient": "an ingredient's own Content Credentials fail validation",
}


def _invalid_meaning(credentials: Mapping[str, Any]) -> str:
    why = INVALID_MEANING.get(_s(credentials, "family"))
    if why is None:
        return "the Content Credentials fail validation"
    unchanged = credentials.get("content_unchanged") is True and _s(credentials, "family") != "content-changed"
    return f"the Content Credentials fail validation: {why}" + (
        "; the content is unchanged since signing" if unchanged else ""
    )


def _state_words(credentials: Mapping[str, Any]) -> tuple[str, str, str]:
    """The state, the words of its badge and their meaning, for this file's active manifest.

    Trust labels belong to the manifest they describe: a file the library
    rates ``valid`` because an ingredient's signer is on no trust list, while
    the active manifest's own signer chains to one, is not shown as signed by
    an untrusted signer.
    """
    state = _s(credentials, "state") if _s(credentials, "state") in STATES else "none"
    if state == "invalid":
        return state, STATES[state], _invalid_meaning(credentials)
    if state != "valid":
        return state, STATES[state], STATE_MEANING[state]
    active = _s(credentials, "active_manifest")
    trusted = any(
        _s(v, "code") == "signingCredential.trusted" and _about(v, active)
        for v in _list(credentials, "validation")
        if isinstance(v, Mapping)
    )
    if not trusted:
        return state, "Valid, signer not on a trust list", STATE_MEANING[state]
    titles = _untrusted_ingredients(credentials)
    if titles:
        named = ", ".join(f"\u201c{t}\u201d" for t in titles[:5]) + (", \u2026" if len(titles) > 5 else "")
        one = len(titles) == 1
        why = (
            f": the signer of {'the ingredient' if one else 'the ingredients'} {named} "
            f"{'is' if one else 'are'} on no trust list in use"
        )
    else:
        why = ""
    return (
        state,
        "Valid, active signer trusted",
        "the Content Credentials verify and the active manifest's signer is on a trust list in use, "
        f"but the file as a whole is rated valid, not trusted{why}",
    )


def _name(path: str) -> str:
    return visible_line(path) if path else "(no name)"  # a name is shown on one line, as in every renderer


def _size(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return ""
    if value < 1024:
        return f"{value:,} bytes"
    units = ("KiB", "MiB", "GiB", "TiB")
    amount = float(value)
    shown = "bytes"
    for unit in units:
        amount /= 1024
        shown = unit
        if amount < 1024:
            break
    return f"{value:,} bytes ({amount:.1f} {shown})"


def _findings(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in _list(report, "findings") if isinstance(f, Mapping)]


def _decisive(report: Mapping[str, Any]) -> set[str]:
    return {str(x) for x in _list(report, "decisive")}


def _top_finding(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The finding that headlines the row: as the CSV's ``top_finding`` (decisive, strongest source, never info)."""
    from provenance.report import top_of

    def fields(finding: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return _s(finding, "rule"), _s(finding, "indicates"), _s(finding, "strength"), _s(finding, "source")

    return top_of(_findings(report), _decisive(report), _s(_dict(report, "credentials"), "state"), fields)


def _generator(report: Mapping[str, Any]) -> str:
    findings = _findings(report)
    decisive = _decisive(report)
    for finding in findings:
        if _s(finding, "rule") in decisive and (_s(finding, "generator") or _s(finding, "model")):
            return " ".join(x for x in (_s(finding, "generator"), _s(finding, "model")) if x)
    for finding in findings:
        if _s(finding, "generator"):
            return _s(finding, "generator")
    return ""


def _error_text(report: Mapping[str, Any]) -> str:
    error = _dict(report, "error")
    if not error:
        return ""
    return f"{_s(error, 'kind')}: {_s(error, 'message')}"


# --- overview and table ----------------------------------------------------


def _overview(reports: Sequence[Mapping[str, Any]]) -> str:
    verdicts = Counter(_verdict(r) for r in reports)
    # A file that could not be analysed was never read: it is counted under no credentials state.
    states = Counter(_state(r) for r in reports if not _unchecked(r))
    flagged = sum(1 for r in reports if _flagged(r))
    out = ['<section id="overview" aria-labelledby="h-overview"><h2 id="h-overview">Overview</h2><div class="counts">']
    out.append(
        '<table><caption>Files per verdict</caption><thead><tr><th scope="col">Verdict</th>'
        '<th scope="col">Files</th></tr></thead><tbody>'
    )
    for verdict in VERDICTS:
        out.append(
            f'<tr><th scope="row"><a href="#files" data-fv="{verdict}">{_badge_verdict(verdict)}</a>'
            f'<span class="vh"> ({_e(VERDICT_MEANING[verdict])})</span></th><td>{verdicts.get(verdict, 0):,}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append(
        '<table><caption>Files per Content Credentials state</caption><thead><tr><th scope="col">Credentials</th>'
        '<th scope="col">Files</th></tr></thead><tbody>'
    )
    for state in STATES:
        out.append(
            f'<tr><th scope="row"><a href="#files" data-fc="{state}">{_badge_state(state)}</a></th>'
            f"<td>{states.get(state, 0):,}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(
        f"<p><strong>{len(reports):,}</strong> files in all; <strong>{flagged:,}</strong> flagged "
        "(AI-generated, AI-edited, or invalid Content Credentials); "
        f"<strong>{verdicts.get('error', 0):,}</strong> could not be analysed.</p>"
    )
    out.append("</div></section>")
    return "".join(out)


def _filters() -> str:
    verdicts = "".join(f'<option value="{v}">{_e(w)}</option>' for v, w in VERDICTS.items())
    states = "".join(f'<option value="{s}">{_e(w)}</option>' for s, w in STATES.items())
    sizes = "".join(f'<option value="{n}"{" selected" if n == 50 else ""}>{n}</option>' for n in (25, 50, 100, 250))
    return (
        '<form id="filters" class="filters js" hidden role="search" aria-label="Filter the files">'
        '<label>Search (name, signer, generator, finding)<input type="search" id="q" autocomplete="off"></label>'
        f'<label>Verdict<select id="fv"><option value="">any verdict</option>{verdicts}</select></label>'
        f'<label>Content Credentials<select id="fc"><option value="">any state</option>{states}</select></label>'
        '<label class="check"><input type="checkbox" id="ff"> Flagged files only</label>'
        f'<label>Files per page<select id="ps">{sizes}</select></label>'
        '<button type="reset">Clear filters</button></form>'
    )


def _pager() -> str:
    return (
        '<nav class="pager js" hidden aria-label="Pages of the file table">'
        '<button type="button" id="first">First page</button>'
        '<button type="button" id="prev">Previous page</button>'
        '<span id="pinfo">Page 1 of 1</span>'
        '<button type="button" id="next">Next page</button>'
        '<button type="button" id="last">Last page</button></nav>'
    )


COLUMNS = ("File", "Verdict", "Confidence", "Credentials", "Signer", "Generator", "Top finding", "Error")


def _split_path(path: str) -> tuple[str, str]:
    """The file name, and its folder as a muted line (empty when there is none); split before escaping."""
    cut = max(path.rfind("/"), path.rfind("\\"))
    if cut <= 0 or cut == len(path) - 1:
        return _name(path), ""
    return _name(path[cut + 1 :]), f'<span class="x">{_w(_name(path[: cut + 1]))}</span>'


def _row(index: int, report: Mapping[str, Any]) -> str:
    verdict, state = _verdict(report), _state(report)
    credentials = _dict(report, "credentials")
    top = _top_finding(report)
    top_text = ""
    if top is not None:
        top_text = f"{_e(_s(top, 'rule'))}: {_w(_s(top, 'title') or _s(top, 'message'))}"
    confidence = _s(report, "confidence")
    verdict_rank = list(VERDICTS).index(verdict)
    flag = " <span class=x>flagged</span>" if _flagged(report) else ""
    base, folder = _split_path(_s(report, "path"))
    state_rank = list(STATES).index(state)
    if verdict == "error":
        # Nothing was read from a file that could not be analysed: no confidence, no credentials state.
        judged = '<td data-s="3"></td><td data-s="9" class=x>not checked</td>'
    elif _unchecked(report):
        judged = (
            f'<td data-s="{CONFIDENCE_RANK.get(confidence, 3)}">{_e(confidence)}</td>'
            f'<td data-s="9" class=x>{_e(UNCHECKED_WORDS.lower())}</td>'
        )
    else:
        judged = (
            f'<td data-s="{CONFIDENCE_RANK.get(confidence, 3)}">{_e(confidence)}</td>'
            f'<td data-s="{state_rank}">{_badge_state(state, words=_state_words(credentials)[1])}</td>'
        )
    return (
        f'<tr{" class=later" if index >= FIRST_PAGE else ""} data-x="{index}" data-v="{verdict}" '
        f'data-c="{"" if _unchecked(report) else state}" '
        f'data-fl="{int(_flagged(report))}">'
        f'<th scope="row"><a href="#f{index}">{_w(base)}</a>{folder}</th>'
        f'<td data-s="{verdict_rank}">{_badge_verdict(verdict, confidence)}{flag}</td>'
        f"{judged}"
        f"<td>{_w(_s(credentials, 'signer'))}</td>"
        f"<td>{_w(_generator(report))}</td>"
        f"<td>{top_text}</td>"
        f"<td>{_cut(_error_text(report), 160)}</td></tr>"
    )


def _table(reports: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in COLUMNS)
    rows = "".join(_drawn(partial(_row, i, r), i, r, row=True) for i, r in enumerate(reports))
    return (
        '<section id="files" aria-labelledby="h-files"><h2 id="h-files">Files</h2>'
        + _filters()
        + '<p id="showing" role="status" aria-live="polite">'
        + f"{len(reports):,} files.</p>"
        + '<div class="wrap"><table id="ft"><caption class="vh">Every file checked, one row each; '
        "the file name links to its card below.</caption>"
        + f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        + _pager()
        + "</section>"
    )


# --- one card per file -----------------------------------------------------


def _status_list(entries: Iterable[Any], label: str, active: str | None = None) -> str:
    """Status codes in words; with ``active``, a code about another manifest says which."""
    items = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        code, kind = _s(entry, "code"), _s(entry, "kind")
        meaning = _s(entry, "meaning") or _s(entry, "explanation") or code
        explanation = _s(entry, "explanation")
        word = {"failure": "FAILED", "informational": "Note", "success": "Passed"}.get(kind, kind or "Status")
        if code == "signingCredential.untrusted" or (
            kind == "failure" and code.endswith(("untrusted", "untrusted_issuer"))
        ):
            word = "Not on a trust list"
        elif kind == "failure" and code in TOLERATED:
            word = "Not verified"  # the library reports it as a failure, but the credentials stay valid
        detail = f' <span class="x">(library says: {_e(explanation)})</span>' if explanation else ""
        if active is not None and not _about(entry, active):
            other = _s(entry, "url").split("/c2pa/", 1)[1].split("/", 1)[0]
            detail += f' <span class="x">(about the manifest <code>{_e(other)}</code>, not the active one)</span>'
        items.append(f"<li><strong>{_e(word)}</strong>: {_e(meaning)}. <code>{_e(code)}</code>{detail}</li>")
    if not items:
        return ""
    return f'<ul class="checks" aria-label="{_e(label)}">{"".join(items)}</ul>'


def _declarations(entries: Iterable[Any]) -> str:
    seen: set[tuple[str, str, str]] = set()
    items = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        key = (_s(entry, "rule"), _s(entry, "indicates"), _s(entry, "value"))
        if key in seen:
            continue
        seen.add(key)
        items.append(
            f'<li><span class="b ai">AI declaration: {_e(key[1])}</span> <code>{_e(key[0])}</code> '
            f"{_cut(key[2], 300)}</li>"
        )
    return f'<ul class="checks">{"".join(items)}</ul>' if items else ""


def _actions(actions: Iterable[Any]) -> str:
    items = []
    for action in actions:
        if not isinstance(action, Mapping):
            continue
        bits = []
        if _s(action, "software_agent"):
            bits.append(f"by {_e(_s(action, 'software_agent'))}")
        source = _s(action, "digital_source_type")
        if source:
            bits.append(f"source type {_e(source.rsplit('/', 1)[-1])}")
        if _s(action, "description"):
            bits.append(_cut(_s(action, "description"), 300))
        extra = f" <span class=x>({'; '.join(bits)})</span>" if bits else ""
        items.append(f"<li><code>{_e(_s(action, 'action'))}</code>{extra}</li>")
    if not items:
        return ""
    return (
        f"<details><summary>{len(items)} action{'s' * (len(items) != 1)}</summary><ul>{''.join(items)}</ul></details>"
    )


def _manifest_node(
    manifest: Mapping[str, Any],
    by_label: Mapping[str, Mapping[str, Any]],
    seen: set[str],
    depth: int,
    headline: str,
) -> str:
    label = _s(manifest, "label")
    seen.add(label)
    scope = _s(manifest, "scope")
    signer = _s(manifest, "signer") or "unknown signer"
    facts = [f"signed by <strong>{_e(signer)}</strong>"]
    if _s(manifest, "issuer"):
        facts.append(f"issuer {_e(_s(manifest, 'issuer'))}")
    if _s(manifest, "signing_time"):
        facts.append(f"at {_e(_s(manifest, 'signing_time'))}")
    if _s(manifest, "claim_generator"):
        facts.append(f"claim generator {_e(_s(manifest, 'claim_generator'))}")
    title = f" \u201c{_e(_s(manifest, 'title'))}\u201d" if _s(manifest, "title") else ""
    out = [
        f'<li class="manifest"><p><strong>{_e(SCOPE_WORDS.get(scope, "Manifest"))}</strong>{title} '
        f"{headline}</p><p class=x><code>{_w(label)}</code></p><p>{'; '.join(facts)}</p>",
        _declarations(_list(manifest, "ai_declarations")),
        _actions(_list(manifest, "actions")),
    ]
    ingredients = [i for i in _list(manifest, "ingredients") if isinstance(i, Mapping)]
    if ingredients:
        out.append("<ul>")
        for ingredient in ingredients:
            out.append(_ingredient_node(ingredient, by_label, seen, depth))
        out.append("</ul>")
    out.append("</li>")
    return "".join(out)


def _ingredient_node(
    ingredient: Mapping[str, Any], by_label: Mapping[str, Mapping[str, Any]], seen: set[str], depth: int
) -> str:
    validation = _s(ingredient, "validation")
    word, meaning = INGREDIENT_WORDS.get(validation, (validation.upper() or "UNKNOWN", "validation not reported"))
    failing = validation == "invalid"
    state_class = validation if validation in INGREDIENT_WORDS else "no-manifest"
    mark = "\u2717 " if failing else ("\u2713 " if validation == "valid" else "")
    out = [
        f'<li class="ingredient{" failing" * failing}"><p><span class="b st-{state_class}">'
        f"{mark}Ingredient {_e(word)}</span> "
        f"<strong>\u201c{_e(_s(ingredient, 'title'))}\u201d</strong> "
        f"<span class=x>({_e(_s(ingredient, 'relationship'))}: {_e(meaning)})</span></p>",
        _status_list(
            _list(ingredient, "failures"), "Why this ingredient fails" if failing else "Notes on this ingredient"
        ),
    ]
    child_label = _s(ingredient, "manifest")
    child = by_label.get(child_label) if child_label else None
    shown = child is not None and child_label not in seen and depth < MAX_CHAIN_DEPTH
    if not shown:
        # The ingredient's own manifest, nested below, lists these; one fact is shown once.
        out.append(_declarations(_list(ingredient, "ai_declarations")))
    if child is not None and child_label not in seen:
        if depth >= MAX_CHAIN_DEPTH:
            out.append("<p class=x>The chain goes deeper; the JSON report has the rest.</p>")
        else:
            out.append("<ul>")
            out.append(_manifest_node(child, by_label, seen, depth + 1, ""))
            out.append("</ul>")
    out.append("</li>")
    return "".join(out)


def _chain(credentials: Mapping[str, Any]) -> str:
    manifests = [m for m in _list(credentials, "manifests") if isinstance(m, Mapping)]
    if not manifests:
        return ""
    by_label = {_s(m, "label"): m for m in manifests}
    active_label = _s(credentials, "active_manifest")
    state = _s(credentials, "state") if _s(credentials, "state") in STATES else "none"
    seen: set[str] = set()
    out = ['<h5>Manifest chain</h5><ul class="tree" aria-label="Manifest chain, active manifest first">']
    active = by_label.get(active_label)
    if active is not None:
        words = _state_words(credentials)[1]
        out.append(_manifest_node(active, by_label, seen, 0, _badge_state(state, "Validation: ", words)))
    for manifest in manifests:
        if _s(manifest, "label") not in seen:
            out.append(_manifest_node(manifest, by_label, seen, 0, ""))
    out.append("</ul>")
    return "".join(out)


def _media_kind(media_type: str) -> str:
    """``video`` or ``audio`` for a media type the tool reads as such, else empty."""
    from provenance.read.media import MEDIA_TYPES

    entry = MEDIA_TYPES.get(media_type)
    return entry[0] if entry else ""


def _credentials_section(credentials: Mapping[str, Any], unchecked: bool = False) -> str:
    from provenance.read.media import FRAGMENTS_NEEDED

    state, words, meaning = _state_words(credentials)
    if unchecked:
        words = UNCHECKED_WORDS
        meaning = "the Content Credentials check failed on this file, so whether it carries any is not known"
    elif state == "invalid" and _s(credentials, "note") == FRAGMENTS_NEEDED:
        meaning = "the Content Credentials could not be validated: the fragments they hash were not given"
    out = [
        "<h4>Content Credentials</h4>",
        f"<p>{_badge_state(state, words=words)} {_e(meaning)}.</p>",
    ]
    if _s(credentials, "note"):
        out.append(f'<p class="note">Note: {_e(_s(credentials, "note"))}.</p>')
    facts = []
    for key, label in (
        ("signer", "Signer"),
        ("issuer", "Issuer"),
        ("trust_list", "Trust list matched"),
        ("signing_time", "Signed at"),
        ("claim_generator", "Claim generator"),
    ):
        if _s(credentials, key):
            facts.append(f"<dt>{label}</dt><dd>{_w(_s(credentials, key))}</dd>")
    if state == "trusted" and not _s(credentials, "trust_list"):
        facts.append("<dt>Trust list matched</dt><dd>not recorded</dd>")
    if _s(credentials, "remote_url"):
        facts.append(
            f"<dt>Remote manifest</dt><dd><code>{_w(_s(credentials, 'remote_url'))}</code> "
            "(not fetched: checks run offline)</dd>"
        )
    if _s(credentials, "error"):
        facts.append(f'<dt>Error</dt><dd class="err">{_e(_s(credentials, "error"))}</dd>')
    if facts:
        out.append(f'<dl class="facts">{"".join(facts)}</dl>')
    validation = [v for v in _list(credentials, "validation") if isinstance(v, Mapping)]
    problems = [v for v in validation if _s(v, "kind") == "failure"]
    notes = [v for v in validation if _s(v, "kind") == "informational"]
    passed = [v for v in validation if _s(v, "kind") not in ("failure", "informational")]
    if problems:
        out.append("<h5>Validation problems, in plain words</h5>")
        out.append(_status_list(problems, "Validation problems", _s(credentials, "active_manifest")))
    if notes:
        out.append("<h5>Validation notes</h5>")
        out.append(_status_list(notes, "Validation notes", _s(credentials, "active_manifest")))
    if passed:
        counts = Counter(_s(v, "code") for v in passed)
        codes = ", ".join(f"<code>{_e(c)}</code>" + (f" \u00d7{n}" if n > 1 else "") for c, n in counts.items())
        out.append(
            f"<details><summary>{len(passed)} validation check{'s' * (len(passed) != 1)} passed</summary>"
            f"<p>{codes}</p></details>"
        )
    out.append(_chain(credentials))
    return "".join(out)


def _findings_section(report: Mapping[str, Any], index: int) -> str:
    findings = _findings(report)
    if not findings:
        if any(isinstance(i, Mapping) and _s(i, "kind") == "reader-failed" for i in _list(report, "issues")):
            return "<h4>Findings</h4><p>No findings from the checks that finished.</p>"
        return "<h4>Findings</h4><p>No findings: no rule matched anything in this file.</p>"
    decisive = _decisive(report)
    rows = []
    for finding in findings:
        rule = _s(finding, "rule")
        mark = ' <strong class="x">(decisive)</strong>' if rule in decisive else ""
        reference = _s(finding, "reference")
        ref = _link(reference, "reference") if safe_url(reference) else _e(reference)
        where = _s(finding, "location")
        where_html = f'<br><span class="x">in {_e(where)}</span>' if where else ""
        rows.append(
            f'<tr><th scope="row"><code>{_e(rule)}</code>{mark}<br>'
            f'<span class="x">{_e(_s(finding, "title"))}</span></th>'
            f"<td>{_e(_s(finding, 'source'))}</td><td><code>{_w(_s(finding, 'field'))}</code></td>"
            f'<td><span class="val">{_cut(_s(finding, "value"))}</span>{where_html}</td>'
            f"<td>{_e(_s(finding, 'indicates'))}</td><td>{_e(_s(finding, 'strength'))}</td><td>{ref}</td></tr>"
        )
    head = "".join(
        f'<th scope="col">{c}</th>' for c in ("Rule", "Source", "Field", "Value", "Indicates", "Strength", "Reference")
    )
    return (
        f'<h4>Findings</h4><div class="wrap"><table class="fnd"><caption class="vh">Findings for file {index + 1}'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _thumbnail(index: int, preview: Preview | None, name: str) -> str:
    uri = preview.uri if preview is not None else None
    if uri is None:
        why = preview.why_not if preview is not None and preview.why_not else "none could be made"
        return f'<div class="thumb"><p class="x">Preview not shown: {_e(why)}.</p></div>'
    return (
        f'<div class="thumb"><input type="checkbox" id="u{index}">'
        f'<label for="u{index}">Unblur preview</label>'
        f'<span class="frame"><img src="{_e(uri)}" alt="Preview of {_e(name)}, blurred until unblurred">'
        "</span></div>"
    )


def render_card(
    report: Mapping[str, Any],
    index: int,
    *,
    thumbnail: Preview | str | None = None,
    thumbnails_on: bool = False,
    open_details: bool = True,
) -> str:
    """One file's card: verdict, summary, credentials, manifest chain, findings."""
    verdict, state = _verdict(report), _state(report)
    name = _name(_s(report, "path"))
    credentials = _dict(report, "credentials")
    findings = _findings(report)
    # A file that could not be analysed was never read: no confidence, no credentials state, no
    # "no findings" (nothing was looked for), and its error stated once.
    failed = verdict == "error"
    line = [_badge_verdict(verdict, _s(report, "confidence"))]
    if failed:
        kind = _s(_dict(report, "error"), "kind")
        if kind:
            line.append(f"<span>error kind: <strong>{_e(kind)}</strong></span>")
    else:
        words = UNCHECKED_WORDS.lower() if _unchecked(report) else _state_words(credentials)[1]
        line += [
            f"<span>confidence: <strong>{_e(_s(report, 'confidence') or 'unknown')}</strong></span>",
            _badge_state(state, "Credentials: ", words),
        ]
    if _flagged(report):
        line.append("<strong>Flagged</strong>")
    out = [
        f'<article class="card" id="f{index}" data-v="{verdict}" data-q="{_e(_s(report, "confidence"))}" '
        f'aria-labelledby="f{index}-h">',
        f'<h3 id="f{index}-h"><span class="x">{index + 1}.</span> {_w(name)}</h3>',
    ]
    if thumbnails_on:
        out.append(_thumbnail(index, _preview(thumbnail), name))
    out.append(f'<p class="line">{"".join(line)}</p>')
    if failed:
        out.append(f'<p class="sum err">{_e(_s(report, "summary"))}</p>')
    else:
        out.append(f'<p class="sum">{_e(_s(report, "summary"))}</p>')
        if _error_text(report):
            out.append(f'<p class="err">Error {_e(_error_text(report))}</p>')
    parts = []
    if not failed and (state != "none" or _list(credentials, "manifests")):
        parts.append("Content Credentials")
    parts.append("file facts" if failed else f"{len(findings)} finding{'s' * (len(findings) != 1)}")
    out.append(f"<details{' open' * open_details}><summary>Details: {', '.join(parts)}</summary>")
    facts = []
    if _s(report, "media_type"):
        facts.append(f"<dt>Media type</dt><dd>{_e(_s(report, 'media_type'))}</dd>")
        kind = _media_kind(_s(report, "media_type"))
        if kind:
            facts.append(f"<dt>Kind</dt><dd>{kind} (no preview is made of video or audio)</dd>")
    if _size(report.get("size")):
        facts.append(f"<dt>Size</dt><dd>{_e(_size(report.get('size')))}</dd>")
    if _s(report, "sha256"):
        facts.append(f"<dt>SHA-256</dt><dd><code>{_w(_s(report, 'sha256'))}</code></dd>")
    readers = ", ".join(str(r) for r in _list(report, "readers"))
    if readers:
        facts.append(f"<dt>Read by</dt><dd>{_e(readers)}</dd>")
    if facts:
        out.append(f'<dl class="facts">{"".join(facts)}</dl>')
    if not failed:
        out.append(_credentials_section(credentials, unchecked=_unchecked(report)))
        out.append(_findings_section(report, index))
    issues = [i for i in _list(report, "issues") if isinstance(i, Mapping)]
    # A reader's own note that its failure entry quotes in full is one fact: listed once.
    failures = [_s(i, "message") for i in issues if _s(i, "kind") == "reader-failed"]
    issues = [
        i
        for i in issues
        if _s(i, "kind") == "reader-failed" or not any(_s(i, "message") and _s(i, "message") in f for f in failures)
    ]
    if issues:
        items = "".join(
            f"<li><strong>{_e(_s(i, 'kind'))}</strong> ({_e(_s(i, 'source'))}): {_cut(_s(i, 'message'), 600)}</li>"
            for i in issues
        )
        out.append(f'<h4>Notes from the readers</h4><ul class="checks">{items}</ul>')
    out.append("</details></article>")
    return "".join(out)


def _drawn(draw: Callable[[], str], index: int, report: Mapping[str, Any], row: bool = False) -> str:
    """``draw()``: the table row or the card of one report; if drawing fails, a row or card that says so.

    One report the page cannot show must not cost the page the others.
    """
    try:
        return draw()
    except Exception as exc:
        try:
            name, verdict = _e(_name(_s(report, "path"))), _verdict(report)
        except Exception:
            name, verdict = "(a file)", "error"
        problem = _e(f"this file's report could not be shown ({type(exc).__name__}); its verdict is {verdict}")
        if row:
            return f'<tr data-x="{index}" data-v="{verdict}" data-c="none" data-fl="0"><th scope="row">{name}</th>' + (
                f'<td colspan="{len(COLUMNS) - 1}" class="err">{problem}</td></tr>'
            )
        return (
            f'<article class="card" id="f{index}" data-v="{verdict}"><h3><span class="x">{index + 1}.</span> '
            f'{name}</h3><p class="err">{problem}</p></article>'
        )


# --- the page ---------------------------------------------------------------


_DATA_URI = re.compile(r"data:image/(?:jpeg|png|webp);base64,[A-Za-z0-9+/]+={0,2}")


def _valid_thumbnail(uri: str) -> bool:
    return _DATA_URI.fullmatch(uri) is not None


def _preview(value: Any) -> Preview | None:
    """A preview given as a ``data:`` URI or a :class:`Preview`; one whose URI is not a plain image is dropped."""
    if isinstance(value, str):
        value = Preview(value)
    if not isinstance(value, Preview):
        return None
    if value.uri is not None and not _valid_thumbnail(value.uri):
        return Preview(None)
    return value


def _versions(reports: Sequence[Mapping[str, Any]]) -> str:
    versions = sorted({_s(_dict(r, "provenance"), "version") for r in reports} - {""})
    digests = sorted({_s(_dict(r, "provenance"), "rules") for r in reports} - {""})
    made = f"checked with provenance {', '.join(versions)}" if versions else "checked with provenance"
    if digests:
        more = ", \u2026" if len(digests) > 3 else ""
        made += f" (rules {', '.join(digests[:3])}{more})"
    return made


def _policy_attribute(images: bool, form_action: str) -> str:
    policy = content_security_policy(images, form_action)
    if any(ch in policy for ch in '"<>&'):  # form_action comes from our code, but be sure
        raise ValueError("unexpected character in the content security policy")
    return policy


def render_document(
    reports: Iterable[Mapping[str, Any]],
    *,
    thumbnails: Mapping[str, Preview | str] | None = None,
    title: str = DEFAULT_TITLE,
    form: str = "",
    form_action: str = "'none'",
    empty_message: str = "No files were checked.",
    cards_first: bool = False,
    notice: str | None = None,
) -> str:
    """The whole page; ``form`` is trusted HTML placed in the header (``serve`` puts its upload form there).

    ``cards_first`` puts the cards before the overview and the table (for a
    few files checked by hand). ``notice`` replaces the opening note about
    previews and requests (``serve``'s page speaks of uploading instead).
    """
    items = [r for r in reports if isinstance(r, Mapping)]
    previews = {k: p for k, v in (thumbnails or {}).items() if (p := _preview(v)) is not None}
    images = thumbnails is not None
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if notice is not None:
        pass
    elif images:
        notice = (
            "Previews are on: each card embeds a small preview (at most 160 pixels), made from the very bytes "
            "that were checked, blurred until you choose \u201cUnblur preview\u201d, or says why there is none. "
            "Images can be disturbing; unblur only what you need to see. "
            "This page is self-contained: it makes no network request."
        )
    else:
        notice = (
            "Previews are off: this report holds no image content, only what was read from the files. "
            "Make it with --thumbnails to embed small blurred previews. "
            "This page is self-contained: it makes no network request."
        )
    meta = f"{len(items):,} file{'s' * (len(items) != 1)}, {_e(_versions(items))}; page made {now}."
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_policy_attribute(images, form_action)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="provenance {_e(__version__)}">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        '<a class="skip" href="#main">Skip to the report</a>',
        '<header class="top"><h1>',
        _e(title),
        "</h1>",
        f'<p class="meta">{meta}</p>' if items or not form else "",
        f'<p class="notice">{_e(notice)} '
        "What a file declares can be stripped or forged: a verdict says what the file says, not what is true.</p>",
        form,
        "</header>",
        '<main id="main">',
    ]
    if items:
        cards = [
            '<section id="details" aria-labelledby="h-details"><h2 id="h-details">Each file</h2>',
            '<p id="cardtools" class="js" hidden><button type="button" id="open-all">Open every card on this page'
            '</button> <button type="button" id="close-all">Close every card on this page</button></p>',
            '<div id="cards">',
        ]
        for index, report in enumerate(items):
            path = _s(report, "path")
            draw = partial(
                render_card,
                report,
                index,
                thumbnail=previews.get(path),
                thumbnails_on=images,
                open_details=index < OPEN_CARDS,
            )
            card = _drawn(draw, index, report)
            if index >= FIRST_PAGE:
                # Parsed as HTML with scripts off; kept as text (fast to load) with scripts on,
                # until the script shows its page. Report text is escaped, so it cannot close this.
                if "</noscript" in card.lower():
                    raise ValueError("a card may not contain </noscript>")
                card = f'<noscript data-x="{index}">{card}</noscript>'
            cards.append(card)
        cards.append("</div></section>")
        if cards_first:
            out.extend(cards)
        out.append(_overview(items))
        out.append(_table(items))
        if not cards_first:
            out.extend(cards)
    else:
        out.append(f"<p>{_e(empty_message)}</p>")
    out.append(
        "</main><footer><p>Verdicts: "
        + "; ".join(f"<strong>{_e(w)}</strong>: {_e(VERDICT_MEANING[v])}" for v, w in VERDICTS.items())
        + ".</p><p>Made by provenance, which reads Content Credentials (C2PA) and image metadata offline.</p>"
        "</footer>"
        f"<script>{JS}</script></body></html>\n"
    )
    return "".join(out)


def render_html(
    reports: Iterable[dict[str, Any]],
    *,
    thumbnails: Mapping[str, Preview | str] | None = None,
    title: str = DEFAULT_TITLE,
) -> str:
    """A self-contained HTML report of ``reports`` (``Report.to_dict()`` dictionaries).

    ``thumbnails`` maps a report's ``path`` to a :class:`Preview` (see
    :func:`thumbnails_for`) or a ``data:image/jpeg;base64,...`` URI; given,
    even empty, it turns previews on and allows ``data:`` images in the
    page's policy. A card without a preview says why.
    """
    return render_document(reports, thumbnails=thumbnails, title=title)
