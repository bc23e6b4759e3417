"""Parse text fields that hold JSON (generator settings), safely."""

from __future__ import annotations

import json
from typing import Any

from provenance.unicode import valid_json

_MAX_JSON_CHARS = 8 * 1024 * 1024


def parse_json(text: str) -> Any:
    """The JSON object or array in ``text``, or ``None`` if it holds none.

    Deeply nested input fails with ``RecursionError`` inside the parser and
    is treated as not JSON. Lone surrogates from ``\\ud800``-style escapes are
    replaced by visible escapes (:func:`provenance.unicode.valid_json`).
    """
    stripped = text.strip()
    if not stripped.startswith(("{", "[")) or len(stripped) > _MAX_JSON_CHARS:
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, (dict, list)):
        return None
    return valid_json(value, stripped)  # a "\ud800" escape decodes to a lone surrogate: escaped visibly


def split_leading_json(text: str) -> tuple[dict[str, Any], str, str] | None:
    """A JSON object at the start of ``text`` that more text follows: (object, its text, the rest).

    Civitai's generator writes its ComfyUI graph into an EXIF UserComment
    and may put A1111-style text after it. ``None`` if ``text`` does not
    start with an object, or holds nothing after it (then :func:`parse_json`
    reads it whole).
    """
    stripped = text.lstrip()
    if not stripped.startswith("{") or len(stripped) > _MAX_JSON_CHARS:
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(stripped)
    except (ValueError, RecursionError):
        return None
    rest = stripped[end:].strip()
    if not isinstance(value, dict) or not rest:
        return None
    return valid_json(value, stripped[:end]), stripped[:end], rest
