"""The match stage: declarative rules turn evidence into findings.

Rules live in TOML files, one per generator or vendor family (``rules/``,
shipped inside the package). A rule names where to look (source and field),
how to match (exact, IPTC term, regular expressions, JSON structure), what a
match indicates and how strong that is. The engine, not the rule, stamps the
rule id, strength and reference onto each finding.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.evidence import SOURCES, Evidence

#: A rules folder may hold this cache of its TOML files, parsed; see :func:`write_snapshot`.
SNAPSHOT = "snapshot.json"


def _tomllib() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


#: What a finding can indicate. ``not-ai`` is a declaration of human or
#: non-generative work; ``info`` is context that points neither way.
INDICATES = ("ai-generated", "ai-edited", "captured", "not-ai", "info")

#: Strength of evidence, strongest first (the judge's ordering).
STRENGTHS = ("declared", "strong", "weak")

_RULE_KEYS = frozenset(
    {
        "id",
        "title",
        "indicates",
        "strength",
        "reference",
        "description",
        "message",
        "where",
        "match",
        "generator",
        "model",
        "version",
        "scopes",
        "notes",
    }
)
_MATCH_KEYS = frozenset(
    {"equals", "equals_any", "term", "regex", "all", "any", "min_any", "not_regex", "ignore_case", "json"}
)
_JSON_KEYS = frozenset(
    {
        "at",
        "required",
        "each_value_has",
        "values_have",
        "min_values_have",
        "any_value_matches",
        "equals",
        "not_equals",
        "regex",
        "min_values",
    }
)
_EXTRACT_KEYS = frozenset({"at", "regex", "path", "any_value_path", "value"})
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$")


class RuleError(Exception):
    """A rule file that cannot be used: names the file, line and reason."""


@dataclass(frozen=True, slots=True)
class Where:
    source: str
    field: str | None = None
    field_regex: re.Pattern[str] | None = None

    def accepts(self, ev: Evidence) -> bool:
        if ev.source != self.source:
            return False
        if self.field is not None:
            return ev.field == self.field
        if self.field_regex is not None:
            return self.field_regex.search(ev.field) is not None
        return True


@dataclass(frozen=True, slots=True)
class Rule:
    """One signature: where to look, what to match, what it means."""

    id: str
    title: str
    indicates: str
    strength: str
    reference: str
    description: str
    message: str
    where: tuple[Where, ...]
    match: Mapping[str, Any]
    file: str
    line: int
    generator: str | None = None
    model: Mapping[str, Any] | None = None
    version: Mapping[str, Any] | None = None
    scopes: tuple[str, ...] = ()
    compiled: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "indicates": self.indicates,
            "strength": self.strength,
            "reference": self.reference,
            "description": self.description,
            "where": [
                {"source": w.source, "field": w.field or (w.field_regex.pattern if w.field_regex else None)}
                for w in self.where
            ],
            "file": self.file,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that matched a piece of evidence."""

    rule: str
    title: str
    source: str
    field: str
    value: str
    location: str
    scope: str
    indicates: str
    strength: str
    message: str
    reference: str
    generator: str | None = None
    model: str | None = None
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "source": self.source,
            "field": self.field,
            "value": self.value,
            "location": self.location,
            "scope": self.scope,
            "indicates": self.indicates,
            "strength": self.strength,
            "message": self.message,
            "reference": self.reference,
            "generator": self.generator,
            "model": self.model,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    digest: str

    def by_id(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None


# --- Loading ------------------------------------------------------------------


def builtin_rules_dir() -> Path:
    """The shipped rules: inside the installed package, or the source tree's."""
    packaged = Path(__file__).resolve().parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def _rule_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("[[rule]]")]


def _parse_toml(path: Path, text: str) -> tuple[dict[str, Any], list[int]]:
    tomllib = _tomllib()
    try:
        return tomllib.loads(text), _rule_lines(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML: {exc}") from None


def _read_snapshot(directory: Path) -> dict[str, Any]:
    """The folder's parsed-rules cache, or nothing if it has none (or a broken one)."""
    try:
        data = json.loads((directory / SNAPSHOT).read_bytes())
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) and data.get("version") == 1 else None
    return files if isinstance(files, dict) else {}


