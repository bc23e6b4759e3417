"""The judge stage: findings and credentials into one verdict.

One pure function, :func:`judge`, with an explicit strength ordering.
The verdict names the findings that decided it. It never calls an image
real for lacking AI markers: the best a file without evidence gets is
``no-evidence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provenance.evidence import Credentials, Manifest, ReadIssue
from provenance.match import STRENGTHS, Finding
from provenance.read.c2pa_codes import Assessment, assess, first_failures, hash_phrase

if TYPE_CHECKING:
    from provenance.read import MediaFacts

VERDICTS = ("ai-generated", "ai-edited", "captured", "no-evidence", "error")
CONFIDENCES = ("high", "medium", "low")
#: Verdicts that make a check "flagged" (exit code 1), with invalid credentials.
FLAGGED = frozenset({"ai-generated", "ai-edited"})

_SOURCE_NAMES = {
    "c2pa": "Content Credentials",
    "xmp": "XMP metadata",
    "exif": "EXIF metadata",
    "png-text": "PNG text metadata",
    "jpeg-comment": "a JPEG comment",
    "container": "the file structure",
    "heuristic": "a cross-check",
    "watermark": "an invisible pixel watermark",
    "bmff": "MP4/MOV container metadata",
    "matroska": "Matroska/WebM tags",
    "riff-info": "RIFF INFO metadata",
    "id3": "ID3 tags",
    "vorbis": "Vorbis comments",
}

#: Said when a format has no place for an embedded manifest (credentials ``embeddable`` false).
CANNOT_CARRY_NOTE = (
    " This format cannot carry embedded Content Credentials, so finding none says nothing about where the file "
    "came from."
)

#: Said for a DASH/CMAF init segment read without its fragments.
INIT_SEGMENT_NOTE = (
    " This is a DASH/CMAF init segment: its Content Credentials hash the media fragments (.m4s files), which were "
    "not given, so they could not be validated (without them the library reports a hash mismatch, which by itself "
    "does not show that the content changed); "
    "check it with its fragments (--fragments)."
)


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str
    confidence: str
    summary: str
    decisive: tuple[str, ...] = ()


def strength_rank(strength: str) -> int:
    """Lower is stronger: declared (0) beats strong (1) beats weak (2)."""
    return STRENGTHS.index(strength) if strength in STRENGTHS else len(STRENGTHS)


def _lower(confidence: str, steps: int = 1) -> str:
    index = min(CONFIDENCES.index(confidence) + steps, len(CONFIDENCES) - 1)
    return CONFIDENCES[index]


def _best(findings: Sequence[Finding]) -> list[Finding]:
    if not findings:
        return []
    top = min(strength_rank(f.strength) for f in findings)
    return [f for f in findings if strength_rank(f.strength) == top]


def _label(f: Finding) -> str:
    """``generator model X``; the generator alone is dropped when the model's name contains it.

    A rule that names no generator extracts a product name, not a model (EXIF Software
    ``Leonardo.Ai web app``): that name stands alone, never called a model.
    """
    if f.model and (not f.generator or f.generator.lower() in f.model.lower()):
        return f.model
    return " ".join(x for x in (f.generator, f"model {f.model}" if f.model else None) if x)


def _names(findings: Sequence[Finding]) -> str:
    parts: list[str] = []
    for f in findings:
        label = _label(f)
        if label and label not in parts:
            parts.append(label)
    # No repeats: a name already inside a longer one says nothing more.
    kept = [p for p in parts if not any(p != q and p.lower() in q.lower() for q in parts)]
    return "; ".join(kept[:3])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _manifest_of(finding: Finding, credentials: Credentials) -> Manifest | None:
    """The manifest a C2PA finding was read from (its location names it)."""
    if finding.source != "c2pa" or not finding.location.startswith("manifest "):
        return None
    for manifest in credentials.manifests:
        if finding.location.startswith(f"manifest {manifest.label} "):
            return manifest
    return None


def _rank(finding: Finding, credentials: Credentials, assessment: Assessment) -> int:
    """Lower is stronger evidence: trusted credentials, valid ones, unsigned metadata, broken credentials."""
    if finding.source != "c2pa":
        return 2
    if _in_failed_ingredient(finding, credentials, assessment):
        return 4
    if credentials.state == "trusted":
        return 0
    if credentials.state == "valid":
        return 1
    return 3 if assessment.family in ("credential", "ingredient") else 4


def _in_failed_ingredient(finding: Finding, credentials: Credentials, assessment: Assessment) -> bool:
    manifest = _manifest_of(finding, credentials)
    return manifest is not None and any(i.ingredient.manifest == manifest.label for i in assessment.ingredients)


def _source_name(finding: Finding, credentials: Credentials) -> str:
    name = _SOURCE_NAMES.get(finding.source, finding.source)
    if finding.source == "c2pa":
        manifest = _manifest_of(finding, credentials) or credentials.active
        if manifest is not None and manifest.scope not in ("active",) and manifest.label != credentials.active_manifest:
            title = f" '{manifest.title}'" if manifest.title else ""
            signer = f", signed by {manifest.signer}" if manifest.signer else ""
            return f"the Content Credentials of ingredient{title}{signer}"
        if manifest is not None and manifest.signer:
            name = f"Content Credentials signed by {manifest.signer}"
        if credentials.state == "trusted" and credentials.trust_list:
            name += f", a signer on the {credentials.trust_list}"
    return name


def _sources(findings: Sequence[Finding], credentials: Credentials) -> str:
    names: list[str] = []
    for f in findings:
        name = _source_name(f, credentials)
        if name not in names:
            names.append(name)
    return " and ".join(names[:3])


#: Source names that take a plural verb ("ID3 tags hold ...").
_PLURAL_NAMES = ("Content Credentials", "the Content Credentials", "Matroska/WebM tags", "ID3 tags", "Vorbis comments")


def _plural(subject: str) -> bool:
    """Whether ``subject`` (one source name, or several joined by "and") takes a plural verb."""
    return " and " in subject or subject.startswith(_PLURAL_NAMES)


def _verb(subject: str, singular: str, plural: str) -> str:
    """``subject`` and the verb agreeing with it: Content Credentials, tags, or two sources joined, take the plural."""
    return f"{subject} {plural if _plural(subject) else singular}"


def _caveat(lead: Finding, credentials: Credentials, assessment: Assessment) -> str:
    """What the strongest source can and cannot show."""
    if lead.source == "watermark":
        return "anyone can embed such a mark in any picture, so this is what the pixels carry, not proof."
    if lead.source != "c2pa":
        return "metadata can be stripped or forged, so this is what the file says, not proof."
    if credentials.state == "invalid" or _in_failed_ingredient(lead, credentials, assessment):
        return ""  # the credentials note says why they cannot be relied on
    unchanged = " and that the image is unchanged since it was signed" if assessment.content_unchanged else ""
    manifest = _manifest_of(lead, credentials)
    if credentials.state == "trusted" or (manifest is not None and manifest.trust == "trusted"):
        return (
            f"the trusted signature proves who signed this claim{unchanged}; it does not prove the claim itself, "
            "which rests on the signer's word."
        )
    return (
        f"the signature shows the claim is intact{unchanged}, but its signer is on no trust list in use and "
        "anyone can make such a certificate, so this is what the file says, not proof."
    )


def _credential_note(credentials: Credentials, assessment: Assessment) -> str:
    """One or two sentences on what the validation result means, by failure family."""
    if credentials.state == "remote":
        return " The file points at Content Credentials stored elsewhere, which were not fetched (offline)."
    family = assessment.family
    unchanged = hash_phrase(assessment)
    ingredients = first_failures(assessment.ingredients)
    if credentials.state == "invalid":
        why = assessment.reason or credentials.error or "validation failed"
        if family == "content-changed":
            return (
                f" The Content Credentials are invalid ({why}), so what they declare is no longer bound to this file."
            )
        if family == "claim-altered":
            tail = (
                f" (the image bytes still match the signed hash: {', '.join(assessment.hash_codes)})"
                if unchanged
                else ""
            )
            return (
                f" The Content Credentials are invalid: the manifest was altered after signing ({why}), so what it "
                f"declares cannot be relied on{tail}."
            )
        if family == "credential":
            if unchanged:
                return (
                    f" The Content Credentials are invalid, though not because anything changed: {unchanged}, but the "
                    f"signature cannot be relied on because {why}."
                )
            return f" The Content Credentials are invalid: the signature cannot be relied on because {why}."
        if family == "ingredient":
            sound = (
                "the active claim's signature verifies"
                if assessment.signature_ok
                else "no failure was reported for the active claim itself"
            )
            sound += f" and {unchanged}" if unchanged else ""
            what = ingredients or why
            return (
                f" The Content Credentials are invalid because of an ingredient: {sound}, but {what}; "
                "what that ingredient's credentials declare is not verified."
            )
        return (
            f" The Content Credentials are invalid: the manifest is malformed ({why}), so it could not be verified "
            "and nothing it declares is verified."
        )
    if credentials.state in ("valid", "trusted") and assessment.ingredients:
        sound = f" and {unchanged}" if unchanged else ""
        return (
            f" The active Content Credentials verify{sound}, but {ingredients}; what that ingredient's "
            "credentials declare is not verified."
        )
    return ""


def _failed_note(failed: Sequence[ReadIssue]) -> str:
    return "".join(f" {_cap(issue.message.rstrip('.'))}." for issue in failed)


def judge(
    findings: Sequence[Finding],
    credentials: Credentials,
    fatal: ReadIssue | None = None,
    watermark_checked: bool = False,
    failed: Sequence[ReadIssue] = (),
    media: MediaFacts | None = None,
    watermarks_requested: bool = False,
) -> Verdict:
    """Combine findings into a verdict, a confidence and one plain sentence.

    ``failed`` lists the readers that could not finish (``reader-failed``
    issues): the summary names each, and nothing they would have read is
    treated as absent. ``media`` describes a video or audio file: the
    summary names it as such, and says that the watermark check does not
    apply to it when ``watermarks_requested``.
    """
    verdict = _judge(findings, credentials, fatal, watermark_checked, failed, media, watermarks_requested)
    if media is None or fatal is not None:
        return verdict
    noun = "video" if media.kind == "video" else "audio file"
    summary = verdict.summary.replace("this image", f"this {noun}").replace("the image", f"the {noun}")
    summary = summary.replace("the pixels or other", "the content or other")
    if watermarks_requested:
        summary += " The invisible-watermark check (--watermarks) does not apply to video or audio, so it was not run."
    return Verdict(verdict.verdict, verdict.confidence, summary, verdict.decisive)


def _judge(
    findings: Sequence[Finding],
    credentials: Credentials,
    fatal: ReadIssue | None,
    watermark_checked: bool,
    failed: Sequence[ReadIssue],
    media: MediaFacts | None,
    watermarks_requested: bool,
) -> Verdict:
    if fatal is not None:
        return Verdict("error", "low", f"Could not be analysed: {fatal.message}.")
    assessment = assess(credentials)
    c2pa_failed = any(issue.source == "c2pa" for issue in failed)  # the failure note says why
    unfragmented_init = media is not None and media.init_segment and not media.fragments
    if unfragmented_init and credentials.state == "invalid" and assessment.family == "content-changed":
        credential_note = INIT_SEGMENT_NOTE
    else:
        credential_note = _credential_note(credentials, assessment)
    if credentials.state == "none" and not credentials.embeddable:
        credential_note += CANNOT_CARRY_NOTE
    note = ("" if c2pa_failed else credential_note) + _failed_note(failed)
    invalid = credentials.state == "invalid"
    broken = invalid and assessment.family in ("content-changed", "claim-altered", "malformed")
    conflict = any(f.rule.startswith("CONFLICT-") for f in findings)
    metadata_failed = any(i.source in ("container", "xmp", "exif", "text", "c2pa") for i in failed)

    def ranked(items: Sequence[Finding]) -> list[Finding]:
        return sorted(items, key=lambda f: _rank(f, credentials, assessment))

    flagged = [f for f in findings if f.indicates in FLAGGED]
    # Signed credentials that verify are the strongest source: when they declare or
    # fingerprint AI, they decide, even beside an unsigned declaration.
    verified = [f for f in flagged if f.strength != "weak" and _rank(f, credentials, assessment) <= 1]
    ai = _best(verified or flagged)
    if ai:
        verdict = "ai-generated" if any(f.indicates == "ai-generated" for f in ai) else "ai-edited"
        decisive = ranked([f for f in ai if f.indicates == verdict])
        lead = decisive[0]
        confidence = "low" if lead.strength == "weak" else "high"
        if lead.source == "c2pa" and (broken or _in_failed_ingredient(lead, credentials, assessment)):
            confidence = _lower(confidence)
        if conflict:
            confidence = _lower(confidence)
        what = "generated by AI" if verdict == "ai-generated" else "made in part, or edited, with generative AI"
        names = _names([f for f in findings if f.indicates in FLAGGED])
        lead_name = _source_name(lead, credentials)
        strongest = [f for f in decisive if _source_name(f, credentials) == lead_name]
        seconding = [
            f
            for f in ranked(flagged)
            if f.indicates == verdict and f.strength != "weak" and _source_name(f, credentials) != lead_name
        ]
        others = _sources(seconding, credentials)
        if lead.strength == "declared":
            opening = f"According to {_sources(strongest, credentials)}, this image was {what}"
        else:
            holds = _verb(_sources(strongest, credentials), "holds", "hold")
            opening = f"{holds} a generator's fingerprint: this image was {what}"
        plural = _plural(others)
        # A name with an apposition ("..., signed by X") closes it with a comma before the verb.
        closing = "," if ", " in others else ""
        also = f"; {others}{closing} also declare{'' if plural else 's'} it" if others else ""
        caveat = _caveat(lead, credentials, assessment)
        summary = f"{opening}{f' ({names})' if names else ''}{also}{f'; {caveat}' if caveat else '.'}"
        if lead.strength == "weak":
            summary = (
                f"Only weak, circumstantial signs ({_sources(decisive, credentials)}) point to generative AI; "
                "treat this as a lead, not a finding."
            )
        rules = tuple(dict.fromkeys(f.rule for f in decisive))
        return Verdict(verdict, confidence, _cap(summary) + note, rules)

    captured = [
        f for f in findings if f.indicates == "captured" and not (f.source == "c2pa" and f.scope == "component")
    ]
    # Credentials that fail validation make nothing in the file credible evidence of a capture.
    best = [] if invalid else ranked(_best(captured))
    if best:
        from_c2pa = [f for f in best if f.source == "c2pa"]
        if from_c2pa and credentials.state == "trusted":
            confidence = "high"
        elif from_c2pa and credentials.state == "valid":
            confidence = "medium"
        else:
            confidence = "low"
        if conflict or metadata_failed:
            confidence = _lower(confidence)
        # A check that did not finish read only part of the file (the note below says which).
        nothing = "nothing the checks that finished found" if metadata_failed else "nothing in the file"
        if best[0].strength == "weak":
            summary = (
                f"Only {_verb(_sources(best, credentials), 'suggests', 'suggest')} a camera capture ({best[0].value}); "
                "this is weak evidence, as such fields are easily copied or forged, and no AI markers were found."
            )
        elif from_c2pa:
            signer = credentials.active.signer if credentials.active else None
            trust = (
                f"a signer on the {credentials.trust_list}"
                if credentials.state == "trusted"
                else "a signer on no trust list in use (anyone can make such a certificate)"
            )
            summary = (
                f"Content Credentials signed by {signer or 'an unnamed signer'}, {trust}, declare a capture "
                f"and {nothing} points to AI; this says who signed the claim, not that the scene is real."
            )
        else:
            summary = (
                f"{_verb(_sources(best, credentials), 'declares', 'declare')} a capture ({best[0].value.strip()}) "
                f"and {nothing} points to AI; unsigned metadata is easily forged, so this is a weak statement."
            )
        return Verdict("captured", confidence, _cap(summary) + note, tuple(dict.fromkeys(f.rule for f in best)))

    human = [f for f in findings if f.indicates == "not-ai"]
    if media is not None:
        caveat = ""  # no pixel check for video or audio: judge() says so when it was asked for
    elif "watermark" in {i.source for i in failed}:
        caveat = ""  # the failure note says why the check did not finish
    elif watermark_checked:
        caveat = (
            " The invisible-watermark check ran and found no mark; resizing or cropping removes marks,"
            " so that proves nothing."
        )
    else:
        caveat = " The pixel watermark check was not run (--watermarks)."
    if human:
        summary = (
            f"{_verb(_sources(human, credentials), 'declares', 'declare')} non-generative work "
            f"({human[0].value.strip()}) and no AI markers were found; that is a claim, not proof, and says nothing "
            "about whether the scene is real."
        )
        return Verdict("no-evidence", "low", _cap(summary) + note + caveat, tuple(dict.fromkeys(f.rule for f in human)))
    if invalid and captured:
        claim = ranked(captured)[0]
        source = _sources([claim], credentials)
        verb = "suggests" if claim.strength == "weak" else "declare" if source.startswith("Content") else "declares"
        value = claim.value.strip().rsplit("/", 1)[-1] if claim.value.startswith("http") else claim.value.strip()
        what = "that claim is not credible" if claim.source == "c2pa" else "no capture is concluded"
        summary = (
            f"{_cap(source)} {verb} a capture ({value}), but {what} because the file's Content Credentials failed "
            "validation; no AI markers were found, which does not mean the image is real."
        )
        return Verdict("no-evidence", "low", summary + note + caveat)
    found = (
        "No AI or capture markers were found"
        if not failed
        else "No AI or capture markers were found by the checks that finished"
    )
    summary = f"{found}; this does not mean the image is real, since most re-saves and uploads strip metadata."
    return Verdict("no-evidence", "low", summary + note + caveat)
