"""Rules for generator metadata in video and audio containers (ComfyUI graphs), on evidence built directly."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provenance.evidence import Evidence
from provenance.limits import DEFAULT_LIMITS
from provenance.match import Finding, RuleError, load_file, load_rules, match
from provenance.read import xmp
from provenance.read.jsontext import parse_json
from tests.read.bmff_builders import PACKET, mp4, walk, xmp_uuid

RULES = load_rules()

GRAPH = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "model": ["4", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "wan2.1_t2v.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a gradient"}},
    "9": {"class_type": "VHS_VideoCombine", "inputs": {"frame_rate": 8, "format": "video/h264-mp4"}},
}
WORKFLOW = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": [[1, 4, 0, 3, 0, "MODEL"]]}


def tag(source: str, field: str, value: str, location: str = "somewhere") -> Evidence:
    """Evidence as the media readers make it: the text, and its JSON parsed for structure rules."""
    return Evidence(source, field, value, location, data=parse_json(value) or value)


def hits(*evidence: Evidence) -> list[Finding]:
    return list(match(evidence, RULES))


def ids(*evidence: Evidence) -> list[str]:
    return [f.rule for f in hits(*evidence)]


@pytest.mark.parametrize(
    ("source", "field"),
    [("bmff", "prompt"), ("matroska", "PROMPT"), ("vorbis", "prompt"), ("vorbis", "PROMPT"), ("id3", "TXXX:prompt")],
)
def test_prompt_tag_of_the_new_layout_and_of_comfyui_core(source: str, field: str) -> None:
    (finding,) = hits(tag(source, field, json.dumps(GRAPH)))
    assert finding.rule == "COMFYUI-005"
    assert (finding.indicates, finding.strength, finding.generator) == ("ai-generated", "strong", "ComfyUI")
    assert finding.model == "wan2.1_t2v.safetensors"
    assert field in finding.message


@pytest.mark.parametrize(
    ("source", "field"),
    [("bmff", "workflow"), ("matroska", "WORKFLOW"), ("vorbis", "workflow"), ("id3", "TXXX:workflow")],
)
def test_workflow_tag(source: str, field: str) -> None:
    assert ids(tag(source, field, json.dumps(WORKFLOW))) == ["COMFYUI-006"]


@pytest.mark.parametrize(("source", "field"), [("bmff", "©cmt"), ("bmff", "comment"), ("matroska", "COMMENT")])
@pytest.mark.parametrize("encoded", [False, True], ids=["prompt-object", "prompt-json-text"])
def test_old_video_combine_comment(source: str, field: str, encoded: bool) -> None:
    prompt: Any = json.dumps(GRAPH) if encoded else GRAPH
    comment = json.dumps({"prompt": prompt, "workflow": WORKFLOW})
    (finding,) = hits(tag(source, field, comment))
    assert finding.rule == "COMFYUI-007"
    assert finding.model == "wan2.1_t2v.safetensors"


def test_both_tags_of_one_file_give_two_findings() -> None:
    found = ids(tag("bmff", "prompt", json.dumps(GRAPH)), tag("bmff", "workflow", json.dumps(WORKFLOW)))
    assert sorted(found) == ["COMFYUI-005", "COMFYUI-006"]


@pytest.mark.parametrize(
    ("source", "field", "value"),
    [
        ("bmff", "©cmt", "a holiday video"),
        ("bmff", "©cmt", json.dumps({"prompt": "a cat in a hat", "workflow": WORKFLOW["nodes"]})),
        ("bmff", "©cmt", json.dumps({"prompt": "{not json"})),
        ("matroska", "COMMENT", json.dumps(GRAPH)),  # a graph, but not under "prompt"
        ("bmff", "prompt", "a red cube, studio light"),
        ("bmff", "prompt", json.dumps({"text": "a red cube", "seed": 4})),
        ("bmff", "Prompt", json.dumps(GRAPH)),  # MP4 keys are kept as written: not what ComfyUI writes
        ("matroska", "prompt", json.dumps(GRAPH)),  # ffmpeg upper-cases Matroska tag names
        ("bmff", "workflow", json.dumps({"nodes": []})),
        ("riff-info", "ICMT", json.dumps(GRAPH)),
    ],
)
def test_near_misses_are_not_comfyui(source: str, field: str, value: str) -> None:
    assert not [f for f in ids(tag(source, field, value)) if f.startswith("COMFYUI")]


def test_a_transcoding_graph_without_a_generative_node_is_not_comfyui() -> None:
    copy = {
        "1": {"class_type": "LoadVideo", "inputs": {"file": "in.mp4"}},
        "2": {"class_type": "SaveVideo", "inputs": {"video": ["1", 0], "format": "mp4"}},
    }
    assert ids(tag("bmff", "prompt", json.dumps(copy))) == []
    assert ids(tag("bmff", "©cmt", json.dumps({"prompt": copy}))) == []


def test_graph_without_a_checkpoint_has_no_model() -> None:
    graph = {k: v for k, v in GRAPH.items() if k != "4"}
    graph["5"] = {"class_type": "UNETLoader", "inputs": {"unet_name": "wan.safetensors"}}
    (finding,) = hits(tag("bmff", "prompt", json.dumps(graph)))
    assert finding.rule == "COMFYUI-005" and finding.model is None
    assert finding.message == "ComfyUI node graph found in the prompt tag"


def _rule(extra_match: str, model: str = "") -> str:
    return (
        '[[rule]]\nid = "AT-001"\ntitle = "t"\nindicates = "info"\nstrength = "weak"\n'
        'reference = "https://example.org"\ndescription = "d"\nwhere = [{ source = "bmff", field = "x" }]\n'
        f"{model}match = {{ json = {{ {extra_match} }} }}\n"
    )


def test_json_at_must_be_a_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_rule('at = 3, required = ["a"]'), encoding="utf-8")
    with pytest.raises(RuleError, match=r"json\.at"):
        load_file(bad)
    bad.write_text(_rule('required = ["a"]', 'model = { at = "a" }\n'), encoding="utf-8")
    with pytest.raises(RuleError, match="model must be a table"):
        load_file(bad)


def test_json_at_descends_into_objects_and_json_text(tmp_path: Path) -> None:
    path = tmp_path / "at.toml"
    path.write_text(_rule('at = "outer.inner", required = ["k"]', 'model = { at = "outer.inner", path = "k" }\n'))
    (rule,) = load_file(path)
    rules = load_rules([tmp_path], include_builtin=False)
    as_object = Evidence("bmff", "x", "v", data={"outer": {"inner": {"k": "found"}}})
    as_text = Evidence("bmff", "x", "v", data={"outer": {"inner": json.dumps({"k": "found"})}})
    missing = Evidence("bmff", "x", "v", data={"outer": {"inner": "not json"}})
    assert [f.model for f in match([as_object], rules)] == ["found"]
    assert [f.model for f in match([as_text], rules)] == ["found"]
    assert match([missing], rules) == ()
    assert rule.id == "AT-001"


def test_iptc_source_type_in_mp4_xmp_needs_no_new_rule() -> None:
    layout = walk(mp4(xmp_uuid(PACKET)))
    result = xmp.read(layout.xmp, DEFAULT_LIMITS)
    found = match(result.evidence, RULES)
    assert any(f.source == "xmp" and f.indicates == "ai-generated" and f.rule.startswith("IPTC") for f in found)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")
@pytest.mark.parametrize("layout", ["old-comment", "new-keys"])
def test_video_combine_files_made_by_ffmpeg_match_through_the_walker(tmp_path: Path, layout: str) -> None:
    """Video Combine's ffmpeg arguments, both layouts, read back by the BMFF walker and matched."""
    out = tmp_path / "combine.mp4"
    source = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=4:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    if layout == "old-comment":
        meta = ["-metadata", "comment=" + json.dumps({"prompt": GRAPH, "workflow": WORKFLOW})]
        expected = ["COMFYUI-007"]
    else:
        meta = ["-movflags", "use_metadata_tags", "-metadata", "prompt=" + json.dumps(GRAPH)]
        meta += ["-metadata", "workflow=" + json.dumps(WORKFLOW)]
        expected = ["COMFYUI-005", "COMFYUI-006"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", *source, *meta, str(out)], check=True, timeout=60)
    walked = walk(out.read_bytes())
    found = match([tag(t.source, t.field, t.value, t.location) for t in walked.tags], RULES)
    assert sorted(f.rule for f in found) == expected
    assert all(f.generator == "ComfyUI" for f in found)
