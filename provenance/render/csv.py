"""CSV: one row per file, for spreadsheets and moderation queues.

The columns are fixed (:data:`COLUMNS`) and only ever added to at the end,
so scripts can rely on their positions. Values are quoted as RFC 4180 asks
when they hold a comma, a quote or a line break; rows end with ``\\n``.
"""

from __future__ import annotations

import csv
import io

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
    """The values of one row, in :data:`COLUMNS` order (empty string for none)."""
    active = report.credentials.active
    top = report.top_finding
    values = [
        (active.signer if active else None) or "",
        report.generator or "",
        f"{top.rule}: {top.title}" if top else "",
        f"{report.error.kind}: {report.error.message}" if report.error else "",
    ]
    return [
        report.path,
        report.verdict,
        report.confidence,
        report.credentials.state,
        *(_defuse(v) for v in values),
    ]


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
