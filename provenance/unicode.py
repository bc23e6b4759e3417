"""Valid text: no lone surrogates in anything a report says about a file.

Python strings may hold lone surrogates (U+D800 to U+DFFF), which no UTF-8
stream can carry: a JSON ``\\ud800`` escape in a file's metadata decodes to
one, and so does an undecodable byte of a file name (``os.fsdecode``
turns byte 0xFF into U+DCFF). One such character used to abort every
renderer of a batch. :func:`valid` replaces each lone surrogate with a
visible escape, once, where the readers' results are assembled
(:func:`provenance.read.read`); the forms are those of
:func:`provenance.render.safe.visible`, so a value reads the same
everywhere:

* U+DC80 to U+DCFF, the bytes ``surrogateescape`` could not decode, become
  ``\\xNN`` (the byte);
* any other lone surrogate becomes ``\\uXXXX``.

A report's ``path`` is the exception: it keeps undecodable bytes as
U+DC80 to U+DCFF so that JSON output turns back into the original bytes
with ``os.fsencode``; renderers for people show it through ``visible``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")

_T = TypeVar("_T")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_char(ch: str) -> str:
    """One character as a visible escape: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0001``.

    U+DC80 to U+DCFF, an undecodable byte of a file name, comes out as that byte: ``\\xNN``.
    """
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by its visible escape (unchanged when there is none)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: escape_char(m.group()), text)


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (fast for ASCII text)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def valid_json(value: _T, text: str) -> _T:
    """:func:`valid` for ``value`` parsed from the JSON ``text``: walked only when the text can have made a
    lone surrogate (a ``\\uD800``-``\\uDFFF`` escape, or one in the text itself)."""
    if _JSON_SURROGATE.search(text) is None and not has_lone_surrogate(text):
        return value
    return valid(value)


def valid(value: _T) -> _T:
    """``value`` with :func:`valid_text` applied to every string in it.

    Walks strings, lists, tuples (named ones too), dictionaries (keys and
    values) and dataclass instances; anything else is returned as it is.
    What needs no change is returned as the same object, so the usual case
    (no surrogate anywhere) copies nothing.
    """
    return _valid(value)  # type: ignore[no-any-return]


def _valid(value: Any) -> Any:
    if value is None or value is True or value is False:  # most fields of most values: at once
        return value
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, (list, tuple)):
        items = [_valid(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        if isinstance(value, list):
            return items
        make = getattr(type(value), "_make", None)
        return make(items) if make is not None else type(value)(items)
    if isinstance(value, dict):
        pairs = [(_valid(k), _valid(v)) for k, v in value.items()]
        if all(nk is k and nv is v for (nk, nv), (k, v) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name in _init_fields(type(value)):
            old = getattr(value, name)
            new = _valid(old)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names
