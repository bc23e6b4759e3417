"""Content Credentials, read and validated with the C2PA library.

This is the only module that imports ``c2pa``. It turns the library's
manifest store into :class:`~provenance.evidence.Credentials` and evidence.
Remote manifests and OCSP are never fetched unless the caller allows
network access; the library's own default would fetch them.
"""

from __future__ import annotations

import binascii
import dataclasses
import io
import json
import os
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from provenance.evidence import (
    Action,
    Credentials,
    Evidence,
    Ingredient,
    Manifest,
    RawField,
    ReadIssue,
    ReadResult,
    StatusCode,
)
from provenance.limits import Limits
from provenance.read.c2pa_codes import TOLERATED, family, meaning
from provenance.unicode import valid_json

SOURCE = "c2pa"

_SCOPE_WORDS = {
    "active": "active",
    "parent": "parent ingredient",
    "component": "component ingredient",
    "unreferenced": "not linked from the active manifest",
}


@dataclass(frozen=True, slots=True)
class TrustList:
    """A set of trust anchors with the name and date shown to users."""

    name: str
    anchors: str  # PEM bundle
    allowed: str = ""  # PEM of individually allowed end-entity certificates
    config: str = ""  # allowed extended key usages, one OID a line


@dataclass(frozen=True, slots=True)
class TrustSettings:
    """Which anchors to use, and whether the network may be used."""

    lists: tuple[TrustList, ...]
    allow_network: bool = False


def _shipped(name: str) -> str:
    return (Path(__file__).resolve().parent.parent / "trust" / name).read_text(encoding="utf-8")


def _list_date(json_name: str) -> str:
    try:
        data = json.loads(_shipped(json_name))
        return str(data["LoTE"]["ListAndSchemeInformation"]["ListIssueDateTime"])[:10]
    except (OSError, KeyError, ValueError, TypeError):
        return "date unknown"


@lru_cache(maxsize=1)
def default_trust_lists() -> tuple[TrustList, ...]:
    """The shipped lists: the official C2PA Trust List, then the legacy tier."""
    official = TrustList(
        name=f"C2PA Trust List (issued {_list_date('C2PA-TRUST-LIST.json')})",
        anchors=_shipped("C2PA-TRUST-LIST.pem"),
    )
    legacy = TrustList(
        name="legacy Content Credentials Verify known-certificate list (interim, deprecated)",
        anchors=_shipped("legacy-verify-anchors.pem"),
        allowed=_shipped("legacy-verify-allowed.pem"),
        config=_shipped("legacy-verify-store.cfg"),
    )
    return (official, legacy)


def user_trust_list(pem: str, name: str) -> TrustList:
    return TrustList(name=f"user-supplied anchors ({name})", anchors=pem)


#: Which anchors of each list a context holds: ``None`` for every one, else their positions in
#: :func:`_anchors_of` of each list's bundle.
_Kept = tuple[tuple[int, ...], ...] | None


def _settings(lists: tuple[TrustList, ...], allow_network: bool, kept: _Kept = None) -> dict[str, Any]:
    if kept is None:
        anchors = "\n".join(t.anchors for t in lists if t.anchors)
    else:
        pems = [_anchors_of(t.anchors)[1][i].pem for t, keep in zip(lists, kept, strict=True) for i in keep]
        anchors = "\n".join(pems)
    allowed = "\n".join(t.allowed for t in lists if t.allowed)
    configs = [t.config for t in lists if t.config]
    trust: dict[str, Any] = {}
    if anchors.strip():
        trust["trust_anchors"] = anchors
    if allowed.strip():
        trust["allowed_list"] = allowed
    if configs:
        trust["trust_config"] = "\n".join(configs)
    settings: dict[str, Any] = {
        "verify": {
            "verify_trust": True,
            "remote_manifest_fetch": allow_network,
            "ocsp_fetch": allow_network,
        },
    }
    if trust:
        settings["trust"] = trust
    return settings


@lru_cache(maxsize=32)
def _context(lists: tuple[TrustList, ...], allow_network: bool, kept: _Kept = None) -> Any:
    import c2pa

    return c2pa.Context(settings=c2pa.Settings.from_dict(_settings(lists, allow_network, kept)))


# --- The anchors a store can chain to ------------------------------------------
#
# The library parses every trust anchor again for each file it validates
# (~10 µs an anchor: ~0.5 ms a signed file with the shipped lists), and
# c2pa-python 0.38 cannot keep them parsed between files. It only ever uses
# an anchor whose subject name equals, byte for byte, the issuer name of a
# certificate in the store (x509-parser compares the names' DER), and every
# certificate it checks (signers', time-stamp authorities', OCSP
# responders', identity assertions') is in the store's signature,
# time-stamp, certificate-status and identity boxes. So a file is validated
# with the anchors whose subject name occurs in those boxes: the same
# anchors that could match, without parsing the rest. When the boxes cannot
# be found, or a bundle holds anything but certificates, every anchor is used.


