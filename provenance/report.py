"""The report: one immutable object per input, with a stable JSON form.

``to_dict`` is the contract described by ``schema/report.schema.json``;
every renderer (text, JSON, JSONL, CSV, HTML) starts from a :class:`Report`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from provenance.evidence import Credentials, RawField, ReadIssue
from provenance.judge import FLAGGED
from provenance.match import STRENGTHS, Finding
from provenance.read.c2pa_codes import assess, trust_note

SCHEMA_VERSION = 1


def schema_path() -> Path:
    """The JSON Schema of :meth:`Report.to_dict`: shipped in the wheel, or the source tree's."""
    packaged = Path(__file__).resolve().parent / "schema" / "report.schema.json"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "schema" / "report.schema.json"


_F = TypeVar("_F")


def top_of(
    findings: Sequence[_F], decisive: Collection[str], state: str, fields: Callable[[_F], tuple[str, str, str, str]]
) -> _F | None:
    """The finding to headline a row (CSV, the HTML table): the decisive one from the strongest source.

    ``fields`` gives a finding's rule, indicates, strength and source. Signed
    credentials that verify (``state`` valid or trusted) outrank unsigned
    metadata, which outranks credentials that fail; an ``info`` finding (an
    AI-training opt-out, say) never headlines. A file with no decisive
    finding gets its strongest telling one, or none.
    """

    def rank(finding: _F) -> tuple[int, int]:
        _, _, strength, source = fields(finding)
        order = STRENGTHS.index(strength) if strength in STRENGTHS else len(STRENGTHS)
        if source != "c2pa":
            return order, 1
        return order, 0 if state in ("trusted", "valid") else 2

    telling = [f for f in findings if fields(f)[1] != "info"]
    chosen = [f for f in telling if fields(f)[0] in decisive] or telling
    return min(chosen, key=rank) if chosen else None


@dataclass(frozen=True, slots=True)
class ReportError:
    """Why a file could not be analysed: a stable ``kind`` and a message."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class Report:
    """Everything provenance concluded about one input."""

    path: str
    verdict: str
    confidence: str
    summary: str
    media_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    mtime: float | None = None
    credentials: Credentials = field(default_factory=Credentials)
    findings: tuple[Finding, ...] = ()
    decisive: tuple[str, ...] = ()
    error: ReportError | None = None
    issues: tuple[ReadIssue, ...] = ()
    readers: tuple[str, ...] = ()
    raw: tuple[RawField, ...] = ()
    tool_version: str = ""
    rules_digest: str = ""
    #: An object in a store: its ETag (S3, Azure) or generation (GCS), and version id; ``None`` for a local file.
    etag: str | None = None
    version: str | None = None

    @property
    def flagged(self) -> bool:
        """AI verdict or invalid credentials: what makes exit code 1."""
        return self.verdict in FLAGGED or self.credentials.state == "invalid"

    @property
    def generator(self) -> str | None:
        for finding in self.findings:
            if finding.rule in self.decisive and (finding.generator or finding.model):
                return " ".join(x for x in (finding.generator, finding.model) if x)
        for finding in self.findings:
            if finding.generator:
                return finding.generator
        return None

    @property
    def top_finding(self) -> Finding | None:
        """The decisive finding from the strongest source; never an ``info`` one (see :func:`top_of`)."""
        return top_of(
            self.findings, self.decisive, self.credentials.state, lambda f: (f.rule, f.indicates, f.strength, f.source)
        )

    def _credentials_dict(self) -> dict[str, Any]:
        data = self.credentials.to_dict()
        assessment = assess(self.credentials)
        data["family"] = assessment.family if self.credentials.state in ("invalid", "valid", "trusted") else None
        data["content_unchanged"] = assessment.content_unchanged
        data["trust_note"] = trust_note(self.credentials, assessment)
        for manifest in data["manifests"]:
            manifest["ai_declarations"] = self._declarations(manifest["label"])
            for ingredient in manifest["ingredients"]:
                label = ingredient["manifest"]
                ingredient["ai_declarations"] = self._declarations(label) if label else []
        return data

    def _declarations(self, label: str) -> list[dict[str, str]]:
        prefix = f"manifest {label} "
        out: list[dict[str, str]] = []
        for f in self.findings:
            item = {"rule": f.rule, "indicates": f.indicates, "value": f.value}
            if f.source == "c2pa" and f.location.startswith(prefix) and f.indicates in FLAGGED and item not in out:
                out.append(item)  # two actions declaring the same source type are one declaration
        return out

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "verdict": self.verdict,
            "confidence": self.confidence,
            "summary": self.summary,
            "credentials": self._credentials_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "decisive": list(self.decisive),
            "error": self.error.to_dict() if self.error else None,
            "issues": [i.to_dict() for i in self.issues],
            "readers": list(self.readers),
            "mtime": self.mtime,
            "etag": self.etag,
            "version": self.version,
            "provenance": {"version": self.tool_version, "schema": SCHEMA_VERSION, "rules": self.rules_digest},
        }
        if verbose:
            data["raw"] = [r.to_dict() for r in self.raw]
        return data
