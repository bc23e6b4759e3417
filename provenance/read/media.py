"""What a video or audio container walker returns (the walkers share this interface)."""

from __future__ import annotations

from dataclasses import dataclass, field

from provenance.evidence import RawField, ReadIssue


@dataclass
class Tag:
    source: str  # one of the sources above
    field: str
    value: str  # decoded text; at most limits.max_text_bytes total per file; the api caps values for display
    location: str  # e.g. "moov/udta/meta/ilst (mdta key 1)", "Segment/Tags/Tag/SimpleTag"


@dataclass
class MediaLayout:
    media_type: str
    kind: str  # "video" | "audio"
    tags: list[Tag] = field(default_factory=list)
    xmp: list[bytes] = field(default_factory=list)
    c2pa: bool | None = False  # a manifest store is present (True), absent (False), unknown (None)
    can_carry_c2pa: bool = True  # False for WebM, MKV, Ogg
    has_media_data: bool = False  # mdat/moof, Cluster, data chunk, audio frames: else 'truncated'
    fragmented: bool = False  # BMFF: moof boxes, or an init segment (moov with mvex, no mdat)
    init_segment: bool = False  # BMFF: moov+mvex and no media data: a DASH/CMAF init segment
    issues: list[ReadIssue] = field(default_factory=list)
    raw: list[RawField] = field(default_factory=list)  # for --verbose: every tag read (source, field, value)
