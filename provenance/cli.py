"""The ``provenance`` command: a thin layer over :mod:`provenance.api`.

Exit codes (also in ``--help`` and the README):

* 0: every file analysed and none flagged;
* 1: at least one file flagged (verdict ai-generated or ai-edited, or
  Content Credentials invalid);
* 2: usage error, or at least one file could not be analysed (wins over 1).
"""

# No "from __future__ import annotations": Typer would then evaluate every
# annotation string of every command with eval() at each start (~10 ms).

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
from provenance.limits import DEFAULT_LIMITS

HELP = """Does an image, video or audio file declare, or betray, generation or editing by AI? Reads
Content Credentials (C2PA), XMP/IPTC, EXIF, PNG text, JPEG comments and video/audio container tags,
offline.

Exit codes: 0 none flagged; 1 at least one file flagged (ai-generated, ai-edited,
or invalid credentials); 2 usage error or a file could not be analysed."""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None)


class Format(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    html = "html"


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
    _collect_from_now_on()  # runs before every command


def _fail(message: str) -> typer.Exit:
    from provenance.render.safe import visible

    typer.echo(f"provenance: error: {visible(message)}", err=True)
    return typer.Exit(exitcodes.ERROR)


def load_config(path: Path | None) -> dict[str, Any]:
    """Settings from ``--config`` or ``$XDG_CONFIG_HOME/provenance/config.toml``."""
    if path is None:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        candidate = base / "provenance" / "config.toml"
        if not candidate.is_file():
            return {}  # the usual case: no TOML parser to load (~4 ms of every start)
        path = candidate
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
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
    from provenance.api import MissingExtraError, make_options
    from provenance.match import RuleError

    conf = load_config(config)
    anchors = [Path(p) for p in conf.get("trust_anchors", [])] + list(trust_anchors or [])
    rule_dirs = [Path(p) for p in conf.get("rules", [])] + list(rules or [])
    limits = DEFAULT_LIMITS
    chosen_timeout = timeout if timeout is not None else conf.get("timeout")
    if chosen_timeout is not None:
        where = "--timeout" if timeout is not None else "config setting timeout"
        if isinstance(chosen_timeout, bool) or not isinstance(chosen_timeout, (int, float)):
            raise _fail(f"{where} must be a number of seconds (got {chosen_timeout!r})")
        if not 0 < float(chosen_timeout) < float("inf"):
            raise _fail(f"{where} must be a positive number of seconds (got {chosen_timeout})")
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
    except MissingExtraError as exc:  # before any file is read, as serve does for its extra
        raise _fail(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from None
    return options, conf


def chosen_jobs(jobs: int | None, conf: dict[str, Any]) -> int | None:
    """The worker count from ``--jobs`` or the config's ``jobs``; ``None``: every core.

    ``check`` and ``scan`` both refuse 0 and negative counts the same way.
    """
    if jobs is not None:
        if jobs < 1:
            raise _fail(f"--jobs must be at least 1 (got {jobs}); leave it out to use every core")
        return jobs
    value = conf.get("jobs")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(f"config setting jobs must be a whole number of at least 1 (got {value!r})")
    return value


def _collect_from_now_on() -> None:
    """Switch the garbage collector back on if the entry point turned it off.

    What start-up made (modules, Typer's command tree) is frozen first: it
    lives until exit, and the collector need not walk it again, nor worker
    processes copy its pages by touching it.
    """
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def tasks_for(paths: list[str], max_bytes: int) -> tuple[list[Any], list[tuple[int, Any]]]:
    """Tasks to schedule, and reports for entries that cannot be checked."""
    from provenance.batch import Task, failed
    from provenance.scan import ScanError, require_stores, walk_inputs
    from provenance.storage import is_url

    tasks: list[Task] = []
    early: list[tuple[int, Any]] = []
    try:  # a store URL without its extra: exit 2 before anything is read
        require_stores([p for p in paths if is_url(p)])
    except ScanError as exc:
        raise _fail(str(exc)) from None
    for index, entry in enumerate(walk_inputs(paths)):
        if entry.remote is not None:
            tasks.append(Task(index, entry.path, remote=entry.remote))
        elif entry.error_kind:
            early.append((index, failed(entry.path, entry.error_kind, entry.error or entry.error_kind)))
        elif entry.path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
            if len(data) > max_bytes:
                early.append((index, failed("-", "limit-exceeded", "standard input is over the file size limit")))
            else:
                tasks.append(Task(index, "-", data))
        else:
            tasks.append(Task(index, entry.path, found=entry.found))
    return tasks, early


def exit_code(reports: list[Any]) -> int:
    if any(r.verdict == "error" for r in reports):
        return exitcodes.ERROR
    if any(r.flagged for r in reports):
        return exitcodes.FLAGGED
    return exitcodes.OK


def run_checks(tasks: list[Any], early: list[tuple[int, Any]], options: Any, jobs: int | None) -> Iterator[Any]:
    """Reports in input order, checked with a local process pool."""
    from provenance.batch import LocalPool, default_jobs, ordered

    def results() -> Iterator[tuple[int, Any]]:
        yield from early
        if tasks:
            pool = LocalPool(options, jobs=min(jobs or default_jobs(), len(tasks)))
            yield from pool.run(tasks)

    return ordered(results())


PathsArg = Annotated[list[str], typer.Argument(help="Files or folders (walked recursively), or - for stdin.")]
TrustOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--trust-anchors", help="Extra PEM bundle of trust anchors (repeatable)."),
]
RulesOpt = Annotated[Optional[list[Path]], typer.Option("--rules", help="Folder of extra rule files (repeatable).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Config file (TOML).")]
NoDefaultTrustOpt = Annotated[bool, typer.Option("--no-default-trust", help="Do not use the shipped C2PA trust lists.")]
AllowNetworkOpt = Annotated[
    bool, typer.Option("--allow-network", help="Allow fetching remote manifests and OCSP (off by default).")
]
FragmentsOpt = Annotated[
    bool,
    typer.Option(
        "--fragments",
        help="Validate a DASH/CMAF init segment with the .m4s fragments in its folder (read alone, its "
        "Content Credentials cannot be validated).",
    ),
]
WatermarksOpt = Annotated[
    bool,
    typer.Option(
        "--watermarks",
        help="Also decode pixels to look for invisible watermarks "
        "(needs the watermarks extra: pip install 'provenance[watermarks]').",
    ),
]
TimeoutOpt = Annotated[
    Optional[float],
    typer.Option("--timeout", help=f"Seconds allowed per file (default: {DEFAULT_LIMITS.timeout:g})."),
]
JobsOpt = Annotated[
    Optional[int], typer.Option("--jobs", "-j", help="Worker processes, at least 1 (default: every core).")
]

OutOpt = Annotated[
    Optional[Path], typer.Option("--out", "-o", help="Write the output to this file instead of standard output.")
]
ThumbnailsOpt = Annotated[
    bool,
    typer.Option("--thumbnails", help="html: embed small previews of the images, blurred until clicked (off: none)."),
]


def _default_format(out: Path | None) -> Format:
    if out is None or str(out) == "-":
        return Format.text if sys.stdout.isatty() else Format.json
    suffix = out.suffix.lower()
    return Format.html if suffix in (".html", ".htm") else Format.jsonl if suffix == ".jsonl" else Format.json


def _refuse_overwriting_inputs(out: Path | None, inputs: list[str]) -> None:
    """Exit 2, before anything is written, if ``--out`` would overwrite an input (or any image)."""
    from provenance.paths import output_clash

    if out is not None and str(out) != "-":
        clash = output_clash(str(out), inputs)
        if clash is not None:
            raise _fail(clash)


def _output(out: Path | None) -> Any:
    """A context manager giving the stream to write to: ``--out`` or standard output."""
    import contextlib

    # Renderers for people escape what a file says (provenance.render.safe); a
    # terminal that cannot show some character gets an escape for it, not an error.
    if out is None or str(out) == "-":
        reconfigure = getattr(sys.stdout, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
        return contextlib.nullcontext(sys.stdout)
    try:
        return open(out, "w", encoding="utf-8", errors="backslashreplace", newline="\n")
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None


def html_report(reports: list[dict[str, Any]], thumbnails: bool, title: str | None = None) -> str:
    """The HTML report of report dictionaries, with previews read from disk if asked."""
    from provenance.render.html import DEFAULT_TITLE, render_html, thumbnails_for

    previews = thumbnails_for(reports) if thumbnails else None
    return render_html(reports, thumbnails=previews, title=title or DEFAULT_TITLE)


@app.command()
def check(
    paths: PathsArg,
    format: Annotated[
        Optional[Format],
        typer.Option(
            "--format", "-f", help="text (default on a terminal), json, jsonl or html (a self-contained page)."
        ),
    ] = None,
    trust_anchors: TrustOpt = None,
    no_default_trust: NoDefaultTrustOpt = False,
    rules: RulesOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the manifest tree and every field.")] = False,
    allow_network: AllowNetworkOpt = False,
    watermarks: WatermarksOpt = False,
    timeout: TimeoutOpt = None,
    jobs: JobsOpt = None,
    config: ConfigOpt = None,
    out: OutOpt = None,
    thumbnails: ThumbnailsOpt = False,
    fragments: FragmentsOpt = False,
) -> None:
    """Check images and explain, for each, whether it declares or betrays AI.

    \b
    Exit codes:
      0  every file analysed, none flagged
      1  at least one file flagged (ai-generated, ai-edited, or invalid credentials)
      2  usage error, or at least one file could not be analysed (wins over 1)
    """
    options, conf = build_options(config, trust_anchors, no_default_trust, rules, allow_network, watermarks, timeout)
    options = replace(options, fragments=fragments)
    workers = chosen_jobs(jobs, conf)
    fmt = format or _default_format(out)
    if thumbnails and fmt is not Format.html:
        raise _fail("--thumbnails only applies to --format html")
    _refuse_overwriting_inputs(out, paths)
    tasks, early = tasks_for(paths, options.limits.max_file_bytes)
    if not tasks and not early:
        raise _fail("no files to check")
    reports: list[Any] = []
    broken: list[str] = []  # reports written as errors because they could not be converted
    with _output(out) as sink:
        stream = run_checks(tasks, early, options, workers)
        if fmt is Format.text:
            from rich.console import Console

            from provenance.render.text import render, render_counts

            console = Console(file=sink) if sink is not sys.stdout else Console()
            for report in stream:
                reports.append(report)
                try:
                    render(report, console, verbose)
                except Exception as exc:  # one report that cannot be shown must not cost the others
                    _unshown(report, exc, console)
            if len(reports) > 1:
                render_counts(reports, console)
        elif fmt is Format.jsonl:
            for report in stream:
                reports.append(report)
                sink.write(json.dumps(_as_dict(report, verbose, broken)) + "\n")
                sink.flush()
        elif fmt is Format.html:
            reports = list(stream)
            sink.write(html_report([_as_dict(r, verbose, broken) for r in reports], thumbnails))
        else:
            reports = list(stream)
            json.dump([_as_dict(r, verbose, broken) for r in reports], sink, indent=2)
            sink.write("\n")
    raise typer.Exit(exitcodes.ERROR if broken else exit_code(reports))


def _as_dict(report: Any, verbose: bool, broken: list[str]) -> dict[str, Any]:
    """``report.to_dict``; a report that cannot be converted becomes an error record for its file
    (its path is added to ``broken``)."""
    try:
        return dict(report.to_dict(verbose))
    except Exception as exc:
        from provenance.batch import failed

        broken.append(report.path)
        message = f"the report could not be written ({type(exc).__name__}: {exc}); its verdict was {report.verdict}"
        return dict(failed(report.path, "internal-error", message).to_dict())


def _unshown(report: Any, exc: Exception, console: Any) -> None:
    from rich.text import Text

    from provenance.render.safe import visible_line

    line = (
        f"{report.path}: verdict {report.verdict}, but its report could not be shown "
        f"({type(exc).__name__}: {exc}); --format json has it in full"
    )
    console.print(Text(visible_line(line), style="red"), soft_wrap=True)


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


# --- scan: batch triage for moderators and scripts (see provenance/scan.py) ---


class ScanFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    json = "json"


@app.command()
def scan(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Files or folders (walked recursively).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write records here (default stdout).")] = None,
    format: Annotated[ScanFormat, typer.Option("--format", "-f", help="jsonl (default), csv or json.")] = (
        ScanFormat.jsonl
    ),
    jobs: JobsOpt = None,
    fail_on: Annotated[
        Optional[str],
        typer.Option(
            "--fail-on",
            help="Comma list of verdicts and/or 'invalid' giving exit code 1 (default ai-generated,ai-edited,invalid).",
        ),
    ] = None,
    only_flagged: Annotated[
        bool, typer.Option("--only-flagged", help="Write only flagged files (the summary counts all).")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip files already in --out (same path, size, mtime); append.")
    ] = False,
    files_from: Annotated[
        Optional[str], typer.Option("--files-from", help="Read paths from this list file, or - for stdin.")
    ] = None,
    null: Annotated[bool, typer.Option("-0", "--null", help="The --files-from list is NUL-separated.")] = False,
    follow_links: Annotated[
        bool,
        typer.Option(
            "--follow-links", help="Follow a symbolic link named in the --files-from list (off: reported, not read)."
        ),
    ] = False,
    timeout: TimeoutOpt = None,
    summary_json: Annotated[
        Optional[Path], typer.Option("--summary-json", help="Also write the summary as JSON here.")
    ] = None,
    trust_anchors: TrustOpt = None,
    no_default_trust: NoDefaultTrustOpt = False,
    rules: RulesOpt = None,
    allow_network: AllowNetworkOpt = False,
    watermarks: WatermarksOpt = False,
    config: ConfigOpt = None,
    fragments: FragmentsOpt = False,
    scheduler: Annotated[
        str,
        typer.Option(
            "--scheduler",
            help="Where checks run: local (default: processes on this machine, --jobs of them) or "
            "dask://HOST:PORT (also tcp:// or tls://HOST:PORT), an existing Dask cluster's scheduler; "
            "needs provenance[dask], and the workers' settings in the README.",
        ),
    ] = "local",
    dask_scheduler_file: Annotated[
        Optional[Path],
        typer.Option(
            "--dask-scheduler-file",
            help="Run on the Dask cluster whose scheduler wrote this file (dask scheduler --scheduler-file); "
            "default: none.",
        ),
    ] = None,
) -> None:
    """Check many files, streaming one record per file as each finishes; resumable.

    Progress and a summary go to stderr on a terminal; otherwise stderr gets
    only per-file errors.

    \b
    Exit codes:
      0    every file analysed, none flagged
      1    at least one file flagged (--fail-on; default ai-generated, ai-edited, invalid)
      2    usage error, or at least one file could not be analysed (wins over 1)
      130  after Ctrl-C (143 after SIGTERM), with the output left valid
    """
    from provenance.scan import DEFAULT_FAIL_ON, ScanConfig, ScanError, parse_fail_on, run_scan

    options, conf = build_options(config, trust_anchors, no_default_trust, rules, allow_network, watermarks, timeout)
    options = replace(options, fragments=fragments)
    workers = chosen_jobs(jobs, conf)
    try:
        chosen = DEFAULT_FAIL_ON if fail_on is None else parse_fail_on(fail_on)
        settings = ScanConfig(
            paths=tuple(paths or ()),
            out=out,
            fmt=format.value,
            jobs=workers,
            fail_on=chosen,
            only_flagged=only_flagged,
            resume=resume,
            files_from=files_from,
            nul=null,
            follow_links=follow_links,
            summary_json=summary_json,
            scheduler=scheduler,
            scheduler_file=dask_scheduler_file,
        )
        summary = run_scan(settings, options)
    except ScanError as exc:
        raise _fail(str(exc)) from None
    import gc

    gc.freeze()  # about to exit: spare the interpreter collecting every object on the way out (~0.1 s)
    raise typer.Exit(summary.exit_code)


# --- report and serve: pages for people (see provenance/render/html.py and provenance/serve.py) ---


def load_results(path: Path) -> list[dict[str, Any]]:
    """Report dictionaries from a JSONL file (one per line) or a JSON array; ``-`` reads stdin."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise _fail(f"{path}: not valid JSON: {exc}") from None
        numbered = list(enumerate(items if isinstance(items, list) else [], 1))
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except ValueError as exc:
                raise _fail(f"{path}:{number}: not a JSON object: {exc}") from None
    reports: list[dict[str, Any]] = []
    for number, item in numbered:
        if not isinstance(item, dict) or "verdict" not in item or "path" not in item:
            raise _fail(f"{path}: record {number} is not a provenance report (no path and verdict)")
        reports.append(item)
    return reports


@app.command("report")
def report_page(
    results: Annotated[Path, typer.Argument(help="Results of check or scan: JSONL, or a JSON array; - for stdin.")],
    out: OutOpt = None,
    thumbnails: ThumbnailsOpt = False,
    title: Annotated[Optional[str], typer.Option("--title", help="Title of the page.")] = None,
) -> None:
    """Make a self-contained HTML report from saved results (nothing is checked again)."""
    _refuse_overwriting_inputs(out, [str(results)])
    reports = load_results(results)
    page = html_report(reports, thumbnails, title)
    with _output(out) as sink:
        sink.write(page)


@app.command("serve")
def serve_page(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on: loopback unless --allow-non-loopback.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 picks a free one (the real one is printed).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="Largest upload accepted, in MB.")] = 100.0,
    thumbnails: Annotated[
        bool, typer.Option("--thumbnails", help="Show small previews of the uploads, blurred until clicked.")
    ] = False,
    allow_non_loopback: Annotated[
        bool,
        typer.Option(
            "--allow-non-loopback", help="Let --host be an address other computers can reach (prints a warning)."
        ),
    ] = False,
    trust_anchors: TrustOpt = None,
    no_default_trust: NoDefaultTrustOpt = False,
    rules: RulesOpt = None,
    watermarks: WatermarksOpt = False,
    timeout: TimeoutOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A private page on this computer: drop images on it to check them (needs provenance[serve])."""
    try:
        from provenance import serve
    except ImportError as exc:
        raise _fail(f"serve needs the optional extra: pip install 'provenance[serve]' ({exc})") from None
    if not 0 <= port <= 65535:
        raise _fail("--port must be between 0 and 65535")
    if not max_upload_mb > 0:
        raise _fail("--max-upload-mb must be positive")
    loopback = serve.is_loopback(host)
    if not loopback and not allow_non_loopback:
        raise _fail(
            f"refusing to listen on {host}: it is not a loopback address, so other computers could reach the page; "
            "add --allow-non-loopback if that is what you want"
        )
    options, _ = build_options(config, trust_anchors, no_default_trust, rules, False, watermarks, timeout)
    try:
        sock = serve.bind(host, port)
    except OSError as exc:
        raise _fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    if not loopback:
        typer.echo(
            f"provenance serve: WARNING: listening on {host}, reachable from other computers; anyone who has "
            "the token can upload images to this process. Traffic is not encrypted.",
            err=True,
        )
    serve.run(
        sock,
        options,
        max_upload_bytes=int(max_upload_mb * 1024**2),
        thumbnails=thumbnails,
        open_browser=open_browser,
        non_loopback=not loopback,
    )


def main() -> None:
    """Console-script entry point: an unexpected failure exits 2, never 1 ("flagged")."""
    import gc

    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        typer.echo("provenance: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # Typer vendors click: recognise its usage errors by shape, not class.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
        elif type(exc).__name__ == "Abort":
            typer.echo("provenance: interrupted", err=True)
            sys.exit(130)
        else:
            from provenance.render.safe import visible_line

            typer.echo(f"provenance: internal error: {type(exc).__name__}: {visible_line(str(exc))}", err=True)
        sys.exit(exitcodes.ERROR)
    gc.freeze()  # skip the collector's work at interpreter exit
    sys.exit(code if isinstance(code, int) else exitcodes.OK)


if __name__ == "__main__":
    main()
