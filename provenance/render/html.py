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
import io
import os
import re
import stat
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial
from html import escape
from typing import Any
from urllib.parse import urlsplit

from provenance import __version__
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
    "valid": "Valid, signer not on a trust list",
    "remote": "Remote, not fetched",
    "none": "None",
}
STATE_MEANING: dict[str, str] = {
    "invalid": "the Content Credentials fail validation: the file or its manifest changed after signing, "
    "or the signature is broken",
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
#: Reports with at most this many files show every card's details open.
OPEN_CARDS_UP_TO = 60
#: Manifest chains deeper than this are cut (a hostile JSONL could nest without end).
MAX_CHAIN_DEPTH = 40
THUMBNAIL_PIXELS = 160
THUMBNAIL_MAX_FILE_BYTES = 512 * 1024**2

CSS = """
:root{--fg:#1a1a1a;--muted:#474747;--bg:#fff;--line:#c4c4c4;--link:#0a4f96;--focus:#1a5fb4;--bad:#a4001d;--ok:#17631c}
*{box-sizing:border-box}
[hidden]{display:none!important}
@media (scripting:enabled){html:not([data-ready]) .later{display:none}}
html{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif;
color:var(--fg);background:var(--bg)}
body{margin:0 auto;max-width:84rem;padding:0 1rem 2rem}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.4rem .8rem;z-index:9}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.top{border-bottom:2px solid var(--fg);padding:.8rem 0 .6rem}
h1{margin:.2rem 0;font-size:1.6rem}h2{margin:1.6rem 0 .6rem;font-size:1.3rem;border-bottom:1px solid var(--line)}
h3{margin:.2rem 0;font-size:1.1rem;overflow-wrap:anywhere}h4{margin:1rem 0 .3rem;font-size:1rem}
h5{margin:.6rem 0 .2rem;font-size:.95rem}
.meta{margin:.25rem 0;color:var(--muted)}
.notice{margin:.5rem 0;padding:.45rem .7rem;border:1px solid var(--line);border-left:5px solid var(--link);
background:#f4f8fc}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.88em;
overflow-wrap:anywhere}
.b{display:inline-block;padding:.05rem .45rem;border:1px solid #000;border-radius:.25rem;font-weight:700;
font-size:.84rem;line-height:1.35;white-space:nowrap;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.v-ai-generated,.c-invalid,.st-invalid{background:#a4001d;color:#fff}
.v-ai-edited{background:#f6b04a;color:#000}
.v-captured,.c-trusted,.st-valid{background:#17631c;color:#fff}
.v-no-evidence{background:#e6e6e6;color:#000}
.v-error{background:#5a2d82;color:#fff}
.c-valid{background:#d3eaf8;color:#000}
.c-remote{background:#fde68a;color:#000}
.c-none,.st-no-manifest{background:#fff;color:#333}
.ai{background:#fff2d6;color:#000;border-color:#8a5300}
table{border-collapse:collapse}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--fg);background:#f1f1f1}
caption{text-align:left;font-weight:600;padding:.3rem 0}
.counts{display:flex;flex-wrap:wrap;gap:1rem 2.5rem;align-items:flex-start}
.counts td{text-align:right;font-variant-numeric:tabular-nums}
.wrap{overflow-x:auto}
#ft{width:100%;font-size:.92rem}
#ft th[scope=row]{font-weight:400;min-width:10rem;max-width:22rem;overflow-wrap:anywhere}
#ft th[scope=row] a{font-weight:600}
#ft th[scope=row] .x{display:block;font-size:.8rem}
#ft td{overflow-wrap:anywhere;max-width:18rem}
#ft td:nth-child(7),#ft td:nth-child(8){min-width:8rem}
#ft .b{white-space:normal;overflow-wrap:normal}
#ft td:nth-child(2){min-width:7.5rem}
#ft thead button{font:inherit;font-weight:700;background:none;border:0;padding:0;color:inherit;cursor:pointer;
text-decoration:underline dotted;text-underline-offset:3px}
#ft th[aria-sort=ascending] button::after{content:" \\25B2 ascending";font-size:.75em}
#ft th[aria-sort=descending] button::after{content:" \\25BC descending";font-size:.75em}
.filters{display:flex;flex-wrap:wrap;gap:.6rem 1.4rem;align-items:flex-end;margin:.5rem 0 .8rem;padding:.7rem;
border:1px solid var(--line);background:#f8f8f8}
.filters label{display:flex;flex-direction:column;font-weight:600;font-size:.9rem;gap:.15rem}
.filters label.check{flex-direction:row;align-items:center;gap:.4rem}
input,select,button{font:inherit;color:inherit}
input[type=search],select{padding:.25rem .35rem;border:1px solid #767676;border-radius:.2rem;background:#fff}
button{padding:.25rem .7rem;border:1px solid #505050;border-radius:.25rem;background:#f2f2f2;cursor:pointer}
button:disabled{color:#6b6b6b;cursor:default}
.pager{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.6rem 0}
#showing{font-weight:600;margin:.4rem 0}
.card{border:1px solid var(--line);border-left:8px solid #8a8a8a;border-radius:.3rem;padding:.5rem 1rem .7rem;
margin:1rem 0;overflow:hidden}
.card[data-v=ai-generated]{border-left-color:#a4001d}.card[data-v=ai-edited]{border-left-color:#c77700}
.card[data-v=captured]{border-left-color:#17631c}.card[data-v=error]{border-left-color:#5a2d82}
.card>details>summary{cursor:pointer;font-weight:600;padding:.3rem 0;color:var(--link)}
.line{margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:center}
.sum{margin:.4rem 0;max-width:60rem}
.err{color:#7a0015;font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.4rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
ul.checks{margin:.2rem 0;padding-left:1.2rem}ul.checks li{margin:.2rem 0}
.x{color:var(--muted);font-size:.9em}
.tree,.tree ul{list-style:none;margin:0}
.tree{padding-left:0}
.tree ul{padding-left:1.3rem;border-left:2px solid var(--line);margin-left:.4rem}
.tree li{margin:.45rem 0}.tree li>p{margin:.15rem 0}
.tree li.failing{outline:2px dashed #a4001d;outline-offset:3px;padding:.1rem .3rem}
.fnd{width:100%;font-size:.9rem}
.fnd td,.fnd th{overflow-wrap:break-word}.fnd thead th{white-space:nowrap}.fnd code{overflow-wrap:break-word}
.val{white-space:pre-wrap;max-height:12rem;overflow:auto;display:block;overflow-wrap:anywhere}
.thumb{float:right;margin:.2rem 0 .5rem 1rem;text-align:center;max-width:170px}
.thumb .frame{overflow:hidden;border:1px solid var(--line);display:inline-block}
.thumb img{display:block;width:auto;height:auto;max-width:160px;max-height:160px;filter:blur(16px) grayscale(.6)}
.thumb input:checked~.frame img{filter:none}
.thumb label{font-size:.85rem;cursor:pointer;margin-left:.2rem}
.thumb input{margin:0 0 .4rem;width:1.05rem;height:1.05rem;vertical-align:middle;cursor:pointer}
.drop{display:block;border:3px dashed #767676;border-radius:.5rem;padding:1.2rem;text-align:center;margin:.6rem 0;
background:#fafafa}
.drop.over{border-color:var(--link);background:#eaf2fb}
footer{margin-top:2rem;border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}
@media print{
.filters,.pager,.js,.skip,.thumb input,.thumb label,#cardtools,form.upload{display:none!important}
body{max-width:none;font-size:10.5pt;padding:0}
a[href^="http"]::after{content:" <" attr(href) ">";font-size:.8em;word-break:break-all}
.card{border-left-width:4px}
h2,h3,h4,h5,.card .line{break-after:avoid}
.fnd{table-layout:fixed}.fnd td,.fnd th,.fnd code{overflow-wrap:anywhere}
.fnd th:nth-child(1){width:22%}.fnd th:nth-child(4){width:30%}
thead{display:table-header-group}tr{break-inside:avoid}
.wrap{overflow:visible}.val{max-height:none;overflow:visible}
.notice{background:none}
}
"""

JS = """
(function () {
  "use strict";
  var d = document;
  function $(id) { return d.getElementById(id); }
  var nf = new Intl.NumberFormat("en-US");

  var drop = $("drop");
  if (drop) {
    var upload = $("upload"), input = $("upload-files"), note = $("upload-status");
    var busy = function () { if (note) { note.textContent = "Checking\\u2026 the results will appear below."; } };
    ["dragenter", "dragover"].forEach(function (t) {
      drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "dragend", "drop"].forEach(function (t) {
      drop.addEventListener(t, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      var files = e.dataTransfer && e.dataTransfer.files;
      if (!files || !files.length) { return; }
      input.files = files;
      busy();
      upload.submit();
    });
    upload.addEventListener("submit", busy);
  }

  function init() {
    var table = $("ft");
    if (!table) { return; }
    var tbody = table.tBodies[0], cardsBox = $("cards");
    // Cards past the first page sit in <noscript>: real HTML when scripts are off,
    // one text node when they are on, parsed here only when their page is shown.
    var lazy = {};
    Array.prototype.forEach.call(d.querySelectorAll("#cards > noscript[data-x]"), function (ns) {
      lazy[ns.getAttribute("data-x")] = ns;
    });
    var recs = Array.prototype.map.call(tbody.rows, function (tr, i) {
      var x = tr.getAttribute("data-x");
      return {
        tr: tr, i: i, x: x, v: tr.getAttribute("data-v"), c: tr.getAttribute("data-c"),
        fl: tr.getAttribute("data-fl") === "1", text: tr.textContent.toLowerCase(), keys: null,
        card: $("f" + x)
      };
    });
    var byX = {};
    recs.forEach(function (r) { byX[r.x] = r; });
    function cardOf(r) {
      if (!r.card && lazy[r.x]) {
        var holder = d.createElement("template");
        holder.innerHTML = lazy[r.x].textContent;
        r.card = holder.content.firstElementChild;
        delete lazy[r.x];
      }
      return r.card;
    }
    var q = $("q"), fv = $("fv"), fc = $("fc"), ff = $("ff"), ps = $("ps"), form = $("filters");
    var showing = $("showing"), pinfo = $("pinfo");
    var first = $("first"), prev = $("prev"), next = $("next"), last = $("last");
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
    var st = { page: 0, col: -1, dir: 1 }, shown = recs;
    var empty = d.createElement("tr"), emptyCell = d.createElement("td");
    emptyCell.colSpan = heads.length;
    emptyCell.textContent = "No file matches these filters.";
    empty.appendChild(emptyCell);

    Array.prototype.forEach.call(d.querySelectorAll(".js"), function (el) { el.hidden = false; });

    function keys(r) {
      if (!r.keys) {
        r.keys = Array.prototype.map.call(r.tr.cells, function (c) {
          var s = c.getAttribute("data-s");
          return s !== null ? s : c.textContent.trim();
        });
      }
      return r.keys;
    }
    function sortShown() {
      if (st.col < 0) { return; }
      var col = st.col, dir = st.dir;
      shown.sort(function (a, b) {
        var x = collator.compare(keys(a)[col], keys(b)[col]);
        return x ? x * dir : a.i - b.i;
      });
    }
    function update(resetPage) {
      var text = q.value.trim().toLowerCase(), v = fv.value, c = fc.value, f = ff.checked;
      shown = recs.filter(function (r) {
        return (!v || r.v === v) && (!c || r.c === c) && (!f || r.fl) && (!text || r.text.indexOf(text) >= 0);
      });
      sortShown();
      if (resetPage) { st.page = 0; }
      draw();
    }
    function draw() {
      var size = parseInt(ps.value, 10) || 50;
      var pages = Math.max(1, Math.ceil(shown.length / size));
      st.page = Math.min(Math.max(st.page, 0), pages - 1);
      var start = st.page * size, slice = shown.slice(start, start + size);
      if (slice.length) {
        tbody.replaceChildren.apply(tbody, slice.map(function (r) { return r.tr; }));
      } else {
        tbody.replaceChildren(empty);
      }
      if (cardsBox) {
        cardsBox.replaceChildren.apply(cardsBox, slice.map(cardOf).filter(Boolean));
      }
      var whole = recs.length === shown.length ? "" : " that match the filters (" + nf.format(recs.length) + " in all)";
      showing.textContent = shown.length
        ? "Showing files " + nf.format(start + 1) + "\\u2013" + nf.format(start + slice.length) + " of " +
          nf.format(shown.length) + whole + "."
        : "No file matches the filters (" + nf.format(recs.length) + " in all).";
      pinfo.textContent = "Page " + nf.format(st.page + 1) + " of " + nf.format(pages);
      first.disabled = prev.disabled = st.page === 0;
      next.disabled = last.disabled = st.page >= pages - 1;
    }
    function go(page) { st.page = page; draw(); }

    heads.forEach(function (th, col) {
      var button = d.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      th.replaceChildren(button);
      button.addEventListener("click", function () {
        st.dir = st.col === col ? -st.dir : 1;
        st.col = col;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", st.dir > 0 ? "ascending" : "descending");
        sortShown();
        draw();
      });
    });

    var timer = 0;
    q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { update(true); }, 120);
    });
    [fv, fc, ff].forEach(function (el) { el.addEventListener("change", function () { update(true); }); });
    ps.addEventListener("change", function () { update(true); });
    form.addEventListener("submit", function (e) { e.preventDefault(); update(true); });
    form.addEventListener("reset", function () { setTimeout(function () { update(true); }, 0); });
    first.addEventListener("click", function () { go(0); });
    prev.addEventListener("click", function () { go(st.page - 1); });
    next.addEventListener("click", function () { go(st.page + 1); });
    last.addEventListener("click", function () { go(1e9); });

    Array.prototype.forEach.call(d.querySelectorAll("a[data-fv],a[data-fc]"), function (a) {
      a.addEventListener("click", function () {
        form.reset();
        fv.value = a.getAttribute("data-fv") || "";
        fc.value = a.getAttribute("data-fc") || "";
        update(true);
      });
    });

    function openCard() {
      var id = decodeURIComponent(location.hash.slice(1));
      if (!/^f[0-9]+$/.test(id)) { return; }
      var card = $(id);
      var rec = byX[id.slice(1)];
      if (!rec) { return; }
      if (!card) {
        var at = shown.indexOf(rec);
        if (at < 0) {
          fv.value = fc.value = q.value = "";
          ff.checked = false;
          update(true);
          at = shown.indexOf(rec);
        }
        go(Math.floor(at / (parseInt(ps.value, 10) || 50)));
        card = $(id);
      }
      if (card) {
        var det = card.querySelector("details");
        if (det) { det.open = true; }
        card.scrollIntoView();
      }
    }
    window.addEventListener("hashchange", openCard);

    function setAll(open) {
      if (!cardsBox) { return; }
      Array.prototype.forEach.call(cardsBox.querySelectorAll(".card>details"), function (det) { det.open = open; });
    }
    var openAll = $("open-all"), closeAll = $("close-all");
    if (openAll) { openAll.addEventListener("click", function () { setAll(true); }); }
    if (closeAll) { closeAll.addEventListener("click", function () { setAll(false); }); }
    var closedForPrint = [];
    window.addEventListener("beforeprint", function () {
      closedForPrint = Array.prototype.filter.call(cardsBox ? cardsBox.querySelectorAll(".card>details") : [],
        function (det) { return !det.open; });
      closedForPrint.forEach(function (det) { det.open = true; });
    });
    window.addEventListener("afterprint", function () {
      closedForPrint.forEach(function (det) { det.open = false; });
      closedForPrint = [];
    });

    update(false);
    if (location.hash) { openCard(); }
  }
  try { init(); } finally { document.documentElement.setAttribute("data-ready", "1"); }
})();
"""


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


def _cut(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    if len(text) <= limit:
        return _e(text)
    return f"{_e(text[:limit])}<span class=x> \u2026 (cut here: {len(text):,} characters in all)</span>"


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


def _badge_verdict(verdict: str) -> str:
    return f'<span class="b v-{verdict}">{_e(VERDICTS[verdict])}</span>'


def _badge_state(state: str, prefix: str = "") -> str:
    return f'<span class="b c-{state}">{_e(prefix + STATES[state])}</span>'


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
    findings = _findings(report)
    decisive = _decisive(report)
    for finding in findings:
        if _s(finding, "rule") in decisive:
            return finding
    return findings[0] if findings else None


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
    states = Counter(_state(r) for r in reports)
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
    return _name(path[cut + 1 :]), f'<span class="x">{_e(_name(path[: cut + 1]))}</span>'


def _row(index: int, report: Mapping[str, Any]) -> str:
    verdict, state = _verdict(report), _state(report)
    credentials = _dict(report, "credentials")
    top = _top_finding(report)
    top_text = ""
    if top is not None:
        top_text = f"{_e(_s(top, 'rule'))}: {_e(_s(top, 'title') or _s(top, 'message'))}"
    confidence = _s(report, "confidence")
    verdict_rank = list(VERDICTS).index(verdict)
    flag = " <span class=x>flagged</span>" if _flagged(report) else ""
    base, folder = _split_path(_s(report, "path"))
    state_rank = list(STATES).index(state)
    return (
        f'<tr{" class=later" if index >= FIRST_PAGE else ""} data-x="{index}" data-v="{verdict}" data-c="{state}" '
        f'data-fl="{int(_flagged(report))}">'
        f'<th scope="row"><a href="#f{index}">{_e(base)}</a>{folder}</th>'
        f'<td data-s="{verdict_rank}">{_badge_verdict(verdict)}{flag}</td>'
        f'<td data-s="{CONFIDENCE_RANK.get(confidence, 3)}">{_e(confidence)}</td>'
        f'<td data-s="{state_rank}">{_badge_state(state)}</td>'
        f"<td>{_e(_s(credentials, 'signer'))}</td>"
        f"<td>{_e(_generator(report))}</td>"
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


def _status_list(entries: Iterable[Any], label: str) -> str:
    items = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        code, kind = _s(entry, "code"), _s(entry, "kind")
        meaning = _s(entry, "meaning") or _s(entry, "explanation") or code
        explanation = _s(entry, "explanation")
        word = {"failure": "FAILED", "informational": "Note", "success": "Passed"}.get(kind, kind or "Status")
        if code == "signingCredential.untrusted":
            word = "Not on a trust list"
        detail = f' <span class="x">(library says: {_e(explanation)})</span>' if explanation else ""
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
        f"{headline}</p><p class=x><code>{_e(label)}</code></p><p>{'; '.join(facts)}</p>",
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
        _status_list(_list(ingredient, "failures"), "Why this ingredient fails"),
        _declarations(_list(ingredient, "ai_declarations")),
    ]
    child_label = _s(ingredient, "manifest")
    child = by_label.get(child_label) if child_label else None
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
        out.append(_manifest_node(active, by_label, seen, 0, _badge_state(state, "Validation: ")))
    for manifest in manifests:
        if _s(manifest, "label") not in seen:
            out.append(_manifest_node(manifest, by_label, seen, 0, ""))
    out.append("</ul>")
    return "".join(out)


def _credentials_section(credentials: Mapping[str, Any]) -> str:
    state = _s(credentials, "state") if _s(credentials, "state") in STATES else "none"
    out = [
        "<h4>Content Credentials</h4>",
        f"<p>{_badge_state(state)} {_e(STATE_MEANING[state])}.</p>",
    ]
    facts = []
    for key, label in (
        ("signer", "Signer"),
        ("issuer", "Issuer"),
        ("trust_list", "Trust list matched"),
        ("signing_time", "Signed at"),
        ("claim_generator", "Claim generator"),
    ):
        if _s(credentials, key):
            facts.append(f"<dt>{label}</dt><dd>{_e(_s(credentials, key))}</dd>")
    if state == "trusted" and not _s(credentials, "trust_list"):
        facts.append("<dt>Trust list matched</dt><dd>not recorded</dd>")
    if _s(credentials, "remote_url"):
        facts.append(
            f"<dt>Remote manifest</dt><dd><code>{_e(_s(credentials, 'remote_url'))}</code> "
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
        out.append(_status_list(problems, "Validation problems"))
    if notes:
        out.append("<h5>Validation notes</h5>")
        out.append(_status_list(notes, "Validation notes"))
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
            f"<td>{_e(_s(finding, 'source'))}</td><td><code>{_e(_s(finding, 'field'))}</code></td>"
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


def _thumbnail(index: int, uri: str | None, name: str) -> str:
    if uri is None:
        return '<div class="thumb"><p class="x">No preview could be made.</p></div>'
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
    thumbnail: str | None = None,
    thumbnails_on: bool = False,
    open_details: bool = True,
) -> str:
    """One file's card: verdict, summary, credentials, manifest chain, findings."""
    verdict, state = _verdict(report), _state(report)
    name = _name(_s(report, "path"))
    credentials = _dict(report, "credentials")
    findings = _findings(report)
    line = [
        _badge_verdict(verdict),
        f"<span>confidence: <strong>{_e(_s(report, 'confidence') or 'unknown')}</strong></span>",
        _badge_state(state, "Credentials: "),
    ]
    if _flagged(report):
        line.append("<strong>Flagged</strong>")
    out = [
        f'<article class="card" id="f{index}" data-v="{verdict}" aria-labelledby="f{index}-h">',
        f'<h3 id="f{index}-h"><span class="x">{index + 1}.</span> {_e(name)}</h3>',
    ]
    if thumbnails_on:
        out.append(_thumbnail(index, thumbnail, name))
    out.append(f'<p class="line">{"".join(line)}</p>')
    out.append(f'<p class="sum">{_e(_s(report, "summary"))}</p>')
    if _error_text(report):
        out.append(f'<p class="err">Error {_e(_error_text(report))}</p>')
    parts = []
    if state != "none" or _list(credentials, "manifests"):
        parts.append("Content Credentials")
    parts.append(f"{len(findings)} finding{'s' * (len(findings) != 1)}")
    out.append(f"<details{' open' * open_details}><summary>Details: {', '.join(parts)}</summary>")
    facts = []
    if _s(report, "media_type"):
        facts.append(f"<dt>Media type</dt><dd>{_e(_s(report, 'media_type'))}</dd>")
    if _size(report.get("size")):
        facts.append(f"<dt>Size</dt><dd>{_e(_size(report.get('size')))}</dd>")
    if _s(report, "sha256"):
        facts.append(f"<dt>SHA-256</dt><dd><code>{_e(_s(report, 'sha256'))}</code></dd>")
    readers = ", ".join(str(r) for r in _list(report, "readers"))
    if readers:
        facts.append(f"<dt>Read by</dt><dd>{_e(readers)}</dd>")
    if facts:
        out.append(f'<dl class="facts">{"".join(facts)}</dl>')
    out.append(_credentials_section(credentials))
    out.append(_findings_section(report, index))
    issues = [i for i in _list(report, "issues") if isinstance(i, Mapping)]
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
    thumbnails: Mapping[str, str] | None = None,
    title: str = DEFAULT_TITLE,
    form: str = "",
    form_action: str = "'none'",
    empty_message: str = "No files were checked.",
    cards_first: bool = False,
) -> str:
    """The whole page; ``form`` is trusted HTML placed in the header (``serve`` puts its upload form there).

    ``cards_first`` puts the cards before the overview and the table (for a
    few files checked by hand).
    """
    items = [r for r in reports if isinstance(r, Mapping)]
    previews = {k: v for k, v in (thumbnails or {}).items() if isinstance(v, str) and _valid_thumbnail(v)}
    images = thumbnails is not None
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if images:
        notice = (
            "Previews are on: each card embeds a small preview (at most 160 pixels), blurred until you choose "
            "\u201cUnblur preview\u201d. Images can be disturbing; unblur only what you need to see."
        )
    else:
        notice = (
            "Previews are off: this report holds no image content, only what was read from the files. "
            "Make it with --thumbnails to embed small blurred previews."
        )
    open_details = len(items) <= OPEN_CARDS_UP_TO
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
        f'<p class="meta">{len(items):,} file{"s" * (len(items) != 1)}, {_e(_versions(items))}; page made {now}.</p>',
        f'<p class="notice">{_e(notice)} This page is self-contained: it makes no network request. '
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
                open_details=open_details,
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
    thumbnails: dict[str, str] | None = None,
    title: str = DEFAULT_TITLE,
) -> str:
    """A self-contained HTML report of ``reports`` (``Report.to_dict()`` dictionaries).

    ``thumbnails`` maps a report's ``path`` to a ``data:image/jpeg;base64,...``
    URI (see :func:`thumbnails_for`); given, even empty, it turns previews on
    and allows ``data:`` images in the page's policy.
    """
    return render_document(reports, thumbnails=thumbnails, title=title)


