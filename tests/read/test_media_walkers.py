"""The audio and video walkers: Matroska/WebM, RIFF (WAV, AVI), ID3/MP3, FLAC and Ogg.

Files are built byte by byte (tests/read/media_builders.py), made by ffmpeg
when it is installed, or signed with the throwaway test chain through the
C2PA library, so that the walkers are checked against what real writers do.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import ebml, flac, id3, riffav
from provenance.read.container import MAX_TEXT_ITEMS
from provenance.read.media import MediaLayout
from tests.read import media_builders as mb


def run(module: ModuleType, data: bytes, media_type: str, limits: Limits = DEFAULT_LIMITS) -> MediaLayout:
    layout: MediaLayout = module.walk(io.BytesIO(data), len(data), media_type, limits)
    return layout


def fields(layout: MediaLayout) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for tag in layout.tags:
        out.setdefault(tag.field, []).append(tag.value)
    return out


def kinds(layout: MediaLayout) -> set[str]:
    return {issue.kind for issue in layout.issues}


def no_bug(layout: MediaLayout) -> None:
    """The walker met the bytes with its own checks, not with its catch-all for exceptions."""
    assert not any("could not be walked" in issue.message for issue in layout.issues), layout.issues


# --- ID3 / MP3 ----------------------------------------------------------------------


def test_id3v24_frames_of_every_kind_and_encoding() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    frames = b"".join(
        [
            mb.id3_frame(b"TIT2", mb.id3_text("Caf\xe9", 0)),  # Latin-1
            mb.id3_frame(b"TPE1", b"\x01\xff\xfe" + "Ünïcode ✓".encode("utf-16-le")),  # UTF-16, LE BOM
            mb.id3_frame(b"TPE2", b"\x01\xfe\xff" + "big ✓".encode("utf-16-be")),  # UTF-16, BE BOM
            mb.id3_frame(b"TALB", mb.id3_text("sans BOM ✓", 2)),  # UTF-16BE
            mb.id3_frame(b"TSSE", mb.id3_text("Lavf61.7.100", 3)),  # UTF-8
            mb.id3_frame(b"TCON", mb.id3_text("first\x00second\x00", 3)),  # two values, NUL-separated
            mb.id3_frame(b"TCOM", b"\x01\xff\xfe" + "a".encode("utf-16-le") + b"\x00\x00\xff\xfe" + b"b\x00"),
            mb.id3_frame(b"TXXX", mb.id3_text("prompt\x00a cat\x00", 3)),
            mb.id3_frame(b"COMM", b"\x00eng\x00made with suno; created=2026-01-01"),
            mb.id3_frame(b"COMM", b"\x01eng" + "note".encode("utf-16") + b"\x00\x00" + "hé".encode("utf-16")),
            mb.id3_frame(b"WOAS", b"https://example.com/song/1"),
            mb.id3_frame(b"WXXX", b"\x00homepage\x00https://example.com/"),
            mb.id3_frame(b"APIC", b"\x00image/png\x00\x03\x00" + bytes(5000)),  # skipped by its size
            mb.id3_frame(b"PRIV", b"XMP\x00" + xmp),
            mb.id3_frame(b"PRIV", b"com.example\x00\x01\x02"),
            mb.id3_frame(b"GEOB", mb.geob_c2pa()),
        ]
    )
    layout = run(id3, mb.mp3(mb.id3_tag(frames)), "audio/mpeg")
    got = fields(layout)
    assert got["TIT2"] == ["Caf\xe9"]
    assert got["TPE1"] == ["Ünïcode ✓"]
    assert got["TPE2"] == ["big ✓"]
    assert got["TALB"] == ["sans BOM ✓"]
    assert got["TSSE"] == ["Lavf61.7.100"]
    assert got["TCON"] == ["first", "second"]
    assert got["TCOM"] == ["a", "b"]
    assert got["TXXX:prompt"] == ["a cat"]
    assert got["COMM"] == ["made with suno; created=2026-01-01"]
    assert got["COMM:note"] == ["hé"]
    assert got["WOAS"] == ["https://example.com/song/1"]
    assert got["WXXX:homepage"] == ["https://example.com/"]
    assert "APIC" not in got and "GEOB" not in got and "PRIV" not in got
    assert layout.xmp == [xmp]
    assert layout.c2pa is True and layout.has_media_data and layout.kind == "audio"
    assert layout.tags[0].location == "ID3v2.4 TIT2 frame" and layout.tags[0].source == "id3"
    assert not layout.issues


def test_id3_geob_of_another_mime_is_not_c2pa() -> None:
    frame = mb.id3_frame(b"GEOB", b"\x00application/octet-stream\x00f\x00d\x00data")
    layout = run(id3, mb.mp3(mb.id3_tag(frame)), "audio/mpeg")
    assert layout.c2pa is False and not layout.tags


def test_id3v23_whole_tag_unsynchronisation() -> None:
    # Latin-1 "ÿà" is FF E0, a false frame sync that unsynchronisation breaks with a zero.
    frames = mb.id3_frame(b"TIT2", mb.id3_text("\xff\xe0 sync", 0), version=3)
    frames += mb.id3_frame(b"TSSE", mb.id3_text("after", 0), version=3)
    body = mb.unsynchronise(frames)
    assert len(body) > len(frames)
    tag = b"ID3\x03\x00\x80" + mb.syncsafe(len(body)) + body
    layout = run(id3, mb.mp3(tag), "audio/mpeg")
    assert fields(layout) == {"TIT2": ["\xff\xe0 sync"], "TSSE": ["after"]}
    assert layout.has_media_data and not layout.issues


def test_id3v24_frame_unsynchronisation_and_data_length() -> None:
    text = mb.id3_text("\xff\xe0 x", 0)
    body = len(text).to_bytes(4, "big") + mb.unsynchronise(text)  # data length indicator, then the bytes
    frame = mb.id3_frame(b"TIT2", body, version=4, flags=0x0003)
    layout = run(id3, mb.mp3(mb.id3_tag(frame)), "audio/mpeg")
    assert fields(layout) == {"TIT2": ["\xff\xe0 x"]}


def test_id3v24_whole_tag_flag_means_every_frame() -> None:
    frame = mb.id3_frame(b"TIT2", mb.unsynchronise(mb.id3_text("\xff\xff!", 0)))
    layout = run(id3, mb.mp3(mb.id3_tag(frame, flags=0x80)), "audio/mpeg")
    assert fields(layout) == {"TIT2": ["\xff\xff!"]}


def test_id3_extended_headers_and_footer_are_skipped() -> None:
    v3 = mb.id3_frame(b"TSSE", mb.id3_text("v3", 0), version=3)
    ext3 = struct.pack(">I", 6) + bytes(6)  # size (without itself), flags, padding size
    tag3 = b"ID3\x03\x00\x40" + mb.syncsafe(len(ext3 + v3)) + ext3 + v3
    assert fields(run(id3, mb.mp3(tag3), "audio/mpeg")) == {"TSSE": ["v3"]}
    v4 = mb.id3_frame(b"TSSE", mb.id3_text("v4", 3))
    ext4 = mb.syncsafe(6) + b"\x01\x00"  # size (with itself), one flag byte, no flags
    footer = b"3DI\x04\x00\x50" + mb.syncsafe(len(ext4 + v4))
    tag4 = b"ID3\x04\x00\x50" + mb.syncsafe(len(ext4 + v4)) + ext4 + v4 + footer
    layout = run(id3, mb.mp3(tag4), "audio/mpeg")
    assert fields(layout) == {"TSSE": ["v4"]} and layout.has_media_data and not layout.issues


def test_id3v22_frames_use_the_four_letter_names() -> None:
    frames = mb.id3_frame(b"TT2", mb.id3_text("title", 0), version=2)
    frames += mb.id3_frame(b"TSS", mb.id3_text("encoder", 0), version=2)
    frames += mb.id3_frame(b"COM", b"\x00eng\x00a comment", version=2)
    frames += mb.id3_frame(b"TXX", b"\x00key\x00value", version=2)
    layout = run(id3, mb.mp3(mb.id3_tag(frames, version=2)), "audio/mpeg")
    assert fields(layout) == {"TIT2": ["title"], "TSSE": ["encoder"], "COMM": ["a comment"], "TXXX:key": ["value"]}
    assert layout.tags[0].location == "ID3v2.2 TIT2 frame"


def test_id3v23_compressed_frame_is_inflated() -> None:
    text = mb.id3_text("squeezed " * 20, 0)
    body = len(text).to_bytes(4, "big") + zlib.compress(text)
    frame = mb.id3_frame(b"TIT2", body, version=3, flags=0x0080)
    layout = run(id3, mb.mp3(mb.id3_tag(frame, version=3)), "audio/mpeg")
    assert fields(layout) == {"TIT2": ["squeezed " * 20]}


def test_mp3_without_id3_and_with_id3v1_trailer() -> None:
    trailer = b"TAG" + b"Title".ljust(30, b"\0") + b"Artist".ljust(30, b"\0") + bytes(30) + b"2026"
    trailer += b"made with suno".ljust(28, b"\0") + b"\x00\x05" + b"\x0c"
    layout = run(id3, mb.MPEG_FRAME * 2 + trailer, "audio/mpeg")
    assert layout.has_media_data
    assert fields(layout) == {
        "ID3v1:title": ["Title"],
        "ID3v1:artist": ["Artist"],
        "ID3v1:year": ["2026"],
        "ID3v1:comment": ["made with suno"],
    }


def test_id3_tag_without_audio_is_truncated() -> None:
    layout = run(id3, mb.id3_tag(mb.id3_frame(b"TSSE", mb.id3_text("x"))), "audio/mpeg")
    assert not layout.has_media_data and "truncated" in kinds(layout)
    assert fields(layout) == {"TSSE": ["x"]}


def test_id3_size_over_the_file_is_an_issue_not_a_read() -> None:
    tag = mb.id3_tag(mb.id3_frame(b"TSSE", mb.id3_text("x")), size=0x0FFF_FFFF)  # 256 MB declared
    tracemalloc.start()
    layout = run(id3, tag + mb.MPEG_FRAME, "audio/mpeg")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "truncated" in kinds(layout) and peak < 2_000_000
    assert fields(layout) == {"TSSE": ["x"]}
    # a frame claiming more than its tag
    frame = b"TSSE" + mb.syncsafe(0x0FFF_FFF0) + b"\x00\x00\x03abc"
    layout = run(id3, mb.id3_tag(frame, padding=0) + mb.MPEG_FRAME, "audio/mpeg")
    assert "truncated" in kinds(layout)
    no_bug(layout)


def test_id3_text_budget_and_count_caps() -> None:
    frames = b"".join(mb.id3_frame(b"TXXX", mb.id3_text(f"k{i}\x00v", 0)) for i in range(MAX_TEXT_ITEMS + 10))
    layout = run(id3, mb.mp3(mb.id3_tag(frames)), "audio/mpeg")
    assert len(layout.tags) == MAX_TEXT_ITEMS and "limit-exceeded" in kinds(layout)
    big = mb.id3_frame(b"TIT2", mb.id3_text("x" * 5000, 0))
    layout = run(id3, mb.mp3(mb.id3_tag(big)), "audio/mpeg", Limits(max_text_bytes=1000))
    assert not layout.tags and "limit-exceeded" in kinds(layout)


# --- RIFF: WAV and AVI -------------------------------------------------------------------


def test_wav_info_xmp_c2pa_id3_and_pad_bytes() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    id3_chunk = mb.chunk(b"id3 ", mb.id3_tag(mb.id3_frame(b"TSSE", mb.id3_text("in wav"))))
    bext = b"A description".ljust(256, b"\0") + b"Some Tool".ljust(32, b"\0") + bytes(32) + bytes(300)
    data = mb.wav(
        mb.riff_list(
            b"INFO",
            mb.chunk(b"ISFT", b"Lavf61.7.100\x00"),  # 13 bytes: a pad byte follows
            mb.chunk(b"ICMT", b"caf\xe9\x00"),  # Latin-1, odd length
            mb.chunk(b"INAM", "tône ✓".encode() + b"\x00"),
        ),
        mb.chunk(b"_PMX", xmp),  # odd length
        id3_chunk,
        mb.chunk(b"bext", bext),
        mb.chunk(b"C2PA", b"\x00\x00\x00\x10jumb" + bytes(9)),
    )
    layout = run(riffav, data, "audio/wav")
    assert fields(layout) == {
        "ISFT": ["Lavf61.7.100"],
        "ICMT": ["caf\xe9"],
        "INAM": ["tône ✓"],
        "TSSE": ["in wav"],
        "bext:Description": ["A description"],
        "bext:Originator": ["Some Tool"],
    }
    sources = {t.field: (t.source, t.location) for t in layout.tags}
    assert sources["ISFT"] == ("riff-info", "RIFF WAVE/LIST INFO")
    assert sources["TSSE"] == ("id3", "RIFF WAVE id3 chunk, ID3v2.4 TSSE frame")
    assert layout.xmp == [xmp] and layout.c2pa is True
    assert layout.has_media_data and layout.kind == "audio" and not layout.issues


def test_wav_without_data_is_truncated_and_cut_data_still_counts() -> None:
    no_data = mb.riff(b"WAVE", mb.chunk(b"fmt ", bytes(16)))
    layout = run(riffav, no_data, "audio/wav")
    assert not layout.has_media_data and "truncated" in kinds(layout)
    cut = mb.wav(samples=1000)[:200]
    layout = run(riffav, cut, "audio/wav")
    assert layout.has_media_data and "truncated" in kinds(layout)


def test_avi_info_movi_and_nested_lists() -> None:
    data = mb.avi(mb.riff_list(b"INFO", mb.chunk(b"ISFT", b"SomeEditor 1.0\x00")))
    layout = run(riffav, data, "video/x-msvideo")
    assert fields(layout) == {"ISFT": ["SomeEditor 1.0"]}
    assert layout.kind == "video" and layout.has_media_data and layout.c2pa is False and not layout.issues


def test_rf64_data_size_from_ds64() -> None:
    ds64 = struct.pack("<QQQI", 0, 64, 32, 0)
    body = b"WAVE" + mb.chunk(b"ds64", ds64) + mb.chunk(b"data", bytes(64), size=0xFFFF_FFFF)
    body += mb.riff_list(b"INFO", mb.chunk(b"ISFT", b"rf64 tool\x00"))
    data = b"RF64" + b"\xff\xff\xff\xff" + body
    layout = run(riffav, data, "audio/wav")
    assert layout.has_media_data and fields(layout) == {"ISFT": ["rf64 tool"]} and not layout.issues


def test_riff_gigabyte_chunk_sizes_are_issues() -> None:
    data = mb.riff(b"WAVE", mb.chunk(b"fmt ", bytes(16)), mb.chunk(b"LIST", b"INFO", size=0xFFFF_FFF0))
    tracemalloc.start()
    layout = run(riffav, data, "audio/wav")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "truncated" in kinds(layout) and peak < 2_000_000
    header = b"RIFF" + struct.pack("<I", 0xFFFF_FFF0) + b"WAVE" + mb.chunk(b"data", bytes(8))
    layout = run(riffav, header, "audio/wav")
    assert "truncated" in kinds(layout) and layout.has_media_data


# --- Matroska / WebM ---------------------------------------------------------------------


def test_webm_info_tags_nested_and_track_targets() -> None:
    data = mb.matroska(
        mb.info(MuxingApp="Lavf61.7.100", WritingApp="Lavf61.7.100", Title="a title"),
        mb.tags(
            mb.simple_tag("PROMPT", '{"3": {"class_type": "KSampler"}}'),
            mb.simple_tag("ARTIST", "someone", mb.simple_tag("URL", "https://example.com", mb.simple_tag("X", "deep"))),
            mb.simple_tag("EMPTY_PARENT", None, mb.simple_tag("CHILD", "c")),
        ),
        mb.tags(mb.simple_tag("ENCODER", "Lavc61 libvpx-vp9"), track_uid=42),
        mb.cluster(),
    )
    layout = run(ebml, data, "video/webm")
    assert fields(layout) == {
        "MuxingApp": ["Lavf61.7.100"],
        "WritingApp": ["Lavf61.7.100"],
        "Title": ["a title"],
        "PROMPT": ['{"3": {"class_type": "KSampler"}}'],
        "ARTIST": ["someone"],
        "ARTIST/URL": ["https://example.com"],
        "ARTIST/URL/X": ["deep"],
        "EMPTY_PARENT/CHILD": ["c"],
        "ENCODER": ["Lavc61 libvpx-vp9"],
    }
    where = {t.field: (t.source, t.location) for t in layout.tags}
    assert where["PROMPT"] == ("matroska", "Segment/Tags/Tag/SimpleTag")
    assert where["ENCODER"] == ("matroska", "Segment/Tags/Tag/SimpleTag (track UID 42)")
    assert where["Title"] == ("matroska", "Segment/Info")
    assert layout.has_media_data and layout.can_carry_c2pa is False and layout.c2pa is False
    assert not layout.issues
    assert any(r.field == "DocType" and r.value == "webm" for r in layout.raw)


def test_ebml_eight_byte_lengths_and_unknown_sizes() -> None:
    # Every size written on 8 bytes; the Segment and the first Cluster of unknown size.
    data = mb.ebml_header("matroska") + mb.element(
        0x18538067,
        mb.cluster(unknown=True)
        + mb.element(0x1254C367, mb.element(0x7373, mb.simple_tag("WORKFLOW", "{}", size_len=8), 8), 8)
        + mb.cluster(),
        unknown=True,
    )
    layout = run(ebml, data, "video/x-matroska")
    assert fields(layout) == {"WORKFLOW": ["{}"]}
    assert layout.has_media_data and not layout.issues


def test_ebml_doc_type_checked_and_audio_only_kind() -> None:
    tracks = mb.element(0x1654AE6B, mb.element(0xAE, mb.element(0x83, b"\x02")))
    layout = run(ebml, mb.matroska(tracks, mb.cluster(), doc_type="matroska"), "video/webm")
    assert "malformed" in kinds(layout) and layout.kind == "audio"
    layout = run(ebml, mb.matroska(mb.cluster(), doc_type="something"), "video/webm")
    assert any("neither" in i.message for i in layout.issues)


def test_ebml_without_cluster_is_truncated() -> None:
    layout = run(ebml, mb.matroska(mb.info(Title="t")), "video/webm")
    assert not layout.has_media_data and "truncated" in kinds(layout)


def test_ebml_gigabyte_sizes_are_issues() -> None:
    huge = mb.element(0x1254C367, b"")[:4] + (1 << 48).to_bytes(7, "big").rjust(8, b"\x01")[:8]
    data = mb.matroska(mb.cluster()) + huge + b"\x73\x73\x80"
    tracemalloc.start()
    layout = run(ebml, data, "video/webm")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2_000_000
    no_bug(layout)
    # A SimpleTag whose TagString declares 2**50 bytes, inside the file's Segment.
    tag_string = b"\x44\x87" + mb.ebml_size(1 << 50, 8) + b"abc"
    data = mb.matroska(mb.element(0x1254C367, mb.element(0x7373, mb.element(0x67C8, tag_string))), mb.cluster())
    layout = run(ebml, data, "video/webm")
    assert "truncated" in kinds(layout)
    no_bug(layout)


# --- FLAC and Ogg -------------------------------------------------------------------------


def test_flac_vorbis_comments_picture_and_id3_c2pa() -> None:
    picture = mb.flac_block(6, bytes(3000))
    tag = mb.id3_tag(mb.id3_frame(b"GEOB", mb.geob_c2pa()))
    data = mb.flac("ENCODER=some tool", "COMMENT=héllo=world", "comment=again", prefix=tag, blocks=picture)
    layout = run(flac, data, "audio/flac")
    assert fields(layout) == {
        "vendor": ["test vendor"],
        "ENCODER": ["some tool"],
        "COMMENT": ["héllo=world"],
        "comment": ["again"],
    }
    assert layout.tags[1].source == "vorbis" and layout.tags[1].location == "FLAC VORBIS_COMMENT block"
    assert layout.c2pa is True and layout.has_media_data and layout.can_carry_c2pa and not layout.issues


def test_flac_without_frames_or_marker() -> None:
    data = mb.flac("A=b")
    layout = run(flac, data[: data.index(b"\xff\xf8")], "audio/flac")
    assert not layout.has_media_data and "truncated" in kinds(layout)
    layout = run(flac, mb.id3_tag(b"") + b"junk", "audio/flac")
    assert "malformed" in kinds(layout)


def test_ogg_vorbis_and_opus_comments() -> None:
    layout = run(flac, mb.ogg_vorbis("ENCODER=x", "DESCRIPTION=" + "long " * 100), "audio/ogg")
    assert fields(layout) == {"vendor": ["test vendor"], "ENCODER": ["x"], "DESCRIPTION": ["long " * 100]}
    assert layout.can_carry_c2pa is False and layout.has_media_data and not layout.issues
    layout = run(flac, mb.ogg_opus("COMMENT=made with y"), "audio/ogg")
    assert fields(layout)["COMMENT"] == ["made with y"] and layout.has_media_data


def test_ogg_comment_packet_across_pages() -> None:
    packet = b"\x03vorbis" + mb.vorbis_comments("TITLE=" + "t" * 600) + b"\x01"
    first, rest = packet[:510], packet[510:]
    page1 = struct.pack("<4sBBqIII", b"OggS", 0, 0, -1, 7, 1, 0) + bytes([2, 255, 255]) + first
    page2 = mb.ogg_page(7, 2, 0, rest)
    page2 = page2[:5] + b"\x01" + page2[6:]  # continued packet
    data = mb.ogg_page(7, 0, 0, b"\x01vorbis" + bytes(23), first=True) + page1 + page2
    data += mb.ogg_page(7, 3, 0, b"\x05vorbis") + mb.ogg_page(7, 4, 4096, bytes(10))
    layout = run(flac, data, "audio/ogg")
    assert fields(layout)["TITLE"] == ["t" * 600] and layout.has_media_data


# --- Files from the C2PA library (throwaway test chain) -----------------------------------


@pytest.fixture(scope="module")
def c2pa_signer() -> Any:
    pytest.importorskip("c2pa")
    pytest.importorskip("cryptography")
    from tests.hostile.conftest import _make_samples

    samples = _make_samples()
    return samples.Credentials(samples.make_pki())


def _manifest(title: str) -> dict[str, Any]:
    action = {
        "action": "c2pa.created",
        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    }
    return {
        "claim_generator_info": [{"name": "walker test", "version": "1"}],
        "title": title,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}],
    }


def _signed_wav(signer: Any) -> bytes:
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(800))
    return bytes(signer.sign(_manifest("t.wav"), "audio/wav", out.getvalue()))


def test_c2pa_library_wav_stores_a_top_level_c2pa_chunk(c2pa_signer: Any) -> None:
    signed = _signed_wav(c2pa_signer)
    layout = run(riffav, signed, "audio/wav")
    assert layout.c2pa is True and layout.has_media_data and not layout.issues
    # The chunk id, where it sits, and that it holds JUMBF: what riffav looks for.
    pos, chunks = 12, []
    while pos + 8 <= len(signed):
        cid, size = struct.unpack_from("<4sI", signed, pos)
        chunks.append((cid, signed[pos + 8 : pos + 16]))
        pos += 8 + size + (size & 1)
    assert chunks[-1][0] == b"C2PA" and chunks[-1][1][4:8] == b"jumb"
    assert c2pa_signer.state("audio/wav", signed, False)[0] == "Valid"


def test_c2pa_library_mp3_and_flac_store_a_geob_frame(c2pa_signer: Any) -> None:
    signed = bytes(c2pa_signer.sign(_manifest("t.mp3"), "audio/mpeg", mb.mp3(frames=4)))
    layout = run(id3, signed, "audio/mpeg")
    assert layout.c2pa is True and layout.has_media_data
    assert b"GEOB" in signed[:40] and b"\x03application/c2pa\x00c2pa\x00c2pa manifest store\x00" in signed[:80]
    assert run(id3, mb.mp3(frames=4), "audio/mpeg").c2pa is False
    flac_signed = bytes(c2pa_signer.sign(_manifest("t.flac"), "audio/flac", mb.flac("ENCODER=x")))
    assert flac_signed.startswith(b"ID3")  # the store sits in an ID3v2 tag before fLaC
    layout = run(flac, flac_signed, "audio/flac")
    assert layout.c2pa is True and layout.has_media_data and fields(layout)["ENCODER"] == ["x"]


def test_c2pa_library_avi(c2pa_signer: Any) -> None:
    signed = bytes(c2pa_signer.sign(_manifest("t.avi"), "video/avi", mb.avi()))
    layout = run(riffav, signed, "video/x-msvideo")
    assert layout.c2pa is True and layout.has_media_data and layout.kind == "video"


# --- Files from ffmpeg --------------------------------------------------------------------

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")


def _ffmpeg(tmp: Path, name: str, *args: str) -> bytes:
    assert FFMPEG is not None
    out = tmp / name
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", *args, "-fflags", "+bitexact", str(out)]
    subprocess.run(cmd, check=True, timeout=60)
    return out.read_bytes()


_TONE = ("-f", "lavfi", "-i", "sine=frequency=440:duration=0.3:sample_rate=8000")
_PATTERN = ("-f", "lavfi", "-i", "testsrc=size=32x32:rate=5:duration=0.6")


@needs_ffmpeg
def test_ffmpeg_webm_and_mkv_tags(tmp_path: Path) -> None:
    prompt = '{"3": {"class_type": "KSampler", "inputs": {}}}'
    meta = ("-metadata", f"prompt={prompt}", "-metadata", "workflow={}", "-metadata", "comment=c")
    webm = _ffmpeg(tmp_path, "a.webm", *_PATTERN, "-c:v", "libvpx-vp9", "-b:v", "50k", *meta)
    layout = run(ebml, webm, "video/webm")
    got = fields(layout)
    assert got["PROMPT"] == [prompt] and got["WORKFLOW"] == ["{}"] and got["COMMENT"] == ["c"]
    assert "MuxingApp" in got and layout.has_media_data and not layout.issues and layout.kind == "video"
    mkv = _ffmpeg(tmp_path, "a.mkv", *_PATTERN, "-c:v", "mpeg4", *meta)
    layout = run(ebml, mkv, "video/x-matroska")
    assert fields(layout)["PROMPT"] == [prompt] and layout.has_media_data and not layout.issues
    live = _ffmpeg(tmp_path, "live.webm", *_PATTERN, "-c:v", "libvpx-vp9", "-live", "1", *meta)
    assert b"\x18\x53\x80\x67" + mb.UNKNOWN_SIZE_8 in live  # a Segment of unknown size, on 8 bytes
    layout = run(ebml, live, "video/webm")
    assert fields(layout)["PROMPT"] == [prompt] and layout.has_media_data


@needs_ffmpeg
def test_ffmpeg_audio_files(tmp_path: Path) -> None:
    meta = ("-metadata", "comment=made with a tool", "-metadata", "title=Tïtle")
    wav = run(riffav, _ffmpeg(tmp_path, "a.wav", *_TONE, *meta), "audio/wav")
    assert fields(wav)["ICMT"] == ["made with a tool"] and fields(wav)["INAM"] == ["Tïtle"] and wav.has_media_data
    for version in ("3", "4"):
        mp3 = run(id3, _ffmpeg(tmp_path, f"a{version}.mp3", *_TONE, *meta, "-id3v2_version", version), "audio/mpeg")
        got = fields(mp3)
        assert got["TIT2"] == ["Tïtle"] and mp3.has_media_data and not mp3.issues
        assert any(values == ["made with a tool"] for values in got.values())
    flac_layout = run(flac, _ffmpeg(tmp_path, "a.flac", *_TONE, *meta), "audio/flac")
    assert fields(flac_layout)["title"] == ["Tïtle"] and flac_layout.has_media_data and not flac_layout.issues
    ogg = run(flac, _ffmpeg(tmp_path, "a.ogg", *_TONE, "-c:a", "libvorbis", *meta), "audio/ogg")
    assert fields(ogg)["title"] == ["Tïtle"] and ogg.has_media_data and not ogg.issues
    opus = run(flac, _ffmpeg(tmp_path, "a.opus", *_TONE, "-c:a", "libopus", *meta), "audio/ogg")
    assert fields(opus)["title"] == ["Tïtle"] and opus.has_media_data and not opus.can_carry_c2pa
    avi = run(riffav, _ffmpeg(tmp_path, "a.avi", *_PATTERN, "-c:v", "mjpeg", *meta), "video/x-msvideo")
    assert fields(avi)["ICMT"] == ["made with a tool"] and avi.has_media_data and not avi.issues


# --- Hostile input --------------------------------------------------------------------------

Case = tuple[ModuleType, str, bytes]


def _cases() -> list[Case]:
    tag = mb.id3_tag(
        mb.id3_frame(b"TXXX", mb.id3_text("prompt\x00x", 1))
        + mb.id3_frame(b"COMM", b"\x00eng\x00c")
        + mb.id3_frame(b"GEOB", mb.geob_c2pa())
    )
    unsync_body = mb.unsynchronise(mb.id3_frame(b"TIT2", mb.id3_text("\xff\xe0", 0), version=3))
    unsync = b"ID3\x03\x00\x80" + mb.syncsafe(len(unsync_body)) + unsync_body
    return [
        (id3, "audio/mpeg", mb.mp3(tag, frames=1)[:600]),
        (id3, "audio/mpeg", mb.mp3(unsync, frames=1)[:300]),
        (
            riffav,
            "audio/wav",
            mb.wav(
                mb.riff_list(b"INFO", mb.chunk(b"ISFT", b"abc")),
                mb.chunk(b"id3 ", tag),
                mb.chunk(b"C2PA", bytes(5)),
                samples=4,
            ),
        ),
        (riffav, "video/x-msvideo", mb.avi(mb.riff_list(b"INFO", mb.chunk(b"ICMT", b"x")))),
        (
            ebml,
            "video/webm",
            mb.matroska(
                mb.info(Title="t"),
                mb.tags(mb.simple_tag("A", "b", mb.simple_tag("C", "d", size_len=8))),
                mb.cluster(unknown=True),
                mb.cluster(),
                unknown_segment=True,
            ),
        ),
        (flac, "audio/flac", mb.flac("A=b", prefix=mb.id3_tag(mb.id3_frame(b"TSSE", mb.id3_text("x"))))),
        (flac, "audio/ogg", mb.ogg_vorbis("A=b")),
        (flac, "audio/ogg", mb.ogg_opus("A=b")),
    ]


@pytest.mark.parametrize("module,media_type,data", _cases(), ids=lambda v: getattr(v, "__name__", None))
def test_truncation_at_every_byte(module: ModuleType, media_type: str, data: bytes) -> None:
    full = run(module, data, media_type)
    no_bug(full)
    started = time.monotonic()
    for cut in range(len(data)):
        layout = run(module, data[:cut], media_type)
        no_bug(layout)
        assert len(layout.tags) <= len(full.tags) + 1  # ID3v1 cannot appear; a cut value can
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("module,media_type,data", _cases(), ids=lambda v: getattr(v, "__name__", None))
def test_random_byte_flips(module: ModuleType, media_type: str, data: bytes) -> None:
    rng = random.Random(len(data))
    started = time.monotonic()
    for _ in range(400):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        layout = run(module, bytes(mutated), media_type)
        no_bug(layout)
    assert time.monotonic() - started < 10


def _timed(walk: Callable[[], MediaLayout]) -> tuple[MediaLayout, float]:
    started = time.monotonic()
    layout = walk()
    return layout, time.monotonic() - started


def test_deep_nesting_is_bounded() -> None:
    nested = mb.simple_tag("X", "v")
    for _ in range(600):
        nested = mb.simple_tag("X", None, nested)
    data = mb.matroska(mb.tags(nested), mb.cluster())
    layout, seconds = _timed(lambda: run(ebml, data, "video/webm"))
    assert "limit-exceeded" in kinds(layout) and seconds < 5
    no_bug(layout)
    lists = mb.chunk(b"JUNK", b"")
    for _ in range(600):
        lists = mb.riff_list(b"deep", lists)
    layout, seconds = _timed(lambda: run(riffav, mb.riff(b"WAVE", lists, mb.chunk(b"data", b"xx")), "audio/wav"))
    assert "limit-exceeded" in kinds(layout) and seconds < 5
    no_bug(layout)


def test_a_hundred_thousand_tiny_structures() -> None:
    n = 120_000
    cases: list[tuple[ModuleType, str, bytes]] = [
        (ebml, "video/webm", mb.matroska(mb.element(0x1254C367, b"\xec\x80" * n), mb.cluster())),
        (id3, "audio/mpeg", mb.mp3(mb.id3_tag(b"TPOS\x00\x00\x00\x01\x00\x00\x00" * n))),
        (riffav, "audio/wav", mb.wav(mb.chunk(b"JUNK", b"") * n)),
        (riffav, "audio/wav", mb.wav(mb.riff_list(b"INFO", mb.chunk(b"IXXX", b"") * n))),
        (flac, "audio/flac", b"fLaC" + mb.flac_block(1, b"") * n + b"\xff\xf8"),
        (flac, "audio/flac", mb.flac(*(["A=b"] * n))),
        (flac, "audio/ogg", mb.ogg_page(1, 0, 0, b"\x01vorbis", first=True) + mb.ogg_page(1, 1, 0, b"") * n),
    ]
    for module, media_type, data in cases:
        layout, seconds = _timed(lambda m=module, t=media_type, d=data: run(m, d, t))
        assert "limit-exceeded" in kinds(layout), (module.__name__, layout.issues)
        assert len(layout.tags) <= MAX_TEXT_ITEMS and len(layout.issues) <= 70
        assert seconds < 5, (module.__name__, seconds)
        no_bug(layout)


def test_many_tags_hit_the_count_cap() -> None:
    layout = run(flac, mb.flac(*(f"K{i}=v" for i in range(MAX_TEXT_ITEMS + 50))), "audio/flac")
    assert len(layout.tags) == MAX_TEXT_ITEMS and "limit-exceeded" in kinds(layout)
    simple = [mb.simple_tag(f"K{i}", "v") for i in range(MAX_TEXT_ITEMS + 50)]
    layout = run(ebml, mb.matroska(mb.tags(*simple), mb.cluster()), "video/webm")
    assert len(layout.tags) == MAX_TEXT_ITEMS and "limit-exceeded" in kinds(layout)


def test_walkers_never_read_the_media_payload() -> None:
    """A 64 MB data chunk, Cluster, frame run: the walk reads kilobytes, not the payload."""

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, n: int | None = -1) -> bytes:
            out = super().read(n)
            Counting.read_bytes += len(out)
            return out

    payload = 64 * 1024 * 1024
    info = mb.chunk(b"ISFT", b"after the data")
    cases: list[tuple[ModuleType, str, bytes]] = [
        (riffav, "audio/wav", mb.riff(b"WAVE", mb.chunk(b"data", bytes(payload)), mb.riff_list(b"INFO", info))),
        (ebml, "video/webm", mb.matroska(mb.element(0x1F43B675, bytes(payload)), mb.tags(mb.simple_tag("A", "b")))),
        (flac, "audio/flac", mb.flac("A=b") + bytes(payload)),
        (id3, "audio/mpeg", mb.mp3(mb.id3_tag(mb.id3_frame(b"TSSE", mb.id3_text("x")))) + bytes(payload)),
    ]
    for module, media_type, data in cases:
        Counting.read_bytes = 0
        layout = module.walk(Counting(data), len(data), media_type, DEFAULT_LIMITS)
        assert layout.has_media_data and layout.tags
        assert Counting.read_bytes < 512 * 1024, (module.__name__, Counting.read_bytes)
