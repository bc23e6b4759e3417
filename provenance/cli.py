"""The ``provenance`` command: a thin layer over :mod:`provenance.api`.

Exit codes (also in ``--help`` and the README):

* 0: every file analysed and none flagged;
* 1: at least one file flagged (verdict ai-generated or ai-edited, or
  Content Credentials invalid);
* 2: usage error, or at least one file could not be analysed (wins over 1).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from provenance import __version__, exitcodes

HELP = """Does an image declare, or betray, generation or editing by AI? Reads Content
Credentials (C2PA), XMP/IPTC, EXIF, PNG text and JPEG comments, offline.

Exit codes: 0 none flagged; 1 at least one file flagged (ai-generated, ai-edited,
or invalid credentials); 2 usage error or a file could not be analysed."""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None)


class Format(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


def _version(value: bool) -> None:
    if value:
        from provenance.read.c2pa import library_version

        typer.echo(f"provenance {__version__} (c2pa library {library_version()})")
        raise typer.Exit(exitcodes.OK)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print versions and exit.")
    ] = False,
) -> None:
    """Root options."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"provenance: error: {message}", err=True)
    return typer.Exit(exitcodes.ERROR)


def load_config(path: Path | None) -> dict[str, Any]:
    """Settings from ``--config`` or ``$XDG_CONFIG_HOME/provenance/config.toml``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if path is None:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        candidate = base / "provenance" / "config.toml"
        if not candidate.is_file():
            return {}
        path = candidate
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _fail(f"config file {path}: {exc}") from None
    known = {"trust_anchors", "default_trust", "rules", "allow_network", "watermarks", "timeout", "jobs"}
    unknown = set(data) - known
    if unknown:
        raise _fail(f"config file {path}: unknown settings {sorted(unknown)} (known: {sorted(known)})")
    return data


def build_options(
    config: Path | None,
    trust_anchors: list[Path] | None,
    no_default_trust: bool,
    rules: list[Path] | None,
    allow_network: bool,
    watermarks: bool,
    timeout: float | None,
) -> tuple[Any, dict[str, Any]]:
    from provenance.api import make_options
    from provenance.limits import DEFAULT_LIMITS
    from provenance.match import RuleError

    conf = load_config(config)
    anchors = [Path(p) for p in conf.get("trust_anchors", [])] + list(trust_anchors or [])
    rule_dirs = [Path(p) for p in conf.get("rules", [])] + list(rules or [])
    limits = DEFAULT_LIMITS
    chosen_timeout = timeout if timeout is not None else conf.get("timeout")
    if chosen_timeout is not None:
        if float(chosen_timeout) <= 0:
            raise _fail("--timeout must be positive")
        limits = replace(limits, timeout=float(chosen_timeout))
    for pem in anchors:
        if not pem.is_file():
            raise _fail(f"trust anchors file not found: {pem}")
    try:
        options = make_options(
            trust_anchors=anchors,
            default_trust=not no_default_trust and bool(conf.get("default_trust", True)),
            rules_dirs=rule_dirs,
            allow_network=allow_network or bool(conf.get("allow_network", False)),
            watermarks=watermarks or bool(conf.get("watermarks", False)),
            limits=limits,
        )
    except RuleError as exc:
        raise _fail(f"bad rule file: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from None
    return options, conf


def tasks_for(paths: list[str], max_bytes: int) -> tuple[list[Any], list[tuple[int, Any]]]:
    """Tasks to schedule, and reports for entries that cannot be checked."""
    from provenance.batch import Task, failed
    from provenance.paths import walk

    tasks: list[Task] = []
    early: list[tuple[int, Any]] = []
    for index, entry in enumerate(walk(paths)):
        if entry.error_kind:
            early.append((index, failed(entry.path, entry.error_kind, entry.error or entry.error_kind)))
        elif entry.path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
            if len(data) > max_bytes:
                early.append((index, failed("-", "limit-exceeded", "standard input is over the file size limit")))
            else:
                tasks.append(Task(index, "-", data))
        else:
            tasks.append(Task(index, entry.path))
    return tasks, early


def exit_code(reports: list[Any]) -> int:
    if any(r.verdict == "error" for r in reports):
        return exitcodes.ERROR
    if any(r.flagged for r in reports):
        return exitcodes.FLAGGED
    return exitcodes.OK


def run_checks(tasks: list[Any], early: list[tuple[int, Any]], options: Any, jobs: int | None) -> Iterator[Any]:
    """Reports in input order, checked with a local process pool."""
    from provenance.batch import LocalPool, ordered

    def results() -> Iterator[tuple[int, Any]]:
        yield from early
        if tasks:
            pool = LocalPool(options, jobs=min(jobs or os.cpu_count() or 1, len(tasks)))
            yield from pool.run(tasks)

    return ordered(results())


PathsArg = Annotated[list[str], typer.Argument(help="Files or folders (walked recursively), or - for stdin.")]
TrustOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--trust-anchors", help="Extra PEM bundle of trust anchors (repeatable)."),
]
RulesOpt = Annotated[Optional[list[Path]], typer.Option("--rules", help="Folder of extra rule files (repeatable).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Config file (TOML).")]


@app.command()
def check(
    paths: PathsArg,
    format: Annotated[
        Optional[Format], typer.Option("--format", "-f", help="text (default on a terminal), json or jsonl.")
    ] = None,
    trust_anchors: TrustOpt = None,
    no_default_trust: Annotated[
        bool, typer.Option("--no-default-trust", help="Do not use the shipped C2PA trust lists.")
    ] = False,
    rules: RulesOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the manifest tree and every field.")] = False,
    allow_network: Annotated[
        bool, typer.Option("--allow-network", help="Allow fetching remote manifests and OCSP (off by default).")
    ] = False,
    watermarks: Annotated[
        bool, typer.Option("--watermarks", help="Also decode pixels to look for invisible watermarks.")
    ] = False,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds allowed per file.")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Check images and explain, for each, whether it declares or betrays AI."""
    options, conf = build_options(config, trust_anchors, no_default_trust, rules, allow_network, watermarks, timeout)
    fmt = format or (Format.text if sys.stdout.isatty() else Format.json)
    tasks, early = tasks_for(paths, options.limits.max_file_bytes)
    if not tasks and not early:
        raise _fail("no files to check")
    reports: list[Any] = []
    stream = run_checks(tasks, early, options, jobs or conf.get("jobs"))
    if fmt is Format.text:
        from rich.console import Console

        from provenance.render.text import render

        console = Console()
        for report in stream:
            reports.append(report)
            render(report, console, verbose)
    elif fmt is Format.jsonl:
        for report in stream:
            reports.append(report)
            sys.stdout.write(json.dumps(report.to_dict(verbose)) + "\n")
            sys.stdout.flush()
    else:
        reports = list(stream)
        json.dump([r.to_dict(verbose) for r in reports], sys.stdout, indent=2)
        sys.stdout.write("\n")
    raise typer.Exit(exit_code(reports))


@app.command("rules")
def list_rules(
    rules: RulesOpt = None,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="text or json.")] = None,
) -> None:
    """List every rule: id, what it indicates, strength and title."""
    from provenance.match import RuleError, load_rules

    try:
        ruleset = load_rules(rules or [])
    except RuleError as exc:
        raise _fail(f"bad rule file: {exc}") from None
    if format in (Format.json, Format.jsonl):
        json.dump([r.to_dict() for r in ruleset.rules], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(ruleset.rules)} rules (digest {ruleset.digest})")
    for column in ("id", "indicates", "strength", "title", "file"):
        table.add_column(column)
    for rule in ruleset.rules:
        table.add_row(rule.id, rule.indicates, rule.strength, rule.title, rule.file)
    Console().print(table)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
