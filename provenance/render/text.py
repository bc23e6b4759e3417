"""The terminal report: one rich panel per file."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from provenance.evidence import Credentials, Manifest
from provenance.read.c2pa_codes import assess, trust_note
from provenance.read.media import FRAGMENTS_NEEDED
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

#: Longest finding message shown in the table; longer ones are cut at a word boundary.
MESSAGE_CHARS = 240
#: Longest metadata value shown under ``--verbose``.
VALUE_CHARS = 300
#: What the mark after a rule id means, under the findings table.
DECISIVE_NOTE = "* decisive: this finding decided the verdict"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near, with "...".

    A value with no space in its last third (a URL, a hash) is cut where the
    limit falls.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= (limit * 2) // 3:
        cut = cut[:space]
    return cut.rstrip(" \n\t,;:") + "..."


def plural(count: int, noun: str) -> str:
    """``1 byte``, ``2 bytes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


#: How each failure family reads in the panel (the summary says it in full).
FAMILY_WORDS = {
    "content-changed": "content changed after signing",
    "claim-altered": "the manifest was altered after signing",
    "malformed": "the manifest is malformed",
    "credential": "the signing certificate cannot be relied on",
    "ingredient": "an ingredient's credentials failed",
}


def _signed(credentials: Credentials, active: Manifest) -> str:
    """The Signed row: a time only when a time-stamp vouches for it."""
    stamped = any(v.code == "timeStamp.validated" and v.kind == "success" for v in credentials.validation)
    if active.signing_time:
        return f"{active.signing_time} ({'trusted time-stamp' if stamped else 'time-stamp'})"
    return "no time-stamp: when it was signed is not proven"


def _credentials_table(credentials: Credentials, checked: bool = True) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    state = credentials.state
    shown = state if checked else "not checked (the check failed)" if state == "none" else f"{state} (the check failed)"
    table.add_row("Content Credentials", _t(shown, STATE_STYLE.get(state, "") if checked else "yellow"))
    if credentials.note:
        table.add_row("Note", _t(credentials.note))
    assessment = assess(credentials)
    if state == "invalid" and credentials.note == FRAGMENTS_NEEDED:
        table.add_row("Failure", _t("not validated: the fragments are needed", "yellow"))
    elif state == "invalid" and assessment.family:
        table.add_row("Failure", _t(FAMILY_WORDS.get(assessment.family, assessment.family), "red"))
    if state in ("invalid", "valid", "trusted") and assessment.content_unchanged:
        table.add_row("Content", _t("unchanged since signing ({})".format(", ".join(assessment.hash_codes))))
    active = credentials.active
    if active:
        table.add_row("Signer", _t(active.signer or "unknown"))
        table.add_row("Issuer", _t(active.issuer or "unknown"))
        table.add_row("Signed", _t(_signed(credentials, active)))
        table.add_row("Claim generator", _t(active.claim_generator or "unknown"))
    if credentials.trust_list:
        table.add_row("Trust list", _t(credentials.trust_list))
    why_not = trust_note(credentials, assessment)
    if why_not:
        table.add_row("Not trusted", _t(why_not, "yellow"))
    if credentials.remote_url:
        table.add_row("Remote manifest", _t(f"{credentials.remote_url} (not fetched)"))
    if credentials.error:
        table.add_row("Error", _t(credentials.error, "red"))
    for status in credentials.validation:
        if status.code == "signingCredential.untrusted" and why_not:
            continue  # the "Not trusted" row says it, naming the signer
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
    decisive = any(finding.rule in report.decisive for finding in report.findings)
    table = Table(
        show_lines=False,
        expand=True,
        title_justify="left",
        caption=DECISIVE_NOTE if decisive else None,
        caption_justify="left",
        caption_style="dim",
    )
    table.add_column("Rule", no_wrap=True)
    table.add_column("From", overflow="fold", ratio=2)
    table.add_column("Finding", overflow="fold", ratio=5)
    table.add_column("Indicates", no_wrap=True)
    table.add_column("Strength", no_wrap=True)
    for finding in report.findings:
        message = shorten(finding.message, MESSAGE_CHARS)
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


def _head(report: Report) -> Text:
    """The first line: verdict, confidence (none for an error: nothing was judged), type and size."""
    verdict = Text(f" {printable(report.verdict.upper())} ", style=VERDICT_STYLE.get(report.verdict, "bold"))
    if report.error:
        head = Text.assemble(verdict, "  error kind: ", (printable(report.error.kind), "bold"))
    else:
        head = Text.assemble(verdict, "  confidence: ", (printable(report.confidence), "bold"))
    if report.media_type:
        size = f", {plural(report.size, 'byte')}" if report.size is not None else ""
        head.append(printable(f"   {report.media_type}{size}"))
    return head


def render(report: Report, console: Console, verbose: bool = False) -> None:
    parts: list[RenderableType] = [_head(report), _t(report.summary)]
    issues = report.issues
    if report.error:
        message = report.error.message
        if message not in report.summary:  # the summary usually states it already: say it once
            parts.append(_t(message, "red"))
        issues = tuple(i for i in issues if i.message not in message and i.message not in report.summary)
    else:
        checked = not any(i.kind == "reader-failed" and i.source == "c2pa" for i in report.issues)
        parts.append(_credentials_table(report.credentials, checked))
        if report.findings:
            parts.append(_findings_table(report))
        else:
            parts.append(Text("No findings.", style="dim"))
    # A note the panel already states (the summary's reader failure, the credentials' Error row) is not repeated.
    said = [i.message for i in issues if i.kind == "reader-failed"] + [report.credentials.error or ""]
    for issue in issues:
        if issue.kind == "reader-failed" or any(issue.message and issue.message in text for text in said):
            continue
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
                raw.add_row(_t(field.source), _t(field.field), _t(shorten(field.value, VALUE_CHARS)))
            parts.append(raw)
        parts.append(_t(f"readers: {', '.join(report.readers) or 'none'}; sha256 {report.sha256}", "dim"))
    console.print(Panel(Group(*parts), title=Text(printable_path(report.path), style="bold"), title_align="left"))


def render_counts(reports: list[Report], console: Console) -> None:
    """The closing line after several panels: files, each verdict, flagged, errors (by kind)."""
    from collections import Counter

    verdicts = Counter(r.verdict for r in reports)
    order = ("ai-generated", "ai-edited", "captured", "no-evidence")
    shown = ", ".join(f"{verdicts[v]} {v}" for v in order if verdicts[v]) or "none judged"
    flagged = sum(1 for r in reports if r.flagged)
    errors = [r.error.kind for r in reports if r.error]
    line = f"{plural(len(reports), 'file')}: {shown}; {flagged} flagged; {plural(len(errors), 'error')}"
    if errors:
        kinds = Counter(errors)
        line += " (" + ", ".join(f"{printable(k)} {n}" for k, n in sorted(kinds.items())) + ")"
    console.print(Text(line, style="bold"))


def printable_path(path: str) -> str:
    """A path as a terminal can show it, on one line (see :func:`provenance.render.safe.visible`)."""
    return visible_line(path)


def printable(value: str, keep_newlines: bool = True) -> str:
    """Text from a file made safe for a terminal (see :func:`provenance.render.safe.visible`)."""
    return visible(value, newlines=keep_newlines)


def _t(value: object, style: str = "") -> Text:
    """Report data as plain text: never parsed as rich markup."""
    return Text(printable(str(value)), style=style)