@dataclass(frozen=True, slots=True)
class _Anchor:
    pem: str  # the certificate's PEM block, as in the bundle
    subject: bytes | None  # its subject name, the whole DER element; None if it could not be read


_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----")


def _der_element(der: bytes, at: int) -> tuple[int, int, int]:
    """Tag, start and end of the contents of the DER element at ``at``; ValueError if it does not fit."""
    if at + 2 > len(der):
        raise ValueError("truncated DER")
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or at + count > len(der):
            raise ValueError("bad DER length")
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    if at + length > len(der):
        raise ValueError("truncated DER")
    return tag, at, at + length


def _subject_name(der: bytes) -> bytes:
    """The subject name of a DER certificate, tag and length included."""
    _, tbs, _ = _der_element(der, 0)  # Certificate: its first element is the TBSCertificate
    _, at, _ = _der_element(der, tbs)
    tag, _, end = _der_element(der, at)
    if tag == 0xA0:  # [0] version
        at = end
    for _ in range(4):  # serialNumber, signature, issuer, validity
        at = _der_element(der, at)[2]
    tag, _, end = _der_element(der, at)
    if tag != 0x30:
        raise ValueError("no subject name")
    return der[at:end]


@lru_cache(maxsize=16)
def _anchors_of(bundle: str) -> tuple[bool, tuple[_Anchor, ...]]:
    """The certificates of a PEM bundle with their subject names; False first if the bundle
    holds anything else (it is then always used whole)."""
    blocks = _PEM_BLOCK.findall(bundle)
    anchors = []
    for block in blocks:
        try:
            subject: bytes | None = _subject_name(binascii.a2b_base64("".join(block.splitlines()[1:-1])))
        except (ValueError, binascii.Error, IndexError):
            subject = None
        anchors.append(_Anchor(block, subject))
    return bundle.count("-----BEGIN ") == len(blocks), tuple(anchors)


def _kept(lists: tuple[TrustList, ...], boxes: tuple[bytes, ...] | None) -> _Kept:
    """The anchors of ``lists`` whose subject name occurs in ``boxes``; None: use them all.

    A list with anchors keeps at least its first, even when none can match: given no anchors, the
    library stops at "no anchors" before its other checks (a certificate on the list's allowed list,
    say), so a list alone (:func:`_matching_list`) or all together would not be judged as in full.
    """
    if boxes is None:
        return None
    kept: list[tuple[int, ...]] = []
    for trust_list in lists:
        if not trust_list.anchors.strip():
            kept.append(())
            continue
        whole, anchors = _anchors_of(trust_list.anchors)
        if not whole:
            return None
        named = tuple(i for i, a in enumerate(anchors) if a.subject is None or any(a.subject in box for box in boxes))
        kept.append((named or (0,)) if anchors else ())
    return tuple(kept)


# c2pa-python refuses a Context made by another process ("Context is not
# valid", which would read as a bad manifest): a process forked after one was
# made, a batch worker say, makes its own.
os.register_at_fork(after_in_child=_context.cache_clear)


def library_version() -> str:
    try:
        import c2pa

        return str(c2pa.sdk_version())
    except Exception:  # the native library failed to load
        return "unavailable"


#: The URL at the end of the library's "remote manifest" error: everything after ``url``, to the end
#: (``... from url X`` offline, ``... for url (X)`` when a fetch failed). URLs may hold parentheses, and
#: one with white space is no URL: cutting at either would show a prefix of the pointer as if it were it.
_REMOTE_URL = re.compile(r"\burl\s+(.+)\Z", re.DOTALL)


def _url_in_message(text: str, limits: Limits) -> str | None:
    """The http(s) URL the library's error names, whole; ``None`` when there is none fit to show."""
    found = _REMOTE_URL.search(text)
    if found is None:
        return None
    url = found.group(1)
    if url.startswith("(") and ")" in url:
        url = url[1 : url.rindex(")")]
    return http_url(url, limits)


# --- Bounding the work before the library sees the store ---------------------


def _app11_jumbf(data: bytes) -> bytes:
    """The JUMBF boxes of a JPEG's APP11 segments, reassembled (JPEG-XT headers removed).

    Each segment repeats ``JP``, the box instance, a sequence number and the
    superbox's own header; only the first segment of an instance keeps that
    header, so a label split across two segments reads whole here.
    """
    parts: list[bytes] = []
    pos, n = 2, len(data)
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xEB and segment[:2] == b"JP" and len(segment) >= 16:
            sequence = int.from_bytes(segment[4:8], "big")
            body = segment[8:]
            if sequence > 1:
                header = 16 if body[:4] == b"\x00\x00\x00\x01" else 8
                body = body[header:]
            parts.append(body)
        pos += 2 + length
    return b"".join(parts)


