"""PNG text chunks and JPEG comment segments, as evidence.

The container walk has already found and (within limits) inflated them;
this reader only names them. JSON values are parsed once here so that
structure rules can match on them.
"""

from __future__ import annotations

from provenance.evidence import Evidence, RawField, ReadResult
from provenance.limits import Limits
from provenance.read.container import Layout
from provenance.read.jsontext import parse_json


def read(layout: Layout, limits: Limits) -> ReadResult:
    evidence: list[Evidence] = []
    raw: list[RawField] = []
    for chunk in layout.texts:
        where = "PNG comf chunk (ComfyUI)" if chunk.chunk == "comf" else f"PNG {chunk.chunk} chunk"
        shown = chunk.value[: limits.max_value_chars]
        evidence.append(Evidence("png-text", chunk.key, shown, where, data=parse_json(chunk.value) or chunk.value))
        raw.append(RawField("png-text", chunk.key, shown[:512]))
    for where, comment in layout.comments:
        if where != "JPEG COM segment":
            continue
        try:
            text = comment.decode("utf-8")
        except UnicodeDecodeError:
            text = comment.decode("latin-1")
        text = text.rstrip("\x00")
        shown = text[: limits.max_value_chars]
        evidence.append(Evidence("jpeg-comment", "COM", shown, where, data=parse_json(text) or text))
        raw.append(RawField("jpeg-comment", "COM", shown[:512]))
    return ReadResult(tuple(evidence), (), tuple(raw))
