"""CSV: one row per file, for spreadsheets and moderation queues.

The columns are fixed (:data:`COLUMNS`) and only ever added to at the end,
so scripts can rely on their positions. Values are quoted as RFC 4180 asks
when they hold a comma, a quote or a line break; rows end with ``\\n``.

Every cell, the path included, goes through
:func:`provenance.render.safe.visible_line`, whether the CSV goes to a
terminal or to a file: no control character, bidirectional override or
lone surrogate from a file name or its metadata reaches the output, and
each row is one line. A name is therefore written in its escaped form
(byte 0xFF as ``\\xff``, ESC as ``\\x1b``, a newline as ``\\n``), and
``scan --resume`` matches CSV rows on that form (:func:`csv_path`). Cells
other than the path that start with ``=``, ``+``, ``-`` or ``@`` are
prefixed with ``'`` so spreadsheets do not run them as formulas.
"""

from __future__ import annotations

import csv
import io

from provenance.render.safe import visible_line
from provenance.report import Report

#: The header row, in order. Part of the output contract: never reorder.
COLUMNS = (
    "path",
    "verdict",
    "confidence",
    "credentials_state",
    "signer",
    "generator",
    "top_finding",
    "error",
)


def csv_fields(report: Report) -> list[str]:
    """The values of one row, in :data:`COLUMNS` order (empty string for none, for the confidence and
    credentials state of a file that could not be analysed, and for the credentials state when the
    Content Credentials check failed)."""
    active = report.credentials.active
    top = report.top_finding
    values = [
        (active.signer if active else None) or "",
        report.generator or "",
        f"{top.rule}: {top.title}" if top else "",
        f"{report.error.kind}: {report.error.message}" if report.error else "",
    ]
    # A file that could not be analysed was never read: it has no confidence and no credentials state;
    # nor has a file whose Content Credentials check failed a credentials state.
    judged = report.error is None
    c2pa_read = judged and not any(i.kind == "reader-failed" and i.source == "c2pa" for i in report.issues)
    return [
        csv_path(report.path),
        visible_line(report.verdict),
        visible_line(report.confidence) if judged else "",
        visible_line(report.credentials.state) if c2pa_read else "",
        *(_defuse(visible_line(v)) for v in values),
    ]


def csv_path(path: str) -> str:
    """The path column's form of ``path``: what ``--resume`` compares with the rows already written."""
    return visible_line(path)


def _defuse(value: str) -> str:
    """Keep metadata text from being run as a spreadsheet formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def render_csv_header() -> str:
    """The header line, newline included."""
    return _line(list(COLUMNS))


def render_csv_row(report: Report) -> str:
    """One quoted row for ``report``, newline included."""
    return _line(csv_fields(report))