def _c2pa_chunks(data: bytes, media_type: str) -> bytes | None:
    """The C2PA chunks of a PNG (``caBX``) or WebP (``C2PA``), joined: every place the library reads a
    store from. None for other formats, and when the chunks do not run cleanly to the end of the file."""
    if media_type == "image/png":
        pos, header, big_endian, name = 8, 12, True, b"caBX"  # length, type, data, CRC
    elif media_type == "image/webp":
        pos, header, big_endian, name = 12, 8, False, b"C2PA"  # fourcc, size, data, a pad byte if odd
    else:
        return None
    parts: list[bytes] = []
    n = len(data)
    while pos < n:
        if pos + 8 > n:
            return None
        if big_endian:
            length, kind = struct.unpack_from(">I4s", data, pos)
        else:
            kind, length = struct.unpack_from("<4sI", data, pos)
        end = pos + header + length + (0 if big_endian else length & 1)
        if end > n:
            return None
        if kind == name:
            parts.append(data[pos + 8 : pos + 8 + length])
        pos = end
    return b"".join(parts)


def _gif_jumbf(data: bytes) -> bytes:
    """The data sub-blocks of every C2PA application extension of a GIF, joined."""
    parts: list[bytes] = []
    start = data.find(b"\x21\xff\x0bC2PA")
    while start >= 0:
        pos = start + 14
        while pos < len(data) and data[pos]:
            size = data[pos]
            parts.append(data[pos + 1 : pos + 1 + size])
            pos += 1 + size
        start = data.find(b"\x21\xff\x0bC2PA", pos)
    return b"".join(parts)


def _svg_jumbf(data: bytes, limits: Limits) -> bytes:
    """The base64 manifest store of an SVG's ``c2pa:manifest`` element, decoded."""
    window = data[: limits.max_scan_bytes]
    parts: list[bytes] = []
    start = window.find(b"<c2pa:manifest")
    while start >= 0:
        open_end = window.find(b">", start)
        close = window.find(b"</c2pa:manifest>", open_end)
        if open_end < 0 or close < 0:
            break
        try:
            parts.append(binascii.a2b_base64(window[open_end + 1 : close]))
        except (binascii.Error, ValueError):
            pass
        start = window.find(b"<c2pa:manifest", close)
    return b"".join(parts)


_JUMD = re.compile(b"jumd")


#: Labels of the boxes that hold the certificates the library checks against the trust anchors.
_CERTIFICATE_BOXES = (b"c2pa.signature", b"c2pa.time-stamp", b"c2pa.certificate-status", b"cawg.identity")


def _count_boxes(blob: bytes) -> tuple[int, int, list[bytes] | None]:
    """Manifest boxes and ingredient assertion boxes, by their JUMBF description boxes; and the
    boxes that hold certificates (:data:`_CERTIFICATE_BOXES`), or None if one could not be cut out.

    A description box (``jumd``) holds a 16-byte type, a toggle byte, then
    the box's label: a manifest's type starts ``c2ma`` (or ``c2um`` for an
    update manifest), an ingredient assertion's label ``c2pa.ingredient``.
    One linear search; nothing is parsed per box but the few certificate
    boxes, whose superbox (``jumb``) header comes just before. The search
    is the regular expression engine's (``jumd`` cannot overlap itself, so
    it finds every occurrence ``bytes.find`` does): 0.30 against 0.48 ms on
    a 1 MB signed file, which is searched whole.
    """
    manifests = ingredients = 0
    boxes: list[bytes] | None = []
    for found in _JUMD.finditer(blob):
        at = found.start()
        if blob[at + 4 : at + 8] in (b"c2ma", b"c2um"):
            manifests += 1
        elif blob.startswith(b"c2pa.ingredient", at + 21):
            ingredients += 1
        elif boxes is not None and blob.startswith(_CERTIFICATE_BOXES, at + 21):
            box = _superbox(blob, at)
            if box is None:
                boxes = None
            else:
                boxes.append(box)
    return manifests, ingredients, boxes


def _superbox(blob: bytes, jumd: int) -> bytes | None:
    """The ``jumb`` box whose description box type is at ``jumd``, or None if its header is not there."""
    if jumd >= 12 and blob[jumd - 8 : jumd - 4] == b"jumb":
        start = jumd - 12
        (size,) = struct.unpack_from(">I", blob, start)
    elif jumd >= 20 and blob[jumd - 16 : jumd - 12] == b"jumb":  # an 8-byte extended size
        start = jumd - 20
        if struct.unpack_from(">I", blob, start)[0] != 1:
            return None
        (size,) = struct.unpack_from(">Q", blob, start + 8)
    else:
        return None
    if size == 0:  # to the end
        return blob[start:]
    if size < 8 or start + size > len(blob):
        return None
    return blob[start : start + size]


