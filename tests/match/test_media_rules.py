"""Rules on audio tags: what the walkers read from real layouts, matched by the shipped rules."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from provenance.evidence import Evidence
from provenance.limits import DEFAULT_LIMITS
from provenance.match import load_rules, match
from provenance.read import flac, id3, riffav
from provenance.read.media import MediaLayout
from tests.read import media_builders as mb

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "stable_audio_open_1.0.safetensors"}},
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 50}},
    "12": {"class_type": "EmptyLatentAudio", "inputs": {"seconds": 10}},
    "18": {"class_type": "VAEDecodeAudio", "inputs": {"samples": ["3", 0]}},
}
WORKFLOW = {"nodes": [{"id": 3, "type": "KSampler"}], "links": [], "version": 0.4}


def evidence(layout: MediaLayout) -> list[Evidence]:
    """Tags as evidence, JSON values parsed the way the PNG text reader parses them."""
    out = []
    for tag in layout.tags:
        data: Any = None
        if tag.value.lstrip().startswith("{"):
            try:
                data = json.loads(tag.value)
            except ValueError:
                data = None
        out.append(Evidence(tag.source, tag.field, tag.value, tag.location, data=data))
    return out


def rules_hit(module: ModuleType, data: bytes, media_type: str) -> list[tuple[str, str | None]]:
    layout = module.walk(io.BytesIO(data), len(data), media_type, DEFAULT_LIMITS)
    return sorted((f.rule, f.model) for f in match(evidence(layout), load_rules()))


def test_comfyui_graphs_in_flac_and_mp3_layouts() -> None:
    prompt, workflow = json.dumps(GRAPH), json.dumps(WORKFLOW)
    expected = [("COMFYUI-005", "stable_audio_open_1.0.safetensors"), ("COMFYUI-006", None)]
    assert rules_hit(flac, mb.flac(f"prompt={prompt}", f"workflow={workflow}"), "audio/flac") == expected
    frames = mb.id3_frame(b"TXXX", mb.id3_text(f"prompt\x00{prompt}", 3))
    frames += mb.id3_frame(b"TXXX", mb.id3_text(f"workflow\x00{workflow}", 3))
    assert rules_hit(id3, mb.mp3(mb.id3_tag(frames)), "audio/mpeg") == expected


def test_a_prompt_that_is_not_a_graph_and_plain_tool_tags_match_nothing() -> None:
    assert rules_hit(flac, mb.flac('prompt={"text": "a song"}', "ENCODER=Lavf61.7.100"), "audio/flac") == []
    # Suno's comment is reported by third parties only: read and shown, never a finding.
    frames = mb.id3_frame(b"COMM", b"\x00eng\x00made with suno; created=2026-01-01; id=abc")
    frames += mb.id3_frame(b"WOAS", b"https://suno.com/song/abc") + mb.id3_frame(b"TSSE", mb.id3_text("Lavf61.7.100"))
    assert rules_hit(id3, mb.mp3(mb.id3_tag(frames)), "audio/mpeg") == []
    info = mb.riff_list(b"INFO", mb.chunk(b"ISFT", b"Lavf61.7.100\x00"))
    assert rules_hit(riffav, mb.wav(info), "audio/wav") == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_comfyui_audio_as_libavformat_writes_it(tmp_path: Path) -> None:
    """ComfyUI saves audio through PyAV, i.e. libavformat: the same muxers as the ffmpeg command."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    meta = ["-metadata", f"prompt={json.dumps(GRAPH)}", "-metadata", f"workflow={json.dumps(WORKFLOW)}"]
    for name, module, media_type in (("a.flac", flac, "audio/flac"), ("a.mp3", id3, "audio/mpeg")):
        out = tmp_path / name
        cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=0.2", *meta]
        subprocess.run([*cmd, str(out)], check=True, timeout=60)
        hits = [rule for rule, _ in rules_hit(module, out.read_bytes(), media_type)]
        assert hits == ["COMFYUI-005", "COMFYUI-006"], name
