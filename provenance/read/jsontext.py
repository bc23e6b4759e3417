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