def load_file(path: Path, snapshot: Mapping[str, Any] | None = None, raw: bytes | None = None) -> list[Rule]:
    """Load and validate one rule file; raise :class:`RuleError` on any problem.

    ``snapshot`` (a folder's :data:`SNAPSHOT`) gives the parsed TOML of the
    file when its entry was made from exactly these bytes: parsing TOML is
    most of the cost of loading the rules, and every start pays it. Either
    way the rules are validated and built the same.
    """
    try:
        raw = path.read_bytes() if raw is None else raw
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    cached = (snapshot or {}).get(path.name)
    if isinstance(cached, dict) and cached.get("sha256") == hashlib.sha256(raw).hexdigest():
        doc, lines = cached["doc"], cached["lines"]
    else:
        doc, lines = _parse_toml(path, text)
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError(f"{path}:1: no [[rule]] tables")
    unknown_top = set(doc) - {"rule", "family", "description"}
    if unknown_top:
        raise RuleError(f"{path}:1: unknown top-level keys {sorted(unknown_top)}")
    rules = []
    for index, raw_rule in enumerate(raw_rules):
        line = lines[index] if index < len(lines) else 1
        problems = list(validate_rule(raw_rule))
        if problems:
            raise RuleError(f"{path}:{line}: rule {raw_rule.get('id', '#' + str(index + 1))!r}: {problems[0]}")
        rules.append(_build(raw_rule, str(path.name), line))
    return rules


def load_rules(extra_dirs: Iterable[Path] = (), include_builtin: bool = True) -> RuleSet:
    """Built-in rules, then each extra directory's; a later id overrides."""
    dirs = ([builtin_rules_dir()] if include_builtin else []) + [Path(d) for d in extra_dirs]
    by_id: dict[str, Rule] = {}
    digest = hashlib.sha256()
    for directory in dirs:
        if not directory.is_dir():
            raise RuleError(f"{directory}: not a directory of rule files")
        snapshot = _read_snapshot(directory)
        seen: dict[str, str] = {}
        for path in sorted(directory.glob("*.toml")):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise RuleError(f"{path}: cannot read: {exc}") from None
            digest.update(path.name.encode() + b"\0" + raw)
            for rule in load_file(path, snapshot, raw):
                if rule.id in seen:
                    raise RuleError(f"{path}:{rule.line}: rule id {rule.id!r} also defined in {seen[rule.id]}")
                seen[rule.id] = path.name
                by_id[rule.id] = rule
    return RuleSet(tuple(sorted(by_id.values(), key=lambda r: r.id)), digest.hexdigest()[:16])


def snapshot_text(directory: Path) -> str:
    """The :data:`SNAPSHOT` of a folder's rule files, as :func:`write_snapshot` writes it."""
    files: dict[str, Any] = {}
    for path in sorted(directory.glob("*.toml")):
        raw = path.read_bytes()
        doc, lines = _parse_toml(path, raw.decode("utf-8"))
        files[path.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "lines": lines, "doc": doc}
    return json.dumps({"version": 1, "files": files}, indent=1, ensure_ascii=False) + "\n"


def write_snapshot(directory: Path | None = None) -> Path:
    """Write the parsed-rules cache of ``directory`` (the shipped rules by default).

    Run ``python -m provenance.match`` after editing a shipped rule file; a
    stale entry is never used (its hash no longer matches), only slower.
    """
    folder = directory or builtin_rules_dir()
    target = folder / SNAPSHOT
    target.write_text(snapshot_text(folder), encoding="utf-8")
    return target


def _compile(pattern: Any, flags: int, what: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ValueError(f"{what} must be a string")
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"{what}: bad regular expression: {exc}") from None