@dataclass(frozen=True, slots=True)
class StoreCheck:
    """What :func:`check_store` found before the library sees the store."""

    too_big: str | None  # why the store is too big to validate; None when it is not
    certificate_boxes: tuple[bytes, ...] | None  # the boxes with certificates; None: not found


def check_store(data: bytes, media_type: str, limits: Limits) -> StoreCheck:
    """Count the manifests and ingredients of the store (the C2PA library's work grows faster than
    linearly with the ingredients: 2,000 of them take seconds), and find its certificate boxes.

    A PNG or WebP whose chunks run cleanly to the end of the file is counted
    in its C2PA chunks only (the library reads the store nowhere else); any
    other file is searched whole (~0.3 ms a MB), as a bound on every place a
    store could be read from.
    """
    chunks = _c2pa_chunks(data, media_type)
    manifests, ingredients, boxes = _count_boxes(data if chunks is None else chunks)
    joined = b""
    if media_type == "image/jpeg":
        joined = _app11_jumbf(data)
    elif media_type == "image/gif":
        joined = _gif_jumbf(data)
    elif media_type == "image/svg+xml":
        joined = _svg_jumbf(data, limits)
    if joined:
        # The store as the library reads it: a box split across segments is whole only here.
        more_manifests, more_ingredients, boxes = _count_boxes(joined)
        manifests, ingredients = max(manifests, more_manifests), max(ingredients, more_ingredients)
    elif media_type in ("image/gif", "image/svg+xml"):
        boxes = None  # not the bytes the library reads
    if manifests > limits.max_c2pa_manifests:
        return StoreCheck(
            f"the C2PA manifest store holds {manifests} manifests, over the limit of {limits.max_c2pa_manifests}; "
            "it was not validated",
            None,
        )
    if ingredients > limits.max_c2pa_ingredients:
        return StoreCheck(
            f"the C2PA manifest store holds {ingredients} ingredients, over the limit of "
            f"{limits.max_c2pa_ingredients}; it was not validated",
            None,
        )
    if not manifests or not boxes:
        boxes = None  # no store seen: the library may find one that the search cannot (a remote one, say)
    return StoreCheck(None, None if boxes is None else tuple(boxes))


# --- Capping what the store says ------------------------------------------------

_D = TypeVar("_D")


#: Nesting of the store's JSON kept; what lies deeper (inside an assertion's own data) is dropped.
_MAX_JSON_DEPTH = 64


