"""The terminal report: one rich panel per file."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from provenance.evidence import Credentials, Manifest
from provenance.render.safe import visible, visible_line
from provenance.report import Report

VERDICT_STYLE = {
    "ai-generated": "bold white on red",
    "ai-edited": "bold black on dark_orange",
    "captured": "bold white on green4",
    "no-evidence": "bold black on grey70",
    "error": "bold white on purple4",
}
STATE_STYLE = {
    "trusted": "green",
    "valid": "cyan",
    "invalid": "red",
    "remote": "yellow",
    "none": "dim",
}
STRENGTH_STYLE = {"declared": "bold", "strong": "", "weak": "dim"}


def _credentials_table(credentials: Credentials) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    state = credentials.state
    table.add_row("Content Credentials", _t(state, STATE_STYLE.get(state, "")))
    active = credentials.active
    if active:
        table.add_row("Signer", _t(active.signer or "unknown"))
        table.add_row("Issuer", _t(active.issuer or "unknown"))
        table.add_row("Signed", _t(active.signing_time or "no trusted time"))
        table.add_row("Claim generator", _t(active.claim_generator or "unknown"))
    if credentials.trust_list:
        table.add_row("Trust list", _t(credentials.trust_list))
    if credentials.remote_url:
        table.add_row("Remote manifest", _t(f"{credentials.remote_url} (not fetched)"))
    if credentials.error:
        table.add_row("Error", _t(credentials.error, "red"))
    for status in credentials.validation:
        if status.kind == "failure":
            style = "yellow" if status.code == "signingCredential.untrusted" else "red"
            table.add_row(_t(status.code, style), _t(status.meaning))
    for manifest in credentials.manifests:
        for ingredient in manifest.ingredients:
            if ingredient.validation == "invalid":
                codes = ", ".join(f.code for f in ingredient.failures)
                table.add_row(
                    Text("ingredient failed", style="red"),
                    _t(f"{ingredient.title} ({ingredient.relationship}): {codes}"),
                )
    return table


def _findings_table(report: Report) -> Table:
    table = Table(show_lines=False, expand=True, title_justify="left")
    table.add_column("Rule", no_wrap=True)
    table.add_column("From", overflow="fold", ratio=2)
    table.add_column("Finding", overflow="fold", ratio=5)
    table.add_column("Indicates", no_wrap=True)
    table.add_column("Strength", no_wrap=True)
    for finding in report.findings:
        message = finding.message if len(finding.message) <= 240 else finding.message[:237] + "..."
        marker = "*" if finding.rule in report.decisive else ""
        table.add_row(
            _t(finding.rule + marker),
            _t(f"{finding.source}: {finding.field}"),
            _t(message),
            _t(finding.indicates),
            _t(finding.strength, STRENGTH_STYLE.get(finding.strength, "")),
        )
    return table


def _manifest_node(tree: Tree, manifest: Manifest, by_label: dict[str, Manifest], seen: set[str]) -> None:
    seen.add(manifest.label)
    node = tree.add(
        Text.assemble(
            (printable(manifest.label), "bold"),
            printable(
                f" ({manifest.scope}) signed by {manifest.signer or 'unknown'}"
                f" · {manifest.claim_generator or 'no claim generator'}"
            ),
        )
    )
    actions = node.add("actions")
    for action in manifest.actions:
        extra = ", ".join(
            x
            for x in (
                action.software_agent and f"agent {action.software_agent}",
                action.digital_source_type and f"source {action.digital_source_type.rsplit('/', 1)[-1]}",
            )
            if x
        )
        actions.add(_t(f"{action.action}{f' ({extra})' if extra else ''}"))
    for ingredient in manifest.ingredients:
        style = "red" if ingredient.validation == "invalid" else ""
        branch = node.add(
            _t(f"ingredient {ingredient.title} [{ingredient.relationship}] {ingredient.validation}", style)
        )
        for failure in ingredient.failures:
            branch.add(_t(f"{failure.code}: {failure.meaning}", "red"))
        child = by_label.get(ingredient.manifest or "")
        if child is not None and child.label not in seen:
            _manifest_node(branch, child, by_label, seen)


def manifest_tree(credentials: Credentials) -> Tree:
    """The manifest chain as a tree, like ``c2patool --tree``."""
    tree = Tree("manifest store")
    by_label = {m.label: m for m in credentials.manifests}
    seen: set[str] = set()
    active = credentials.active
    if active:
        _manifest_node(tree, active, by_label, seen)
    for manifest in credentials.manifests:
        if manifest.label not in seen:
            _manifest_node(tree, manifest, by_label, seen)
    return tree


def render(report: Report, console: Console, verbose: bool = False) -> None:
    verdict = Text(f" {printable(report.verdict.upper())} ", style=VERDICT_STYLE.get(report.verdict, "bold"))
    head = Text.assemble(verdict, "  confidence: ", (printable(report.confidence), "bold"))
    if report.media_type:
        head.append(printable(f"   {report.media_type}, {report.size} bytes"))
    parts: list[RenderableType] = [head, _t(report.summary)]
    if report.error:
        parts.append(_t(f"error ({report.error.kind}): {report.error.message}", "red"))
    else:
        parts.append(_credentials_table(report.credentials))
        if report.findings:
            parts.append(_findings_table(report))
        else:
            parts.append(Text("No findings.", style="dim"))
    for issue in report.issues:
        parts.append(_t(f"note ({issue.kind}, {issue.source}): {issue.message}", "yellow"))
    if verbose:
        if report.credentials.manifests:
            parts.append(manifest_tree(report.credentials))
        if report.raw:
            raw = Table(title="Metadata fields read", expand=True)
            raw.add_column("Source")
            raw.add_column("Field")
            raw.add_column("Value", overflow="fold")
            for field in report.raw:
                raw.add_row(_t(field.source), _t(field.field), _t(field.value[:300]))
            parts.append(raw)
        parts.append(_t(f"readers: {', '.join(report.readers) or 'none'}; sha256 {report.sha256}", "dim"))
    console.print(Panel(Group(*parts), title=Text(printable_path(report.path), style="bold"), title_align="left"))


def printable_path(path: str) -> str:
    """A path as a terminal can show it, on one line (see :func:`provenance.render.safe.visible`)."""
    return visible_line(path)


def printable(value: str, keep_newlines: bool = True) -> str:
    """Text from a file made safe for a terminal (see :func:`provenance.render.safe.visible`)."""
    return visible(value, newlines=keep_newlines)


def _t(value: object, style: str = "") -> Text:
    """Report data as plain text: never parsed as rich markup."""
    return Text(printable(str(value)), style=style)