def validate_rule(raw: Any) -> Iterator[str]:
    """Yield one message per problem in a rule table (empty: the rule is fine)."""
    if not isinstance(raw, dict):
        yield "a rule must be a table"
        return
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        yield f"unknown keys {sorted(unknown)}"
    for key in ("id", "title", "indicates", "strength", "reference", "description", "where", "match"):
        if key not in raw:
            yield f"missing {key!r}"
    rule_id = raw.get("id")
    if isinstance(rule_id, str) and not _ID.match(rule_id):
        yield f"id {rule_id!r} must look like FAMILY-001 (capitals, digits, three-digit number)"
    if raw.get("indicates") not in INDICATES:
        yield f"indicates must be one of {', '.join(INDICATES)}"
    if raw.get("strength") not in STRENGTHS:
        yield f"strength must be one of {', '.join(STRENGTHS)}"
    reference = raw.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        yield "reference must be a URL or a specification section"
    where = raw.get("where")
    if not isinstance(where, list) or not where:
        yield "where must be a non-empty list of {source, field} tables"
    else:
        for item in where:
            if not isinstance(item, dict) or item.get("source") not in SOURCES:
                yield f"where: each entry needs source, one of {', '.join(SOURCES)}"
            elif set(item) - {"source", "field", "field_regex"}:
                yield f"where: unknown keys {sorted(set(item) - {'source', 'field', 'field_regex'})}"
    match = raw.get("match")
    if not isinstance(match, dict) or not (set(match) & (_MATCH_KEYS - {"ignore_case", "min_any", "not_regex"})):
        yield "match must be a table with equals, equals_any, term, regex, all, any or json"
    else:
        if set(match) - _MATCH_KEYS:
            yield f"match: unknown keys {sorted(set(match) - _MATCH_KEYS)}"
        json_spec = match.get("json")
        if json_spec is not None and (not isinstance(json_spec, dict) or set(json_spec) - _JSON_KEYS):
            yield f"match.json: allowed keys are {sorted(_JSON_KEYS)}"
        elif isinstance(json_spec, dict) and "at" in json_spec and not isinstance(json_spec["at"], str):
            yield "match.json.at must be a dotted path"
        try:
            _compile_match(match)
        except ValueError as exc:
            yield f"match: {exc}"
    for key in ("model", "version"):
        spec = raw.get(key)
        if spec is not None and (not isinstance(spec, dict) or set(spec) - _EXTRACT_KEYS or not set(spec) - {"at"}):
            yield f"{key} must be a table with one of {sorted(_EXTRACT_KEYS - {'at'})} (and optionally at)"
        elif isinstance(spec, dict) and not isinstance(spec.get("at", ""), str):
            yield f"{key}.at must be a dotted path"
    scopes = raw.get("scopes", [])
    if not isinstance(scopes, list) or set(scopes) - {"file", "active", "parent", "component"}:
        yield "scopes must list file, active, parent or component"