def _cap_json(value: Any, cap: int, depth: int = 0) -> Any:
    """The parsed store with every string (keys too, alike) cut to ``cap`` characters."""
    if isinstance(value, str):
        return value[:cap]
    if depth >= _MAX_JSON_DEPTH and isinstance(value, (dict, list)):
        return None
    if isinstance(value, dict):
        return {str(k)[:cap]: _cap_json(v, cap, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_json(v, cap, depth + 1) for v in value]
    return value


def _cap_value(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value[:cap]
    if isinstance(value, tuple):
        items = tuple(_cap_value(v, cap) for v in value)
        # The same tuple when nothing in it was cut: its owner is then not copied either.
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _capped(value, cap)
    return value


def _capped(item: _D, cap: int) -> _D:
    """A copy of a Credentials, Manifest, Evidence... value with every text field at most ``cap`` long.

    Fields put together from several values (a location naming a manifest and
    an assertion, claim generators joined) are cut too, after joining.
    """
    changes = {}
    for f in dataclasses.fields(item):  # type: ignore[arg-type]
        if f.name == "data":
            continue
        before = getattr(item, f.name)
        after = _cap_value(before, cap)
        if after is not before:
            changes[f.name] = after
    return dataclasses.replace(item, **changes) if changes else item  # type: ignore[type-var]


def http_url(value: str, limits: Limits) -> str | None:
    """``value`` if it is an http(s) URL with a host, fit to show; else ``None``."""
    url = value.strip()
    if not url or len(url) > limits.max_value_chars or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def read(
    data: bytes,
    media_type: str,
    trust: TrustSettings,
    limits: Limits,
    xmp_provenance: str | None = None,
    certificate_boxes: tuple[bytes, ...] | None = None,
) -> tuple[Credentials, ReadResult]:
    """Read and validate the manifest store of ``data``, every text in the result capped.

    ``xmp_provenance`` is the file's XMP ``dcterms:provenance`` value, if any:
    when the library finds no manifest in the file, an http(s) URL there
    makes the credentials ``remote`` (named, never fetched here).
    ``certificate_boxes`` (from :func:`check_store`) narrows the trust
    anchors handed to the library to those the store can chain to.
    """
    credentials, result = _read(
        lambda: io.BytesIO(data), media_type, trust, limits, xmp_provenance, certificate_boxes=certificate_boxes
    )
    return _capped_result(credentials, result, limits)


def read_stream(
    source: BinaryIO,
    media_type: str,
    trust: TrustSettings,
    limits: Limits,
    xmp_provenance: str | None = None,
    fragments: tuple[BinaryIO, ...] = (),
) -> tuple[Credentials, ReadResult]:
    """:func:`read` from a seekable stream (video and audio): the library reads it; it is never copied whole.

    With ``fragments`` (the ``.m4s`` files of a DASH/CMAF init segment),
    each fragment is validated with the init segment through the library's
    fragment API.

    The count of manifests and ingredients that :func:`check_store`
    makes on images is not made here (it needs the store's bytes): the
    per-file time limit bounds the library's work on a huge store.
    """

    def opened() -> BinaryIO:
        source.seek(0)
        return source

    credentials, result = _read(opened, media_type, trust, limits, xmp_provenance, fragments)
    return _capped_result(credentials, result, limits)


def _capped_result(credentials: Credentials, result: ReadResult, limits: Limits) -> tuple[Credentials, ReadResult]:
    cap = limits.max_value_chars
    return _capped(credentials, cap), ReadResult(
        tuple(_capped(e, cap) for e in result.evidence),
        tuple(_capped(i, cap) for i in result.issues),
        tuple(_capped(r, cap) for r in result.raw),
    )


def _remote(url: str, allow_network: bool) -> tuple[Credentials, ReadResult]:
    """Credentials stored at ``url``, named by the XMP pointer; never fetched here."""
    issues: tuple[ReadIssue, ...] = ()
    if allow_network:
        message = (
            "the XMP dcterms:provenance pointer is written in a form the C2PA library does not follow, "
            "so the remote manifest was not fetched although the network was allowed"
        )
        issues = (ReadIssue("remote-not-fetched", message, SOURCE),)
    raw = (RawField(SOURCE, "remote manifest", url),)
    return Credentials(state="remote", remote_url=url), ReadResult(issues=issues, raw=raw)


def _read(
    open_stream: Callable[[], BinaryIO],
    media_type: str,
    trust: TrustSettings,
    limits: Limits,
    xmp_provenance: str | None,
    fragments: tuple[BinaryIO, ...] = (),
    certificate_boxes: tuple[bytes, ...] | None = None,
) -> tuple[Credentials, ReadResult]:
    import c2pa

    pointer = http_url(xmp_provenance, limits) if xmp_provenance else None
    kept = _kept(trust.lists, certificate_boxes)

    try:
        reader = c2pa.Reader(media_type, open_stream(), context=_context(trust.lists, trust.allow_network, kept))
        for fragment in fragments:
            fragment.seek(0)
            reader.with_fragment(media_type, open_stream(), fragment)
    except c2pa.C2paError.ManifestNotFound:
        # The library looks for a remote pointer only under the literal
        # ``dcterms:provenance`` name; the XMP reader resolves any prefix.
        return _remote(pointer, trust.allow_network) if pointer else (Credentials(state="none"), ReadResult())
    except c2pa.C2paError.NotSupported as exc:
        issue = ReadIssue("c2pa-unsupported", f"the C2PA library cannot read this format: {exc}", SOURCE)
        return Credentials(state="none", error=str(exc)), ReadResult(issues=(issue,))
    except c2pa.C2paError as exc:
        text = str(exc)
        if text.startswith("Remote") or "remote manifest" in text.lower():
            url = _url_in_message(text, limits) or pointer
            return Credentials(state="remote", remote_url=url), ReadResult(
                raw=(RawField(SOURCE, "remote manifest", url or "unknown URL"),)
            )
        message = f"the C2PA library rejected the manifest: {text}"
        issue = ReadIssue("c2pa-invalid-manifest", message, SOURCE)
        return Credentials(state="invalid", error=message), ReadResult(issues=(issue,))
    except Exception as exc:  # a native failure must not take the batch down
        message = f"the C2PA library failed: {type(exc).__name__}: {exc}"
        issue = ReadIssue("c2pa-error", message, SOURCE)
        return Credentials(state="invalid", error=message), ReadResult(issues=(issue,))
    with reader:
        try:
            store_json = reader.json()
            store = valid_json(_cap_json(json.loads(store_json), limits.max_value_chars), store_json)
            # What get_validation_state() returns, without the library parsing the JSON a second time.
            state = store.get("validation_state") if isinstance(store, dict) else None
            state = state if isinstance(state, str) else ""
            embedded = reader.is_embedded()
            remote = reader.get_remote_url()
        except Exception as exc:
            message = f"the C2PA library could not report the manifest: {exc}"
            return Credentials(state="invalid", error=message), ReadResult(
                issues=(ReadIssue("c2pa-error", message, SOURCE),)
            )
    trust_list = None
    if state.lower() == "trusted":
        trust_list = _matching_list(open_stream, media_type, trust, fragments, kept)
    credentials, evidence, raw = _build(store, state, trust_list, limits)
    remote = http_url(remote, limits) if isinstance(remote, str) else None
    if not embedded and remote:
        credentials = Credentials(
            state=credentials.state,
            active_manifest=credentials.active_manifest,
            trust_list=credentials.trust_list,
            remote_url=remote,
            validation=credentials.validation,
            manifests=credentials.manifests,
        )
    return credentials, ReadResult(tuple(evidence), (), tuple(raw))


def _matching_list(
    open_stream: Callable[[], BinaryIO],
    media_type: str,
    trust: TrustSettings,
    fragments: tuple[BinaryIO, ...],
    kept: _Kept,
) -> str | None:
    """Name the first trust list that alone makes the signer trusted."""
    import c2pa

    if len(trust.lists) == 1:
        return trust.lists[0].name
    for n, candidate in enumerate(trust.lists):
        alone = None if kept is None else (kept[n],)
        try:
            context = _context((candidate,), trust.allow_network, alone)
            with c2pa.Reader(media_type, open_stream(), context=context) as reader:
                for fragment in fragments:
                    fragment.seek(0)
                    reader.with_fragment(media_type, open_stream(), fragment)
                if (reader.get_validation_state() or "").lower() == "trusted":
                    return candidate.name
        except Exception:
            continue
    return None


def _codes(entries: Any, kind: str) -> Iterator[StatusCode]:
    if not isinstance(entries, list):
        return
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            code = entry["code"]
            explanation = str(entry.get("explanation") or "")
            url = str(entry.get("url") or "")
            yield StatusCode(
                code, kind, meaning(code, explanation), explanation, url, family(code) if kind == "failure" else None
            )


def _group(results: Any) -> list[StatusCode]:
    if not isinstance(results, dict):
        return []
    out: list[StatusCode] = []
    for kind in ("failure", "informational", "success"):
        out.extend(_codes(results.get(kind), kind))
    return out


def _state(library_state: str, failures: list[StatusCode]) -> str:
    lowered = library_state.lower()
    if lowered in ("trusted", "valid", "invalid"):
        return lowered
    # Older libraries report no state: derive it from the failure codes.
    return "invalid" if any(f.code not in TOLERATED for f in failures) else "valid"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        name = value.get("name")
        version = value.get("version")
        if isinstance(name, str):
            return f"{name} {version}" if isinstance(version, str) else name
        return json.dumps(value, sort_keys=True)
    return str(value).strip()


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    generator = manifest.get("claim_generator")
    if isinstance(generator, str) and generator.strip():
        return generator.strip()
    info = manifest.get("claim_generator_info")
    if isinstance(info, list):
        names = [_text(i) for i in info if isinstance(i, dict)]
        joined = ", ".join(n for n in names if n)
        return joined or None
    return None


def _actions(assertion: dict[str, Any]) -> list[Action]:
    data = assertion.get("data")
    if not isinstance(data, dict):
        return []
    agents = data.get("softwareAgents")
    out = []
    for raw in data.get("actions") or []:
        if not isinstance(raw, dict):
            continue
        agent = raw.get("softwareAgent")
        index = raw.get("softwareAgentIndex")
        if agent is None and isinstance(index, int) and isinstance(agents, list) and 0 <= index < len(agents):
            agent = agents[index]
        params = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
        description = raw.get("description") or (params or {}).get("description")
        source_type = raw.get("digitalSourceType")
        out.append(
            Action(
                action=str(raw.get("action", "")),
                software_agent=_text(agent),
                digital_source_type=str(source_type).strip() if source_type else None,
                description=str(description) if description else None,
                when=str(raw["when"]) if raw.get("when") else None,
            )
        )
    return out


#: Whether a signer is on a trust list depends on the lists in use now, not on those of
#: whoever added the ingredient: a verdict in the library's deltas replaces a stored one.
_TRUST_VERDICTS = frozenset({"signingCredential.trusted", "signingCredential.untrusted"})


def _current(stored: list[StatusCode], delta: list[StatusCode]) -> list[StatusCode]:
    """An ingredient's stored status codes, updated by the library's delta for this validation."""
    if any(d.code in _TRUST_VERDICTS for d in delta):
        stored = [s for s in stored if s.code not in _TRUST_VERDICTS]
    return stored + delta


def _ingredient_failures(
    ingredient: dict[str, Any], deltas: dict[str, list[StatusCode]], parent: str
) -> list[StatusCode]:
    stored = [s for s in _codes(ingredient.get("validation_status"), "failure") if s.code not in MEANINGS_SUCCESS]
    results = ingredient.get("validation_results")
    if isinstance(results, dict):
        active = results.get("activeManifest")
        stored += _codes(active.get("failure") if isinstance(active, dict) else None, "failure")
    label = ingredient.get("label")
    delta = deltas.get(f"/{parent}/c2pa.assertions/{label}", []) if isinstance(label, str) else []
    found: dict[str, StatusCode] = {}
    for status in _current(stored, delta):
        if status.kind == "failure":
            found.setdefault(status.code, status)
    return list(found.values())


def _signer_trust(codes: list[StatusCode]) -> str:
    """``trusted``/``untrusted`` as the library judged one manifest's signer, else ``unknown``."""
    found = {c.code for c in codes}
    if "signingCredential.untrusted" in found:
        return "untrusted"
    if "signingCredential.trusted" in found:
        return "trusted"
    return "unknown"


def _ingredient_codes(ingredient: dict[str, Any], deltas: dict[str, list[StatusCode]], parent: str) -> list[StatusCode]:
    """Every status code the library gave an ingredient's own manifest, of any kind."""
    codes = list(_codes(ingredient.get("validation_status"), "failure"))
    results = ingredient.get("validation_results")
    active = results.get("activeManifest") if isinstance(results, dict) else None
    codes += _group(active)
    label = ingredient.get("label")
    delta = deltas.get(f"/{parent}/c2pa.assertions/{label}", []) if isinstance(label, str) else []
    return _current(codes, delta)


def _expired_meaning(validation: list[StatusCode]) -> list[StatusCode]:
    """Word ``signingCredential.expired`` by what the library could check it against.

    Without a trusted time-stamp the library checks the certificate against the
    present time: it has expired since, and nothing proves it signed in time.
    """
    stamped = any(v.code in ("timeStamp.validated", "timeStamp.trusted") and v.kind == "success" for v in validation)
    if stamped:
        return validation
    words = (
        "the signing certificate has expired, and no trusted time-stamp proves that it signed while the "
        "certificate was still valid"
    )
    return [replace(v, meaning=words) if v.code == "signingCredential.expired" else v for v in validation]


# Codes that some library versions list in an ingredient's plain
# ``validation_status`` although they report success.
MEANINGS_SUCCESS = frozenset(
    {
        "claimSignature.validated",
        "claimSignature.insideValidity",
        "ingredient.manifest.validated",
        "ingredient.claimSignature.validated",
        "assertion.hashedURI.match",
        "assertion.dataHash.match",
        "timeStamp.validated",
        "timeStamp.trusted",
        "signingCredential.trusted",
    }
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scopes(store: dict[str, Any]) -> dict[str, str]:
    """Map each manifest label to how it relates to the active manifest."""
    manifests = _dict(store.get("manifests"))
    active = store.get("active_manifest")
    scopes: dict[str, str] = {}
    if not isinstance(active, str) or active not in manifests:
        return scopes
    queue = [(active, "active")]
    while queue:
        label, scope = queue.pop(0)
        if label in scopes:
            continue
        scopes[label] = scope
        manifest = manifests.get(label)
        if not isinstance(manifest, dict):
            continue
        for ingredient in manifest.get("ingredients") or []:
            if not isinstance(ingredient, dict):
                continue
            child = ingredient.get("active_manifest")
            if not isinstance(child, str) or child in scopes:
                continue
            relationship = ingredient.get("relationship", "componentOf")
            child_scope = "parent" if relationship == "parentOf" and scope in ("active", "parent") else "component"
            queue.append((child, child_scope))
    return scopes


def _training_mining(label: str, data: Any) -> Iterator[tuple[str, str]]:
    entries = data.get("entries") if isinstance(data, dict) else None
    if isinstance(entries, dict):
        for key, entry in entries.items():
            use = entry.get("use") if isinstance(entry, dict) else entry
            yield f"{label}/{key}", str(use)


def _metadata_fields(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Flatten a metadata assertion (JSON-LD with XMP-style keys)."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key.startswith("@"):
            continue
        if isinstance(value, (str, int, float)):
            yield prefix + key, str(value)
        elif isinstance(value, dict):
            yield from _metadata_fields(value, f"{prefix}{key}/")


def _build(
    store: dict[str, Any], library_state: str, trust_list: str | None, limits: Limits
) -> tuple[Credentials, list[Evidence], list[RawField]]:
    manifests_raw = _dict(store.get("manifests"))
    active_label = store.get("active_manifest") if isinstance(store.get("active_manifest"), str) else None
    results = _dict(store.get("validation_results"))
    validation = _group(results.get("activeManifest"))
    if not validation and isinstance(store.get("validation_status"), list):
        validation = list(_codes(store["validation_status"], "failure"))
    validation = _expired_meaning(validation)
    trust: dict[str, str] = {}
    if isinstance(active_label, str):
        trust[active_label] = _signer_trust(validation)
    deltas: dict[str, list[StatusCode]] = {}
    for delta in results.get("ingredientDeltas") or []:
        if isinstance(delta, dict):
            uri = str(delta.get("ingredientAssertionURI", ""))
            key = uri.split("self#jumbf=/c2pa", 1)[-1]
            deltas[key] = _group(delta.get("validationDeltas"))
    scopes = _scopes(store)
    evidence: list[Evidence] = []
    raw: list[RawField] = []
    manifests: list[Manifest] = []
    # The chain's own order (active first, then ingredients as listed), not the library's map order,
    # which changes from run to run: the same file gives the same report every time.
    order = [label for label in scopes if label in manifests_raw]
    order += sorted(label for label in manifests_raw if isinstance(label, str) and label not in order)
    for label in order:
        manifest = manifests_raw.get(label)
        if not isinstance(label, str) or not isinstance(manifest, dict):
            continue
        scope = scopes.get(label, "unreferenced")
        ev_scope = scope if scope != "unreferenced" else "component"
        where = f"manifest {label} ({_SCOPE_WORDS.get(scope, scope)})"
        signature = _dict(manifest.get("signature_info"))
        actions: list[Action] = []
        labels: list[str] = []

        def add(
            field: str,
            value: str,
            location: str = where,
            data: Any = None,
            scope: str = ev_scope,
            label: str = label,
            fact: str = "",
        ) -> None:
            shown = value[: limits.max_value_chars]
            evidence.append(Evidence(SOURCE, field, shown, location, scope, data, fact))
            raw.append(RawField(SOURCE, f"{label}: {field}", shown[:512]))

        # The v1 string and the claim_generator_info names say one thing: who wrote this
        # manifest. They share a fact, so a rule that matches both gives one finding.
        generator_fact = f"{label}: claim generator"
        generator = _claim_generator(manifest)
        if isinstance(manifest.get("claim_generator"), str) and generator:
            # Only a real v1 claim_generator string; v2 names come from claim_generator_info.
            add("claim_generator", generator, fact=generator_fact)
        for info in manifest.get("claim_generator_info") or []:
            if isinstance(info, dict) and isinstance(info.get("name"), str):
                add("claim_generator_info.name", info["name"], fact=generator_fact)
        for key in ("issuer", "common_name"):
            if isinstance(signature.get(key), str):
                add(f"signature.{key}", signature[key])
        for assertion in manifest.get("assertions") or []:
            if not isinstance(assertion, dict):
                continue
            alabel = str(assertion.get("label", ""))
            labels.append(alabel)
            add("assertion", alabel)
            base = alabel.split("__", 1)[0]
            if base in ("c2pa.actions", "c2pa.actions.v2"):
                for index, action in enumerate(_actions(assertion)):
                    actions.append(action)
                    spot = f"{where}, {alabel} action {index + 1} ({action.action})"
                    # What an action's agent, source type or description means depends on the
                    # action (the agent of c2pa.created made the asset): rules can ask for it.
                    of_action = {"action": action.action}
                    add("action", action.action, spot)
                    if action.digital_source_type:
                        add("digitalSourceType", action.digital_source_type, spot, of_action)
                    if action.software_agent:
                        add("softwareAgent", action.software_agent, spot, of_action)
                    if action.description:
                        add("action.description", action.description, spot, of_action)
            elif base in ("c2pa.training-mining", "cawg.training-mining"):
                for field, use in _training_mining(base, assertion.get("data")):
                    add(field, use)
            elif base in ("c2pa.metadata", "cawg.metadata", "stds.iptc.photo-metadata", "stds.iptc"):
                for field, value in _metadata_fields(assertion.get("data")):
                    add(field, value, f"{where}, {alabel} assertion")
        ingredients = []
        for ingredient in manifest.get("ingredients") or []:
            if not isinstance(ingredient, dict):
                continue
            child = ingredient.get("active_manifest") if isinstance(ingredient.get("active_manifest"), str) else None
            failures = _ingredient_failures(ingredient, deltas, label)
            if child is not None and child not in trust:
                trust[child] = _signer_trust(_ingredient_codes(ingredient, deltas, label))
            hard = [f for f in failures if f.code not in TOLERATED]
            ingredients.append(
                Ingredient(
                    title=str(ingredient.get("title") or "untitled"),
                    relationship=str(ingredient.get("relationship") or "componentOf"),
                    manifest=child,
                    validation="no-manifest" if child is None else ("invalid" if hard else "valid"),
                    failures=tuple(failures),
                )
            )
        manifests.append(
            Manifest(
                label=label,
                scope=scope,
                title=_text(manifest.get("title")),
                claim_generator=generator,
                signer=_text(signature.get("common_name")),
                issuer=_text(signature.get("issuer")),
                signing_time=_text(signature.get("time")),
                algorithm=_text(signature.get("alg")),
                actions=tuple(actions),
                ingredients=tuple(ingredients),
                assertions=tuple(labels),
            )
        )
    manifests = [replace(m, trust=trust.get(m.label, "unknown")) for m in manifests]
    failures = [v for v in validation if v.kind == "failure"]
    state = _state(library_state, failures)
    credentials = Credentials(
        state=state,
        active_manifest=active_label,
        trust_list=trust_list if state == "trusted" else None,
        validation=tuple(validation),
        manifests=tuple(manifests),
    )
    return credentials, evidence, raw
