"""Raw evidence: what the readers found, before any rule looks at it.

Everything here is a plain, immutable value. Readers produce :class:`Evidence`
items and :class:`ReadIssue` values; nothing in this module has behaviour
beyond conversion to JSON-ready dictionaries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: Where a piece of evidence came from. These strings are part of the report
#: schema: renaming one breaks every consumer of the JSON output.
SOURCES = (
    "c2pa",
    "xmp",
    "exif",
    "png-text",
    "jpeg-comment",
    "container",
    "heuristic",
    "watermark",
    "bmff",
    "matroska",
    "riff-info",
    "id3",
    "vorbis",
)

#: How a C2PA manifest relates to the image being checked.
#: ``file``: not C2PA evidence; ``active``: the active manifest;
#: ``parent``: reached from the active manifest through ``parentOf`` links only;
#: ``component``: reached through at least one ``componentOf``/``inputTo`` link.
SCOPES = ("file", "active", "parent", "component")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One raw value read from a file.

    ``source`` is one of :data:`SOURCES`; ``field`` names the key inside that
    container (``parameters``, ``Iptc4xmpExt:DigitalSourceType``,
    ``actions[0].digitalSourceType``); ``value`` is the value as text, exactly
    as read (bounded in length by the reader); ``location`` says where in the
    file it sits (``PNG tEXt chunk``, ``manifest urn:uuid:…``); ``data`` holds a
    parsed form (a JSON object, say) for rules that match on structure.
    ``fact`` names the statement the value belongs to when several fields
    state one fact (a manifest's ``claim_generator`` and its
    ``claim_generator_info`` names): a rule that matches more than one of
    them yields one finding, for the first.
    """

    source: str
    field: str
    value: str
    location: str = ""
    scope: str = "file"
    data: Any = dataclasses.field(default=None, compare=False, hash=False)
    fact: str = ""


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """A problem a reader met: a value, never an exception.

    ``kind`` is a stable kebab-case reference (``truncated``, ``xml-unsafe``,
    ``limit-exceeded``, ``c2pa-invalid-manifest``); ``message`` is for people.
    """

    kind: str
    message: str
    source: str = "container"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message, "source": self.source}


@dataclass(frozen=True, slots=True)
class RawField:
    """A metadata field shown by ``--verbose``: every field read, AI-related or not."""

    source: str
    field: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "field": self.field, "value": self.value}


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What one reader returns: evidence for the rules, issues, raw fields."""

    evidence: tuple[Evidence, ...] = ()
    issues: tuple[ReadIssue, ...] = ()
    raw: tuple[RawField, ...] = ()


# --- Content Credentials, as read by the C2PA library --------------------

#: Credentials states, weakest first. Part of the report schema.
CREDENTIAL_STATES = ("none", "remote", "invalid", "valid", "trusted")


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One validation status code with the library's and our explanation."""

    code: str
    kind: str  # success | informational | failure
    meaning: str
    explanation: str = ""
    url: str = ""
    #: For a failure: what kind of failure it is (see ``c2pa_codes.FAMILIES``).
    family: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "kind": self.kind,
            "meaning": self.meaning,
            "explanation": self.explanation,
            "url": self.url,
            "family": self.family,
        }


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a ``c2pa.actions`` / ``c2pa.actions.v2`` assertion."""

    action: str
    software_agent: str | None = None
    digital_source_type: str | None = None
    description: str | None = None
    when: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "action": self.action,
            "software_agent": self.software_agent,
            "digital_source_type": self.digital_source_type,
            "description": self.description,
            "when": self.when,
        }


@dataclass(frozen=True, slots=True)
class Ingredient:
    """An ingredient as its parent manifest lists it, with its own validation."""

    title: str
    relationship: str
    manifest: str | None  # label of the ingredient's own manifest, if it has one
    validation: str  # valid | invalid | no-manifest
    failures: tuple[StatusCode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "relationship": self.relationship,
            "manifest": self.manifest,
            "validation": self.validation,
            "failures": [f.to_dict() for f in self.failures],
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    """One manifest of the store, the active one or an ingredient's."""

    label: str
    scope: str  # active | parent | component | unreferenced
    title: str | None
    claim_generator: str | None
    signer: str | None
    issuer: str | None
    signing_time: str | None
    algorithm: str | None
    actions: tuple[Action, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()
    assertions: tuple[str, ...] = ()
    #: Whether this manifest's own signer chains to a trust list in use:
    #: ``trusted``, ``untrusted`` or ``unknown`` (the library did not say).
    trust: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "trust": self.trust,
            "scope": self.scope,
            "title": self.title,
            "claim_generator": self.claim_generator,
            "signer": self.signer,
            "issuer": self.issuer,
            "signing_time": self.signing_time,
            "algorithm": self.algorithm,
            "actions": [a.to_dict() for a in self.actions],
            "ingredients": [i.to_dict() for i in self.ingredients],
            "assertions": list(self.assertions),
        }


@dataclass(frozen=True, slots=True)
class Credentials:
    """The Content Credentials summary of one file."""

    state: str = "none"
    active_manifest: str | None = None
    trust_list: str | None = None
    remote_url: str | None = None
    error: str | None = None
    validation: tuple[StatusCode, ...] = ()
    manifests: tuple[Manifest, ...] = ()
    #: False for a format with no place for an embedded manifest (WebM, MKV, Ogg, BMP...):
    #: state ``none`` then says nothing about whether the content ever had credentials.
    embeddable: bool = True
    #: A plain sentence on why the state says less than it seems: the format cannot carry
    #: credentials, or a DASH/CMAF init segment was read without its fragments.
    note: str | None = None

    @property
    def active(self) -> Manifest | None:
        for manifest in self.manifests:
            if manifest.label == self.active_manifest:
                return manifest
        return None

    def to_dict(self) -> dict[str, Any]:
        active = self.active
        return {
            "state": self.state,
            "embeddable": self.embeddable,
            "note": self.note,
            "signer": active.signer if active else None,
            "issuer": active.issuer if active else None,
            "signing_time": active.signing_time if active else None,
            "claim_generator": active.claim_generator if active else None,
            "trust_list": self.trust_list,
            "remote_url": self.remote_url,
            "error": self.error,
            "active_manifest": self.active_manifest,
            "validation": [v.to_dict() for v in self.validation],
            "actions": [a.to_dict() for a in active.actions] if active else [],
            "manifests": [m.to_dict() for m in self.manifests],
        }