def _compile_match(match: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    flags = re.IGNORECASE if match.get("ignore_case") else 0
    out: list[tuple[str, Any]] = []
    for key in ("regex", "not_regex"):
        if key in match:
            out.append((key, _compile(match[key], flags | re.MULTILINE, key)))
    for key in ("all", "any"):
        if key in match:
            items = match[key]
            if not isinstance(items, list) or not items:
                raise ValueError(f"{key} must be a non-empty list of regular expressions")
            out.append((key, tuple(_compile(p, flags | re.MULTILINE, key) for p in items)))
    json_spec = match.get("json")
    if isinstance(json_spec, dict):
        for path, pattern in (json_spec.get("regex") or {}).items():
            _compile(pattern, flags, f"json.regex[{path}]")
        for key, pattern in (json_spec.get("any_value_matches") or {}).items():
            _compile(pattern, flags, f"json.any_value_matches[{key}]")
    return tuple(out)


def _build(raw: dict[str, Any], file: str, line: int) -> Rule:
    wheres = []
    for item in raw["where"]:
        regex = item.get("field_regex")
        wheres.append(Where(item["source"], item.get("field"), re.compile(regex) if isinstance(regex, str) else None))
    return Rule(
        id=raw["id"],
        title=raw["title"],
        indicates=raw["indicates"],
        strength=raw["strength"],
        reference=raw["reference"],
        description=raw["description"].strip(),
        message=raw.get("message", raw["title"] + ": {value}"),
        where=tuple(wheres),
        match=raw["match"],
        file=file,
        line=line,
        generator=raw.get("generator"),
        model=raw.get("model"),
        version=raw.get("version"),
        scopes=tuple(raw.get("scopes", [])),
        compiled=_compile_match(raw["match"]),
    )


# --- Matching -------------------------------------------------------------


def _path(obj: Any, path: str) -> tuple[bool, Any]:
    current = obj
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def _at(obj: Any, path: str | None) -> Any:
    """The part of ``obj`` at dotted ``path`` (all of it without a path); JSON held as text there is parsed.

    A graph may sit inside another JSON object as an object or as JSON text
    (Video Combine's ``comment`` holds ``{"prompt": ..., "workflow": ...}``,
    its prompt encoded once more in some versions). ``None`` if absent.
    """
    if not path:
        return obj
    found, value = _path(obj, path)
    if not found:
        return None
    if isinstance(value, str):
        from provenance.read.jsontext import parse_json  # here: loading the readers is not the rules' cost

        return parse_json(value)
    return value


def _iptc_term(value: str) -> str:
    stripped = value.strip().rstrip("/")
    return stripped.rsplit("/", 1)[-1].removeprefix("digsrctype:")


def _json_matches(spec: Mapping[str, Any], obj: Any, flags: int) -> bool:
    obj = _at(obj, spec.get("at"))
    if not isinstance(obj, (dict, list)):
        return False
    for path in spec.get("required", []):
        if not _path(obj, path)[0]:
            return False
    for path, expected in (spec.get("equals") or {}).items():
        found, value = _path(obj, path)
        if not found or value != expected:
            return False
    for path, unwanted in (spec.get("not_equals") or {}).items():
        found, value = _path(obj, path)
        if found and value == unwanted:
            return False
    for path, pattern in (spec.get("regex") or {}).items():
        found, value = _path(obj, path)
        if not found or not isinstance(value, (str, int, float)) or not re.search(pattern, str(value), flags):
            return False
    keys = spec.get("each_value_has")
    if keys:
        if not isinstance(obj, dict) or not obj:
            return False
        if not all(isinstance(v, dict) and all(k in v for k in keys) for v in obj.values()):
            return False
    if "min_values" in spec and (not isinstance(obj, dict) or len(obj) < int(spec["min_values"])):
        return False
    keys = spec.get("values_have")
    if keys:
        # Some values (the nodes of a graph) hold all these keys; others may be anything.
        if not isinstance(obj, dict):
            return False
        nodes = sum(1 for v in obj.values() if isinstance(v, dict) and all(k in v for k in keys))
        if nodes < int(spec.get("min_values_have", 1)):
            return False
    wanted = spec.get("any_value_matches")
    if wanted:
        values = obj.values() if isinstance(obj, dict) else obj
        if not any(
            isinstance(v, dict)
            and all(isinstance(v.get(k), str) and re.search(p, v[k], flags) for k, p in wanted.items())
            for v in values
        ):
            return False
    return True


def _text_of(ev: Evidence) -> str:
    return ev.data if isinstance(ev.data, str) else ev.value


def matches(rule: Rule, ev: Evidence) -> bool:
    """Whether ``rule`` matches one piece of evidence."""
    return any(w.accepts(ev) for w in rule.where) and _value_matches(rule, ev)


def _value_matches(rule: Rule, ev: Evidence) -> bool:
    """Whether ``rule`` matches ``ev``, whose source and field one of its ``where`` accepts."""
    if rule.scopes and ev.scope not in rule.scopes:
        return False
    m = rule.match
    text = _text_of(ev)
    ignore_case = bool(m.get("ignore_case"))
    if "equals" in m:
        a, b = text.strip(), str(m["equals"])
        if (a.lower() != b.lower()) if ignore_case else (a != b):
            return False
    if "equals_any" in m:
        options = [str(o) for o in m["equals_any"]]
        value = text.strip()
        if ignore_case:
            if value.lower() not in {o.lower() for o in options}:
                return False
        elif value not in options:
            return False
    if "term" in m and _iptc_term(text) != m["term"]:
        return False
    for key, compiled in rule.compiled:
        if key == "regex" and not compiled.search(text):
            return False
        if key == "not_regex" and compiled.search(text):
            return False
        if key == "all" and not all(p.search(text) for p in compiled):
            return False
        if key == "any":
            hits = sum(1 for p in compiled if p.search(text))
            if hits < int(m.get("min_any", 1)):
                return False
    if "json" in m and not _json_matches(m["json"], ev.data, re.IGNORECASE if ignore_case else 0):
        return False
    return True


def _extract(spec: Mapping[str, Any] | None, ev: Evidence) -> str | None:
    if not spec:
        return None
    if "value" in spec:
        return str(spec["value"])
    if "regex" in spec:
        found = re.search(spec["regex"], _text_of(ev), re.MULTILINE)
        if found:
            return (found.group(1) if found.groups() else found.group(0)).strip()[:200]
        return None
    data = _at(ev.data, spec.get("at"))
    if "path" in spec:
        ok, value = _path(data, spec["path"])
        return str(value)[:200] if ok and value not in (None, "") else None
    if "any_value_path" in spec and isinstance(data, dict):
        for item in data.values():
            ok, value = _path(item, spec["any_value_path"])
            if ok and isinstance(value, (str, int, float)) and str(value):
                return str(value)[:200]
    return None


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _finding(rule: Rule, ev: Evidence) -> Finding:
    indicates = rule.indicates
    scope_note = ""
    if ev.source == "c2pa" and ev.scope in ("parent", "component"):
        scope_note = f" (declared in an ingredient's manifest: {ev.location})"
        if ev.scope == "component" and indicates == "ai-generated":
            # An AI-made part placed into another image makes the result AI-edited.
            indicates = "ai-edited"
    generator = rule.generator
    model = _extract(rule.model, ev)
    version = _extract(rule.version, ev)
    shown = ev.value if len(ev.value) <= 300 else ev.value[:297] + "..."
    names = _Blank(value=shown, generator=generator or "", model=model or "", version=version or "", field=ev.field)
    template = rule.message
    if "({value})" in template:
        # "names Draw Things (Draw Things)": a value the sentence already says is not repeated.
        before = template.split("({value})", 1)[0].format_map(names)
        if shown.strip() and shown.strip().lower() in before.lower():
            template = template.replace(" ({value})", "", 1).replace("({value})", "", 1)
    message = template.format_map(names)
    return Finding(
        rule=rule.id,
        title=rule.title,
        source=ev.source,
        field=ev.field,
        value=ev.value,
        location=ev.location,
        scope=ev.scope,
        indicates=indicates,
        strength=rule.strength,
        message=message + scope_note,
        reference=rule.reference,
        generator=generator,
        model=model,
        version=version,
    )


# Per rule set (keyed by the identity of its rules tuple, which the entry
# keeps alive): (source, field) -> the rules, in order, with a ``where``
# that accepts it. ``Where.accepts`` looks at nothing else, so each rule's
# ``where`` is tried once per field name rather than once per item.
_BY_FIELD: dict[int, tuple[tuple[Rule, ...], dict[tuple[str, str], tuple[Rule, ...]]]] = {}


def _rules_by_field(rules: RuleSet) -> dict[tuple[str, str], tuple[Rule, ...]]:
    entry = _BY_FIELD.get(id(rules.rules))
    if entry is None or entry[0] is not rules.rules:
        if len(_BY_FIELD) >= 8:
            _BY_FIELD.clear()
        entry = _BY_FIELD[id(rules.rules)] = (rules.rules, {})
    if len(entry[1]) > 8192:  # field names come from files: keep the index bounded
        entry[1].clear()
    return entry[1]


def match(evidence: Iterable[Evidence], rules: RuleSet) -> tuple[Finding, ...]:
    """Every (rule, evidence) match as a finding, plus cross-checks."""
    findings: list[Finding] = []
    seen: set[tuple[str, ...]] = set()
    by_field = _rules_by_field(rules)
    for ev in evidence:
        where = (ev.source, ev.field)
        candidates = by_field.get(where)
        if candidates is None:
            candidates = by_field[where] = tuple(r for r in rules.rules if any(w.accepts(ev) for w in r.where))
        for rule in candidates:
            if _value_matches(rule, ev):
                # One finding per fact: fields that state the same fact share ``ev.fact``.
                key = (rule.id, ev.fact) if ev.fact else (rule.id, ev.field, ev.value, ev.location)
                if key not in seen:
                    seen.add(key)
                    findings.append(_finding(rule, ev))
    findings.extend(cross_check(findings))
    return tuple(findings)


_AI = frozenset({"ai-generated", "ai-edited"})
_NOT_AI = frozenset({"captured", "not-ai"})


def cross_check(findings: list[Finding]) -> Iterator[Finding]:
    """Report disagreement between signed credentials and unsigned metadata."""
    by_source: dict[str, set[str]] = {}
    for f in findings:
        if f.strength == "declared" and (f.source != "c2pa" or f.scope == "active"):
            by_source.setdefault(f.source, set()).add(f.indicates)
    c2pa = by_source.get("c2pa", set())
    for other, said in sorted(by_source.items()):
        if other == "c2pa":
            continue
        if (c2pa & _AI and said & _NOT_AI) or (c2pa & _NOT_AI and said & _AI):
            yield Finding(
                rule="CONFLICT-001",
                title="Content Credentials and unsigned metadata disagree",
                source="heuristic",
                field=f"c2pa vs {other}",
                value=f"c2pa: {', '.join(sorted(c2pa))}; {other}: {', '.join(sorted(said))}",
                location="whole file",
                scope="file",
                indicates="info",
                strength="weak",
                message=(
                    f"The signed Content Credentials say {', '.join(sorted(c2pa))} but the {other} metadata says "
                    f"{', '.join(sorted(said))}; one of them was edited after the fact."
                ),
                reference="https://iptc.org/std/photometadata/documentation/userguide/#_digital_source_type",
            )


if __name__ == "__main__":
    print(f"wrote {write_snapshot()}")
