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


# --- One finding per fact; what a C2PA action's agent means ----------------------------------


def _c2pa(field: str, value: str, manifest: str = "urn:m", action: str | None = None, fact: str = "") -> Evidence:
    data = {"action": action} if action else None
    where = f"manifest {manifest} (active)" + (f", c2pa.actions action 1 ({action})" if action else "")
    return Evidence("c2pa", field, value, where, "active", data, fact)


def test_claim_generator_in_both_fields_is_one_finding() -> None:
    rules = load_rules()
    one = [
        _c2pa("claim_generator", "ChatGPT c2pa-rs/0.28.4", fact="urn:m: claim generator"),
        _c2pa("claim_generator_info.name", "ChatGPT", fact="urn:m: claim generator"),
    ]
    hits = [f for f in match(one, rules) if f.rule == "OPENAI-001"]
    assert [(f.field, f.value) for f in hits] == [("claim_generator", "ChatGPT c2pa-rs/0.28.4")]
    # Two manifests are two facts, even with the same name.
    other = _c2pa("claim_generator_info.name", "ChatGPT", manifest="urn:n", fact="urn:n: claim generator")
    assert len([f for f in match([*one, other], rules) if f.rule == "OPENAI-001"]) == 2


@pytest.mark.parametrize(
    ("agent", "created", "edited"),
    [
        ("Adobe Firefly", "ADOBE-003", "ADOBE-002"),
        ("DALL·E", "OPENAI-002", "OPENAI-003"),
        ("gpt-image-1", "OPENAI-002", "OPENAI-003"),
        ("Image Creator from Designer", "MICROSOFT-002", "MICROSOFT-003"),
        ("Google Generative AI", "GOOGLE-001", "GOOGLE-002"),
    ],
)
def test_an_agent_indicates_what_its_action_indicates(agent: str, created: str, edited: str) -> None:
    """The agent of c2pa.created made the image; the same product on an edit changed one; on a
    conversion or an opening it did neither."""
    rules = load_rules()

    def said(action: str) -> list[tuple[str, str]]:
        return [(f.rule, f.indicates) for f in match([_c2pa("softwareAgent", agent, action=action)], rules)]

    assert said("c2pa.created") == [(created, "ai-generated")]
    for action in ("c2pa.edited", "c2pa.placed", "c2pa.filtered", "com.example.generative_fill"):
        assert said(action) == [(edited, "ai-edited")], action
    for action in ("c2pa.converted", "c2pa.opened", "c2pa.transcoded", "c2pa.published"):
        assert said(action) == [], action


def test_a_manifest_that_names_the_product_without_a_source_type_is_ai_generated() -> None:
    """Microsoft Designer / Bing Image Creator, as seen on a real file: no digitalSourceType at all."""
    fact = "urn:ms: claim generator"
    evidence = [
        _c2pa("claim_generator", "Microsoft_Responsible_AI/1.0", "urn:ms", fact=fact),
        _c2pa("claim_generator_info.name", "Microsoft Responsible AI Image Provenance", "urn:ms", fact=fact),
        _c2pa("signature.common_name", "Microsoft Corporation", "urn:ms"),
        _c2pa("action", "c2pa.created", "urn:ms"),
        _c2pa("softwareAgent", "Image Creator from Designer", "urn:ms", "c2pa.created"),
        _c2pa("action.description", "AI Generated Image", "urn:ms", "c2pa.created"),
    ]
    hits = match(evidence, load_rules())
    assert sorted((f.rule, f.indicates, f.strength) for f in hits) == [
        ("C2PA-003", "ai-generated", "declared"),
        ("MICROSOFT-001", "ai-generated", "strong"),
        ("MICROSOFT-002", "ai-generated", "strong"),
    ]
    # The description counts only whole, and only on the created action.
    for value, action in (
        ("AI Generated Image", "c2pa.edited"),
        ("This is not an AI generated image", "c2pa.created"),
        ("a photo of AI generated images on a screen", "c2pa.created"),
    ):
        assert not match([_c2pa("action.description", value, action=action)], load_rules()), value
    # The signer alone says nothing.
    assert not match([_c2pa("signature.common_name", "Microsoft Corporation")], load_rules())


