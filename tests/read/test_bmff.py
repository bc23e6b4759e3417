"""The ISO BMFF walker: tags, XMP, C2PA presence and layout, on built boxes and on real files."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import bmff
from provenance.read.container import MAX_TEXT_ITEMS
from tests.read.bmff_builders import (
    PACKET,
    box,
    c2pa_uuid,
    data,
    ftyp,
    full,
    hdlr,
    item,
    keys,
    kinds,
    large_box,
    meta_mdir,
    meta_mdta,
    mp4,
    mvhd,
    qt_text,
    tags,
    trak,
    walk,
    walk_file,
    xmp_uuid,
)

PROMPT = (
    '{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}, '
    '"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}}}'
)
WORKFLOW = '{"nodes": [], "links": []}'


# --- tags -------------------------------------------------------------------


def test_itunes_items_under_mdir_are_named_by_their_box_type() -> None:
    layout = walk(mp4(box("udta", meta_mdir(item("©too", "Lavf60"), item("©cmt", PROMPT)))))
    assert tags(layout) == [("©too", "Lavf60"), ("©cmt", PROMPT)]
    assert layout.tags[0].source == "bmff"
    assert layout.tags[1].location == "moov/udta/meta/ilst/©cmt"
    assert ("bmff", "©too", "Lavf60") in [(r.source, r.field, r.value) for r in layout.raw]
    assert layout.has_media_data and not layout.fragmented and not layout.issues and layout.c2pa is False
    assert layout.kind == "video"


def test_mdta_items_are_resolved_to_their_key_names() -> None:
    meta = meta_mdta(["prompt", "workflow", "encoder"], item(1, PROMPT), item(2, WORKFLOW), item(3, "Lavf60"))
    layout = walk(mp4(box("udta", meta)))
    assert tags(layout) == [("prompt", PROMPT), ("workflow", WORKFLOW), ("encoder", "Lavf60")]
    assert layout.tags[1].location == "moov/udta/meta/ilst (mdta key 2)"
    assert not layout.issues


def test_mdta_keys_after_ilst_and_meta_directly_in_moov_without_version() -> None:
    # QuickTime's moov/meta has no version and flags; the keys box may come last.
    meta = box("meta", hdlr(b"mdta"), box("ilst", item(2, "second"), item(1, "first")), keys("a.b.first", "Second"))
    layout = walk(mp4(meta))
    assert tags(layout) == [("Second", "second"), ("a.b.first", "first")]
    assert layout.tags[0].location == "moov/meta/ilst (mdta key 2)"


def test_mdta_index_past_the_keys_is_named_by_number_and_reported() -> None:
    layout = walk(mp4(box("udta", meta_mdta(["prompt"], item(7, "x")))))
    assert tags(layout) == [("0x00000007", "x")]
    assert any(i.kind == "malformed" and "key 7" in i.message for i in layout.issues)


def test_quicktime_text_atoms_in_udta() -> None:
    udta = box("udta", qt_text("©too", "Lavf60"), qt_text("©cmt", "one", "two"), qt_text("©nam", b"\xfe\xff\x00h\x00i"))
    layout = walk(mp4(udta, major=b"qt  "), "video/quicktime")
    assert tags(layout) == [("©too", "Lavf60"), ("©cmt", "one"), ("©cmt", "two"), ("©nam", "hi")]
    assert layout.tags[0].location == "moov/udta/©too"


def test_quicktime_text_under_a_macintosh_language_code_is_mac_roman_unless_utf8() -> None:
    udta = box("udta", qt_text("©cmt", b"caf\x8e", language=0), qt_text("©nam", "café", language=0))
    assert tags(walk(mp4(udta))) == [("©cmt", "café"), ("©nam", "café")]


def test_itunes_style_data_atoms_directly_in_udta() -> None:
    layout = walk(mp4(box("udta", box("©too", data("Sora")))))
    assert tags(layout) == [("©too", "Sora")]


def test_data_atom_types_utf16_integer_and_binary() -> None:
    ilst_items = (
        item("©nam", "ß".encode("utf-16-be"), kind=2),
        item("tmpo", b"\x00\x78", kind=21),
        item("covr", b"\x89PNG" + b"\0" * 40, kind=14),
        item("©day", b"\xff\xfe2026", kind=1),
    )
    layout = walk(mp4(box("udta", meta_mdir(*ilst_items))))
    assert tags(layout) == [("©nam", "ß"), ("tmpo", "120"), ("©day", "\ufffd\ufffd2026")]


def test_freeform_item_is_named_by_its_name_atom() -> None:
    freeform = box("----", full("mean", b"com.apple.iTunes"), full("name", b"prompt"), data(PROMPT))
    layout = walk(mp4(box("udta", meta_mdir(freeform))))
    assert tags(layout) == [("prompt", PROMPT)]
    assert layout.tags[0].location == "moov/udta/meta/ilst/----"


def test_3gpp_text_boxes_and_track_level_udta() -> None:
    titl = full("titl", b"\x15\xc7", b"A title\x00")
    layout = walk(mp4(trak(box("udta", titl, qt_text("©swr", "Encoder 1")))))
    assert tags(layout) == [("titl", "A title"), ("©swr", "Encoder 1")]
    assert layout.tags[1].location == "moov/trak/udta/©swr"


def test_audio_kind_for_m4a() -> None:
    layout = walk(mp4(box("udta", meta_mdir(item("©too", "x"))), major=b"M4A "), "audio/mp4")
    assert layout.kind == "audio" and tags(layout) == [("©too", "x")]
    assert any(r.field == "ftyp" and r.value.startswith("major M4A ") for r in layout.raw)


# --- XMP and C2PA -------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["top", "moov", "trak-udta", "udta-XMP_"],
)
def test_xmp_found_wherever_writers_put_it(where: str) -> None:
    if where == "top":
        file = mp4(extra=xmp_uuid(PACKET))
    elif where == "moov":
        file = mp4(xmp_uuid(PACKET))
    elif where == "trak-udta":
        file = mp4(trak(box("udta", xmp_uuid(PACKET))))
    else:
        file = mp4(box("udta", box("XMP_", PACKET)))
    layout = walk(file)
    assert layout.xmp == [PACKET]
    assert not layout.issues


def test_xmp_over_the_limit_is_skipped_and_reported() -> None:
    layout = walk(mp4(extra=xmp_uuid(PACKET)), limits=Limits(max_xmp_bytes=50))
    assert layout.xmp == []
    assert [(i.kind, i.source) for i in layout.issues] == [("limit-exceeded", "xmp")]


def test_c2pa_manifest_box_is_detected() -> None:
    layout = walk(ftyp() + c2pa_uuid() + box("moov", mvhd()) + box("mdat", b"\0"))
    assert layout.c2pa is True
    assert any(r.field == "c2pa-uuid" and "'manifest'" in r.value for r in layout.raw)


def test_c2pa_merkle_box_alone_is_not_a_manifest_and_unknown_purpose_is_unknown() -> None:
    assert walk(mp4(extra=c2pa_uuid(b"merkle"))).c2pa is False
    assert walk(mp4(extra=c2pa_uuid(b"future"))).c2pa is None


def test_plain_file_has_no_c2pa() -> None:
    layout = walk(mp4())
    assert layout.c2pa is False and layout.xmp == [] and layout.tags == []


# --- layout -------------------------------------------------------------------


def test_fragmented_file_with_moof() -> None:
    mvex = box("mvex", full("trex", b"\0" * 20))
    file = ftyp() + box("moov", mvhd(), trak(), mvex) + box("moof", full("mfhd", b"\0\0\0\1")) + box("mdat", b"\0")
    layout = walk(file)
    assert layout.fragmented and layout.has_media_data and not layout.init_segment


def test_init_segment_is_moov_with_mvex_and_no_media() -> None:
    layout = walk(ftyp(b"iso6") + box("moov", mvhd(), trak(), box("mvex", full("trex", b"\0" * 20))))
    assert layout.init_segment and layout.fragmented and not layout.has_media_data
    assert not layout.issues


def test_media_segment_styp_sidx_is_fragmented() -> None:
    file = box("styp", b"msdh\0\0\0\0msdhmsix") + full("sidx", b"\0" * 24) + box("moof") + box("mdat", b"\0")
    layout = walk(file)
    assert layout.fragmented and layout.has_media_data and not layout.init_segment


def test_no_media_data_is_reported_by_the_flag() -> None:
    layout = walk(ftyp() + box("moov", mvhd()))
    assert not layout.has_media_data and not layout.init_segment


def test_free_skip_wide_are_stepped_over() -> None:
    file = (
        ftyp()
        + box("free", b"x" * 10)
        + box("wide")
        + box("skip", b"\0")
        + box("moov", box("udta", qt_text("©too", "t")))
    )
    layout = walk(file + box("mdat"))
    assert tags(layout) == [("©too", "t")] and layout.has_media_data and not layout.issues


# --- sizes ------------------------------------------------------------------


def test_size_zero_runs_to_the_end_of_the_file() -> None:
    file = ftyp() + box("moov", box("udta", qt_text("©too", "t"))) + struct.pack(">I", 0) + b"mdat" + b"\0" * 100
    layout = walk(file)
    assert layout.has_media_data and tags(layout) == [("©too", "t")] and not layout.issues


def test_size_zero_moov_runs_to_the_end() -> None:
    file = ftyp() + box("mdat", b"\0") + struct.pack(">I", 0) + b"moov" + box("udta", qt_text("©too", "t"))
    assert tags(walk(file)) == [("©too", "t")]


def test_largesize_boxes_are_followed() -> None:
    file = ftyp() + large_box("mdat", b"\0" * 40) + large_box("moov", large_box("udta", qt_text("©too", "big")))
    layout = walk(file)
    assert tags(layout) == [("©too", "big")] and layout.has_media_data and not layout.issues


class Sparse(io.RawIOBase):
    """A file of ``size`` bytes: ``head``, then zeros nobody may read, then ``tail``.

    Reading the middle (a media payload) fails the test: the walker must step over it.
    """

    def __init__(self, head: bytes, size: int, tail: bytes = b"") -> None:
        self.head, self.size, self.tail, self.pos, self.reads = head, size, tail, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else self.size + pos)
        return self.pos

    def read(self, count: int = -1) -> bytes:
        count = self.size - self.pos if count < 0 else min(count, self.size - self.pos)
        start, end = self.pos, self.pos + count
        tail_start = self.size - len(self.tail)
        out = b""
        if start < len(self.head):
            out += self.head[start : min(end, len(self.head))]
        middle = max(0, min(end, tail_start) - max(start, len(self.head)))
        assert middle <= 64 * 1024, f"read {middle} bytes of media data"
        out += b"\0" * middle
        if end > tail_start:
            out += self.tail[max(0, start - tail_start) : end - tail_start]
        self.pos = end
        self.reads += 1
        return out


def test_a_2_gb_mdat_is_stepped_over_never_read() -> None:
    size = 2 * 1024**3 + 1000
    moov = box("moov", mvhd(), box("udta", meta_mdir(item("©too", "after the media"))))
    head = ftyp() + large_box("mdat")[:8] + struct.pack(">Q", size - len(ftyp()) - len(moov))
    source = Sparse(head, size, moov)
    started = time.monotonic()
    layout = bmff.walk(source, size, "video/mp4", DEFAULT_LIMITS)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1
    assert tags(layout) == [("©too", "after the media")] and layout.has_media_data and not layout.issues
    assert source.reads < 10


class Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, count: int | None = -1) -> bytes:
        out = super().read(count)
        self.bytes_read += len(out)
        return out


def test_fragmented_file_is_walked_reading_little_of_it() -> None:
    fragment = box("moof", full("mfhd", b"\0\0\0\1"), box("traf", full("tfhd", b"\0" * 4))) + box(
        "mdat", b"\7" * 50_000
    )
    mvex = box("mvex", full("trex", b"\0" * 20))
    file = ftyp() + box("moov", mvhd(), trak(), mvex, box("udta", qt_text("©too", "t"))) + fragment * 200
    source = Counting(file)
    layout = bmff.walk(source, len(file), "video/mp4", DEFAULT_LIMITS)
    assert tags(layout) == [("©too", "t")] and layout.fragmented and not layout.issues
    assert source.bytes_read < len(file) // 10


@pytest.mark.parametrize("declared", [2**31, 2**32 - 1])
def test_huge_declared_size_is_truncated_not_allocated(declared: int) -> None:
    file = mp4() + struct.pack(">I", declared) + b"moov" + box("udta", qt_text("©too", "t"))
    layout = walk(file)
    assert tags(layout) == [("©too", "t")]  # what is there is read
    assert kinds(layout) == ["truncated"]
    assert "declares" in layout.issues[0].message


@pytest.mark.parametrize("declared", [2**32, 2**63 - 1, 2**64 - 1])
def test_huge_largesize_is_truncated(declared: int) -> None:
    file = ftyp() + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", declared) + b"\0" * 20
    layout = walk(file)
    assert layout.has_media_data and kinds(layout) == ["truncated"]


def test_huge_tag_value_is_cut_at_the_file_end() -> None:
    cut = ftyp() + box("moov", box("udta", qt_text("©cmt", "x" * 1000)))
    layout = walk(cut[:-500])
    assert layout.tags and len(layout.tags[0].value) < 1000
    assert "truncated" in kinds(layout)


@pytest.mark.parametrize("declared", [1, 2, 4, 7])
def test_size_smaller_than_a_header_stops_the_level(declared: int) -> None:
    file = ftyp() + struct.pack(">I", declared) + b"moov" + b"\0" * 64
    layout = walk(file)
    assert kinds(layout) in (["malformed"], ["truncated"])


def test_largesize_smaller_than_its_header_is_malformed() -> None:
    file = ftyp() + struct.pack(">I", 1) + b"moov" + struct.pack(">Q", 8) + b"\0" * 64
    assert kinds(walk(file)) == ["malformed"]


def test_child_past_its_parent_is_malformed_and_the_rest_still_read() -> None:
    bad = struct.pack(">I", 500) + b"udta" + qt_text("©too", "inner")
    file = ftyp() + box("moov", bad) + box("moov", box("udta", qt_text("©swr", "second")))
    layout = walk(file)
    assert ("©swr", "second") in tags(layout) and ("©too", "inner") in tags(layout)
    assert "malformed" in kinds(layout)


def test_stray_bytes_at_the_end_of_a_box_are_not_read_as_a_header_past_it() -> None:
    file = ftyp() + box("moov", box("udta", qt_text("©too", "t")), b"abc") + box("mdat", b"\0" * 8)
    layout = walk(file)
    assert tags(layout) == [("©too", "t")] and layout.has_media_data
    assert kinds(layout) == ["malformed"] and "3 stray bytes in moov" in layout.issues[0].message


def test_a_source_shorter_than_its_stated_size_is_truncated() -> None:
    file = mp4(box("udta", qt_text("©too", "t")))
    layout = bmff.walk(io.BytesIO(file), len(file) + 100, "video/mp4", DEFAULT_LIMITS)
    assert tags(layout) == [("©too", "t")]
    assert kinds(layout) == ["truncated"]


def test_trailing_zero_padding_is_not_a_problem() -> None:
    assert walk(mp4() + b"\0\0\0\0").issues == []
    assert kinds(walk(mp4() + b"\0\0\0\x20mo")) == ["truncated"]


# --- bounds -------------------------------------------------------------------


def test_deep_nesting_stops_at_the_depth_limit() -> None:
    inner = box("udta", qt_text("©too", "deep"))
    for _ in range(bmff.MAX_DEPTH + 10):
        inner = box("trak", inner)
    layout = walk(ftyp() + box("moov", inner))
    assert tags(layout) == []
    assert kinds(layout) == ["limit-exceeded"] and "nested" in layout.issues[0].message


def test_nesting_within_the_limit_is_read() -> None:
    inner = box("udta", qt_text("©too", "deep"))
    for _ in range(bmff.MAX_DEPTH - 3):
        inner = box("trak", inner)
    assert tags(walk(ftyp() + box("moov", inner))) == [("©too", "deep")]


def test_a_hundred_thousand_tiny_boxes_stop_at_the_box_limit() -> None:
    file = ftyp() + box("free") * (bmff.MAX_BOXES + 50) + box("moov", box("udta", qt_text("©too", "late")))
    started = time.monotonic()
    layout = walk(file)
    assert time.monotonic() - started < 5
    assert tags(layout) == []
    assert kinds(layout) == ["limit-exceeded"] and str(bmff.MAX_BOXES) in layout.issues[0].message


def test_tag_count_is_capped() -> None:
    items = b"".join(item("©cmt", "v") for _ in range(MAX_TEXT_ITEMS + 10))
    layout = walk(mp4(box("udta", meta_mdir(items))))
    assert len(layout.tags) == MAX_TEXT_ITEMS
    assert [(i.kind, i.source) for i in layout.issues] == [("limit-exceeded", "bmff")]


def test_tag_text_is_capped_per_file() -> None:
    layout = walk(
        mp4(box("udta", meta_mdir(item("©cmt", "a" * 60), item("©too", "b" * 60)))), limits=Limits(max_text_bytes=100)
    )
    assert tags(layout) == [("©cmt", "a" * 60)]
    assert [(i.kind, i.source) for i in layout.issues] == [("limit-exceeded", "bmff")]


def test_many_malformed_boxes_give_a_bounded_list_of_issues() -> None:
    bad = struct.pack(">I", 4) + b"udta"
    file = ftyp() + b"".join(box("moov", bad) for _ in range(50))
    layout = walk(file)
    assert len(layout.issues) <= 10


# --- real files made by ffmpeg, and by the C2PA library -----------------------

ffmpeg = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(ffmpeg is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")


def run_ffmpeg(*args: str) -> None:
    assert ffmpeg is not None
    subprocess.run([ffmpeg, "-v", "error", "-y", "-nostdin", *args], check=True, timeout=60)


VIDEO = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"]


@needs_ffmpeg
def test_ffmpeg_comment_layout_of_old_video_combine(tmp_path: Path) -> None:
    # Video Combine before 2026: one comment holding {"prompt": ..., "workflow": ...}; ffmpeg stores it as ©cmt.
    comment = '{"prompt": ' + PROMPT + ', "workflow": ' + WORKFLOW + "}"
    out = tmp_path / "old.mp4"
    run_ffmpeg(*VIDEO, "-metadata", f"comment={comment}", str(out))
    layout = walk_file(out)
    assert ("©cmt", comment) in tags(layout)
    assert any(f == "©too" and v.startswith("Lavf") for f, v in tags(layout))
    assert layout.has_media_data and not layout.issues


@needs_ffmpeg
def test_ffmpeg_metadata_tags_layout_of_new_video_combine(tmp_path: Path) -> None:
    out = tmp_path / "new.mp4"
    run_ffmpeg(
        *VIDEO,
        "-movflags",
        "use_metadata_tags",
        "-metadata",
        f"prompt={PROMPT}",
        "-metadata",
        f"workflow={WORKFLOW}",
        str(out),
    )
    layout = walk_file(out)
    got = dict(tags(layout))
    assert got["prompt"] == PROMPT and got["workflow"] == WORKFLOW and got["encoder"].startswith("Lavf")
    assert all("(mdta key" in t.location for t in layout.tags)


@needs_ffmpeg
def test_ffmpeg_mov_and_m4a(tmp_path: Path) -> None:
    mov, m4a = tmp_path / "a.mov", tmp_path / "a.m4a"
    run_ffmpeg(*VIDEO, "-metadata", "comment=hello", str(mov))
    run_ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "-metadata", "comment=tone", str(m4a))
    mov_layout = walk_file(mov, "video/quicktime")
    assert ("©cmt", "hello") in tags(mov_layout) and any(f == "©swr" for f, _ in tags(mov_layout))
    m4a_layout = walk_file(m4a, "audio/mp4")
    assert ("©cmt", "tone") in tags(m4a_layout) and m4a_layout.kind == "audio"


@needs_ffmpeg
def test_ffmpeg_fragmented_mp4_and_dash_init_segment(tmp_path: Path) -> None:
    frag = tmp_path / "frag.mp4"
    run_ffmpeg(*VIDEO, "-movflags", "frag_keyframe+empty_moov", str(frag))
    layout = walk_file(frag)
    assert layout.fragmented and layout.has_media_data and not layout.init_segment and not layout.issues
    run_ffmpeg(
        *VIDEO,
        "-f",
        "dash",
        "-init_seg_name",
        "init.m4s",
        "-media_seg_name",
        "chunk-$Number$.m4s",
        str(tmp_path / "a.mpd"),
    )
    init = walk_file(tmp_path / "init.m4s")
    assert init.init_segment and init.fragmented and not init.has_media_data and not init.issues
    chunk = walk_file(tmp_path / "chunk-1.m4s")
    assert chunk.fragmented and chunk.has_media_data and not chunk.init_segment


def _samples() -> Any:
    import importlib.util
    import sys

    pytest.importorskip("c2pa")
    pytest.importorskip("cryptography")
    path = Path(__file__).resolve().parents[2] / "samples_benign" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("provenance_make_samples", path)
    assert spec and spec.loader
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def test_mp4_signed_by_the_c2pa_library_has_its_manifest_box_found() -> None:
    samples = _samples()
    signer = samples.Credentials(samples.make_pki())
    plain = mp4(box("udta", meta_mdta(["prompt"], item(1, PROMPT))), mdat=b"\1" * 64)
    manifest = {
        "claim_generator_info": [{"name": "bmff-test", "version": "1"}],
        "title": "signed.mp4",
        "assertions": [
            samples.actions({"action": "c2pa.created", "digitalSourceType": samples.DST + "digitalCapture"})
        ],
    }
    signed = signer.sign(manifest, "video/mp4", plain)
    assert signer.state("video/mp4", signed, False)[0] == "Valid"
    assert bytes.fromhex("d8fec3d61b0e483c92975828877ec481") in signed
    layout = walk(signed)
    assert layout.c2pa is True
    assert tags(layout) == [("prompt", PROMPT)] and layout.has_media_data and not layout.issues
    assert walk(plain).c2pa is False