# --- previews -----------------------------------------------------------------


def make_thumbnail(source: str | os.PathLike[str] | bytes, size: int = THUMBNAIL_PIXELS) -> str | None:
    """A small JPEG preview as a ``data:`` URI, or ``None`` if the image cannot be decoded.

    Pillow's decompression-bomb guard stays on (its warning is raised as an
    error too); JPEGs are decoded at a reduced scale with ``draft``. Special
    files (FIFOs, devices) are never opened for reading.
    """
    from PIL import Image, ImageOps

    try:
        if isinstance(source, bytes):
            data = source
        else:
            fd = os.open(os.fspath(source), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode) or info.st_size > THUMBNAIL_MAX_FILE_BYTES:
                    return None
                with os.fdopen(os.dup(fd), "rb") as fh:
                    data = fh.read()
            finally:
                os.close(fd)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (size, size))
                shown = ImageOps.exif_transpose(image) or image
                shown.thumbnail((size, size))
                if shown.mode in ("RGBA", "LA", "PA") or (shown.mode == "P" and "transparency" in shown.info):
                    rgba = shown.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    shown = flat
                elif shown.mode not in ("RGB", "L"):
                    shown = shown.convert("RGB")
                out = io.BytesIO()
                shown.save(out, "JPEG", quality=70)
    except Exception:  # any decoder failure: no preview for this file, the rest go on
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def thumbnails_for(reports: Iterable[Mapping[str, Any]], jobs: int | None = None) -> dict[str, str]:
    """Previews for the reports' files that are still on disk (``-`` and unreadable files are skipped)."""
    paths = sorted({_s(r, "path") for r in reports} - {"", "-"})
    if not paths:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
        made: Iterator[str | None] = pool.map(make_thumbnail, paths)
        return {path: uri for path, uri in zip(paths, made, strict=True) if uri is not None}