# --- InvokeAI Dream ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dream",
    [
        '"a red cube on a table" -s 50 -S 1234567 -W 512 -H 512 -C 7.5 -A k_lms',
        '"a red cube [blurry]" -s 50 -S 1234567 -W 512 -H 512 -C 7.500000 -A k_euler_a',
        '"a red cube" -s50 -W512 -H512 -C7.5 -Ak_lms --seamless',
        "a red cube on a table -s 30 -S 42 -W 512 -H 768 -C 7.5 -I init.png -A ddim -f 0.75 -U 2.0 0.75",
        '"a cube\nover two lines" -s 30 -S 42 -W 512 -H 512 -C 7.5 -A k_lms -G 0.8 -ft gfpgan # [42, 43]',
        '!fix "a cube" -s 30 -S 42 -W 512 -H 512 -C 7.5 -A plms',
    ],
)
def test_invokeai_dream_command_lines(dream: str) -> None:
    hits = match([Evidence("png-text", "Dream", dream, "PNG tEXt chunk", data=dream)], load_rules())
    assert [(f.rule, f.indicates, f.strength) for f in hits] == [("INVOKEAI-004", "ai-generated", "strong")]


def test_invokeai_dream_needs_the_switches_and_cannot_be_made_slow() -> None:
    import time

    rules = load_rules()
    for text in ("a dream I had last night -s 1", '"quoted" -x 1 -y 2', "-S -W -H -C -A", "Dream on -s 5 -W 512"):
        assert not match([Evidence("png-text", "Dream", text, data=text)], rules), text
    hostile = '"x" ' + "-aaaa" * 2000 + " b c"  # the old pattern took seconds on 60 characters of this
    started = time.perf_counter()
    assert not match([Evidence("png-text", "Dream", hostile, data=hostile)], rules)
    assert time.perf_counter() - started < 0.5


# --- ComfyUI graphs by structure -------------------------------------------------------------------

CIVITAI_GRAPH = {
    "resource-stack": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "urn:air:sdxl:checkpoint:civitai:100001@200002"},
    },
    "resource-stack-1": {"class_type": "LoraLoader", "inputs": {"model": ["resource-stack", 0]}},
    "11": {"class_type": "KSampler", "inputs": {"seed": 1, "model": ["resource-stack-1", 0]}},
    "extra": {"airs": ["urn:air:sdxl:checkpoint:civitai:100001@200002"]},
    "extraMetadata": '{"prompt": "a cube"}',
}


def test_comfyui_graph_with_named_nodes_and_other_keys() -> None:
    rules = load_rules()
    png = match([Evidence("png-text", "prompt", "{...}", data=CIVITAI_GRAPH)], rules)
    assert [(f.rule, f.model) for f in png] == [("COMFYUI-001", "urn:air:sdxl:checkpoint:civitai:100001@200002")]
    exif = match([Evidence("exif", "UserComment", "{...}", "EXIF EXIF IFD", data=CIVITAI_GRAPH)], rules)
    assert [(f.rule, f.model, f.indicates) for f in exif] == [
        ("COMFYUI-004", "urn:air:sdxl:checkpoint:civitai:100001@200002", "ai-generated")
    ]
    # One node is not a graph; nodes without a sampler, loader or encoder are not a generation.
    one = {"resource-stack": CIVITAI_GRAPH["resource-stack"], "extra": {}}
    assert not match([Evidence("exif", "UserComment", "{...}", data=one)], rules)
    other = {"a": {"class_type": "Note", "inputs": {}}, "b": {"class_type": "Note", "inputs": {}}}
    assert not match([Evidence("exif", "UserComment", "{...}", data=other)], rules)
