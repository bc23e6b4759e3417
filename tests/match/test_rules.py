"""The rule database and the matching engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.evidence import Evidence
from provenance.match import (
    SNAPSHOT,
    RuleError,
    builtin_rules_dir,
    load_file,
    load_rules,
    match,
    snapshot_text,
    write_snapshot,
)

A1111 = (
    "a red cube on a table, studio light\n"
    "Negative prompt: blurry, low quality\n"
    "Steps: 24, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 123456789, Size: 768x512, "
    "Model hash: 0a1b2c3d4e, Model: exampleModel_v1, Version: v1.10.1"
)


def test_every_shipped_rule_file_is_valid() -> None:
    files = sorted(builtin_rules_dir().glob("*.toml"))
    assert len(files) >= 10
    ids: set[str] = set()
    for path in files:
        for rule in load_file(path):
            assert rule.id not in ids, rule.id
            ids.add(rule.id)
            assert rule.reference.startswith(("http://", "https://")), rule.id
            assert rule.description, rule.id


def test_shipped_rules_snapshot_is_current() -> None:
    """rules/snapshot.json (the parsed TOML, for a fast start) must match the rule files: run
    ``python -m provenance.match`` after editing one. A stale entry is ignored, so this is about speed."""
    folder = builtin_rules_dir()
    assert (folder / SNAPSHOT).read_text(encoding="utf-8") == snapshot_text(folder)
    snapshot = json.loads((folder / SNAPSHOT).read_text(encoding="utf-8"))["files"]
    for path in sorted(folder.glob("*.toml")):
        assert load_file(path, snapshot) == load_file(path), path.name


def _rule_file(title: str) -> str:
    return (
        f'[[rule]]\nid = "SNAP-001"\ntitle = "{title}"\nindicates = "info"\nstrength = "weak"\n'
        'reference = "https://example.org"\ndescription = "d"\nwhere = [{ source = "exif", field = "Make" }]\n'
        'match = { regex = "\\\\w" }\n'
    )


def test_snapshot_entries_apply_only_to_the_bytes_they_were_made_from(tmp_path: Path) -> None:
    rule_file = tmp_path / "snap.toml"
    rule_file.write_text(_rule_file("from the file"), encoding="utf-8")
    write_snapshot(tmp_path)
    cached = (tmp_path / SNAPSHOT).read_text(encoding="utf-8")
    # A snapshot that says something else for these exact bytes is what gets loaded ...
    (tmp_path / SNAPSHOT).write_text(cached.replace("from the file", "from the snapshot"), encoding="utf-8")
    assert load_rules([tmp_path], include_builtin=False).rules[0].title == "from the snapshot"
    # ... but once the file changes, its entry no longer applies and the TOML is read.
    rule_file.write_text(_rule_file("edited since"), encoding="utf-8")
    assert load_rules([tmp_path], include_builtin=False).rules[0].title == "edited since"
    # A broken snapshot is ignored too.
    (tmp_path / SNAPSHOT).write_text("{not json", encoding="utf-8")
    assert load_rules([tmp_path], include_builtin=False).rules[0].title == "edited since"


def test_malformed_rule_names_file_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        '[[rule]]\nid = "X-001"\ntitle = "t"\nindicates = "ai-generated"\nstrength = "declared"\n'
        'reference = "https://example.org"\ndescription = "d"\nwhere = [{ source = "png-text", field = "k" }]\n'
        'match = { regex = "\\\\S" }\n\n[[rule]]\nid = "X-002"\ntitle = "t"\nindicates = "maybe"\n'
        'strength = "declared"\nreference = "r"\ndescription = "d"\nwhere = [{ source = "png-text" }]\n'
        'match = { regex = "(" }\n',
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path])
    message = str(caught.value)
    assert "bad.toml:11" in message and "X-002" in message and "indicates" in message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('[[rule]]\nid = "X-001"\ntitle = \n', encoding="utf-8")
    with pytest.raises(RuleError, match=r"broken.toml: not valid TOML: .*line 3"):
        load_rules([tmp_path])


def test_user_rules_override_builtins_by_id(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        '[[rule]]\nid = "CAMERA-001"\ntitle = "Camera make (site policy)"\nindicates = "info"\n'
        'strength = "weak"\nreference = "https://example.org/policy"\ndescription = "ours"\n'
        'where = [{ source = "exif", field = "Make" }]\nmatch = { regex = "\\\\w" }\n',
        encoding="utf-8",
    )
    rules = load_rules([tmp_path])
    rule = rules.by_id("CAMERA-001")
    assert rule is not None and rule.indicates == "info" and rule.file == "mine.toml"


def test_a1111_parameters_by_structure_not_words() -> None:
    rules = load_rules()
    hits = match([Evidence("png-text", "parameters", A1111, "PNG tEXt chunk")], rules)
    (a1111,) = [f for f in hits if f.rule == "A1111-001"]
    assert a1111.model == "exampleModel_v1" and a1111.version == "v1.10.1"
    assert a1111.strength == "strong" and a1111.indicates == "ai-generated"
    caption = "Made with AI! Stable Diffusion, steps: many, seed: lucky"
    assert not match([Evidence("png-text", "parameters", caption)], rules)
    assert not match([Evidence("png-text", "Description", "an AI generated picture of a cube")], rules)


def test_comfyui_prompt_json_structure() -> None:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "example.safetensors"}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20}},
    }
    hits = match([Evidence("png-text", "prompt", "{...}", data=graph)], load_rules())
    assert [(f.rule, f.model) for f in hits] == [("COMFYUI-001", "example.safetensors")]
    not_comfy = {"prompt": "a cube", "steps": 20}
    assert not match([Evidence("png-text", "prompt", "{...}", data=not_comfy)], load_rules())


def test_iptc_terms_match_any_scheme_and_whitespace() -> None:
    rules = load_rules()
    for value in (
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        " trainedAlgorithmicMedia ",
    ):
        (finding,) = match([Evidence("xmp", "Iptc4xmpExt:DigitalSourceType", value)], rules)
        assert finding.indicates == "ai-generated" and finding.strength == "declared"


def test_ai_ingredient_placed_into_an_image_makes_it_ai_edited() -> None:
    ev = Evidence(
        "c2pa",
        "digitalSourceType",
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "manifest urn:x (component ingredient)",
        "component",
    )
    (finding,) = match([ev], load_rules())
    assert finding.indicates == "ai-edited"
    parent = Evidence(ev.source, ev.field, ev.value, ev.location, "parent")
    (finding,) = match([parent], load_rules())
    assert finding.indicates == "ai-generated"


def test_conflict_between_credentials_and_xmp_is_a_finding() -> None:
    findings = match(
        [
            Evidence("c2pa", "digitalSourceType", "trainedAlgorithmicMedia", "manifest a (active)", "active"),
            Evidence("xmp", "Iptc4xmpExt:DigitalSourceType", "digitalCapture", "XMP packet"),
        ],
        load_rules(),
    )
    assert any(f.rule == "CONFLICT-001" for f in findings)
