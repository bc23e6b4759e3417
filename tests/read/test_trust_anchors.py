"""The trust anchors handed to the C2PA library: only those a store can chain to, with the same results.

The library parses every anchor again for each file it validates; each file
gets only the anchors whose subject name occurs in its certificate boxes
(``c2pa._kept``). These tests compare the credentials read that way with
those read with every anchor, on the signed samples (whose test chain is
trusted when ``samples_benign/test-ca.pem`` is added) and the shared C2PA
fixtures, and show that the narrowing is real and decides trust.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.api import make_options
from provenance.read import c2pa as c2pa_reader
from tests.conftest import FIXTURES, SAMPLES

TEST_CA = SAMPLES / "test-ca.pem"
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".tiff": "image/tiff"}


def _signed_images() -> list[Path]:
    folders = [SAMPLES, FIXTURES / "c2pa-rs"]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.iterdir() if p.suffix in MEDIA_TYPES)


@pytest.mark.parametrize("anchored", [False, True], ids=["shipped-lists", "with-test-ca"])
def test_narrowed_anchors_give_the_same_credentials(anchored: bool) -> None:
    options = make_options(trust_anchors=[TEST_CA] if anchored else None)
    narrowed = trusted = 0
    for path in _signed_images():
        data, media_type = path.read_bytes(), MEDIA_TYPES[path.suffix]
        store = c2pa_reader.check_store(data, media_type, options.limits)
        if store.too_big is not None or store.certificate_boxes is None:
            continue
        narrowed += 1
        whole = c2pa_reader.read(data, media_type, options.trust, options.limits)
        narrow = c2pa_reader.read(data, media_type, options.trust, options.limits, None, store.certificate_boxes)
        assert narrow == whole, path.name
        trusted += whole[0].state == "trusted"
    assert narrowed >= 10
    if anchored:
        assert trusted >= 5  # the test chain's signers, on the user's list


def test_only_the_anchors_a_store_names_are_kept() -> None:
    options = make_options(trust_anchors=[TEST_CA])
    lists = options.trust.lists
    data = (SAMPLES / "c2pa_capture.jpg").read_bytes()
    boxes = c2pa_reader.check_store(data, "image/jpeg", options.limits).certificate_boxes
    assert boxes is not None
    kept = c2pa_reader._kept(lists, boxes)
    assert kept is not None
    user = next(n for n, t in enumerate(lists) if t.name.startswith("user-supplied"))
    assert kept[user] and len(kept[user]) == len(c2pa_reader._anchors_of(lists[user].anchors)[1])  # the test CA
    # The shipped lists name none of the test chain: each keeps its first anchor only, so that the library
    # never sees a list with no anchor (it would stop there, before a list's allowed certificates).
    assert [k for n, k in enumerate(kept) if n != user] == [(0,), (0,)]
    assert all(len(c2pa_reader._anchors_of(t.anchors)[1]) > 10 for n, t in enumerate(lists) if n != user)


def test_an_anchor_left_out_is_not_used(tmp_path: Path) -> None:
    # Control: a user's bundle whose first certificate is not the test CA. With boxes that name no anchor,
    # each list keeps only its first, the test CA is left out, and the signer is no longer trusted: the
    # narrowing decides what the library sees.
    shipped = c2pa_reader.default_trust_lists()[0].anchors
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(c2pa_reader._anchors_of(shipped)[1][0].pem + "\n" + TEST_CA.read_text())
    options = make_options(trust_anchors=[bundle])
    data = (SAMPLES / "c2pa_capture.jpg").read_bytes()
    assert c2pa_reader.read(data, "image/jpeg", options.trust, options.limits)[0].state == "trusted"
    unnamed = c2pa_reader.read(data, "image/jpeg", options.trust, options.limits, None, (b"",))
    assert unnamed[0].state == "valid"


def test_every_anchor_is_used_when_the_boxes_or_the_bundle_cannot_be_read() -> None:
    options = make_options(trust_anchors=[TEST_CA])
    assert c2pa_reader._kept(options.trust.lists, None) is None
    # A bundle with anything but certificates in it is always handed over whole.
    pem = TEST_CA.read_text() + "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"
    odd = (c2pa_reader.user_trust_list(pem, "odd.pem"),)
    assert c2pa_reader._kept(odd, (b"",)) is None
    # A certificate box whose superbox header is not where it must be: no boxes, so every anchor.
    label = b"jumd" + b"\x00" * 16 + b"\x03" + b"c2pa.signature\x00"
    assert c2pa_reader._count_boxes(b"xxxxxxxx" + label)[2] is None
    whole = b"\x00\x00\x00\x30jumb\x00\x00\x00\x27" + label
    assert c2pa_reader._count_boxes(whole)[2] == [whole]


def test_png_and_webp_stores_are_found_in_their_c2pa_chunks() -> None:
    # The box count (and the certificate boxes) come from the C2PA chunks alone when the chunks run
    # cleanly to the end of the file, and from the whole file otherwise.
    png = (SAMPLES / "c2pa_ai_edited.png").read_bytes()
    chunks = c2pa_reader._c2pa_chunks(png, "image/png")
    assert chunks and chunks.startswith(b"\x00\x00") and chunks[4:8] == b"jumb" and len(chunks) < len(png)
    assert c2pa_reader._count_boxes(chunks)[:2] == c2pa_reader._count_boxes(png)[:2] == (3, 2)
    assert c2pa_reader._c2pa_chunks(png + b"trailing", "image/png") is None
    assert c2pa_reader._c2pa_chunks(png[:-3], "image/png") is None
    limits = make_options().limits
    assert c2pa_reader.check_store(png, "image/png", limits) == c2pa_reader.check_store(
        png + b"trailing", "image/png", limits
    )
    # WebP: RIFF chunks, padded to an even size; a C2PA chunk's body is the store.
    store = chunks
    riff = b"VP8L" + (5).to_bytes(4, "little") + b"\x2f\x00\x00\x00\x00" + b"\x00"
    riff += b"C2PA" + len(store).to_bytes(4, "little") + store + b"\x00" * (len(store) & 1)
    webp = b"RIFF" + (4 + len(riff)).to_bytes(4, "little") + b"WEBP" + riff
    assert c2pa_reader._c2pa_chunks(webp, "image/webp") == store
    assert c2pa_reader._c2pa_chunks(webp[:-1], "image/webp") is None
