"""The one sanitiser for text shown to people: :func:`visible`.

Every renderer for people (the terminal report, ``scan``'s error lines on
stderr, CSV, the HTML report and ``serve``) passes what came from a file,
its name included, through :func:`visible` before showing it. A file name
or a metadata value can then neither drive a terminal (``ESC[2J``, an OSC 52
clipboard write, BEL, the C1 CSI ``\\x9b``) nor reorder what is shown
around it (a right-to-left override making ``gpj.exe`` read as
``exe.jpg``), nor break an output stream with a lone surrogate.

What is escaped: every character that is not printable (``str.isprintable``):
C0 and C1 controls, DEL, the bidirectional marks, embeddings, overrides and
isolates (U+200E, U+200F, U+061C, U+202A to U+202E, U+2066 to U+2069) and
other format characters, line and paragraph separators, lone surrogates,
private-use and unassigned code points. Newlines and tabs are kept where
a renderer allows several lines (``newlines=True``). Escapes are those of
:func:`provenance.unicode.escape_char`: ``\\x1b``, ``\\u202e``, and ``\\xNN``
for an undecodable byte of a file name. A backslash is not escaped, so a
name that holds the text ``\\x1b`` looks like one that holds ESC: the
output is safe, not reversible; JSON output is the exact form.
"""

from __future__ import annotations

from provenance.unicode import escape_char


def visible(text: str, newlines: bool = True) -> str:
    """``text`` with every character a terminal or a page could act on, or hide, made visible as an escape."""
    if text.isprintable():
        return text
    keep = "\n\t" if newlines else ""
    return "".join(ch if ch.isprintable() or ch in keep else escape_char(ch) for ch in text)


def visible_line(text: str) -> str:
    """:func:`visible` for text that must stay on one line (a file name, a CSV cell, a stderr line)."""
    return visible(text, newlines=False)
