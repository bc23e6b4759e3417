"""Plain-language meanings of C2PA validation status codes, and their families.

Codes come from the C2PA specification as the reference library emits them.
A code missing here is shown with the library's own explanation.

A failure says one of five different things about a file, and the report
words each differently (see :func:`family` and :func:`assess`):

* ``content-changed``: the bytes the signature binds (pixels, boxes) changed
  after signing; what the manifest declares is no longer bound to this file.
* ``claim-altered``: the manifest itself was changed after signing (a signed
  statement no longer matches its hash, the signature does not match the
  claim); the image bytes may be intact, the statements are not.
* ``malformed``: the manifest cannot be parsed or validated at all.
* ``credential``: the signing certificate cannot be relied on (expired,
  revoked, unfit for signing, signed outside its validity); the content
  and the statements may be exactly as signed.
* ``ingredient``: only an ingredient's own credentials failed; the active
  claim itself may be sound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provenance.evidence import Credentials, Ingredient, Manifest, StatusCode

#: Failure codes that leave a manifest ``Valid`` (the signer is merely
#: unknown to us, or an attached identity could not be checked).
TOLERATED = frozenset(
    {
        "signingCredential.untrusted",
        "cawg.x509.credential.untrusted",
        "cawg.x509.credential.invalid",
        "cawg.x509.signature.mismatch",
        "cawg.x509.signature.outside_validity",
        "cawg.x509.algorithm.unsupported",
        "cawg.ica.untrusted_issuer",
    }
)

MEANINGS: dict[str, str] = {
    "claimSignature.validated": "the manifest's signature verifies",
    "claimSignature.insideValidity": "the signing certificate was in its validity period at signing",
    "claimSignature.missing": "the manifest has no signature",
    "claimSignature.mismatch": "the signature does not match the manifest: it was altered or forged",
    "claimSignature.outsideValidity": "it was signed outside the signing certificate's validity period",
    "signingCredential.trusted": "the signer chains to a trust list in use",
    # Says nothing of the signature itself: the library reports this code beside claimSignature.mismatch too.
    "signingCredential.untrusted": "the signer is on no trust list in use: anyone can make such a certificate",
    "signingCredential.invalid": "the signing certificate is not fit for signing",
    "signingCredential.expired": "the signing certificate had expired when it signed",
    "signingCredential.ocsp.revoked": "the signing certificate was revoked",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.ocsp.notRevoked": "the certificate authority confirmed the certificate was not revoked",
    "signingCredential.ocsp.skipped": "revocation was not checked online (offline by default)",
    "signingCredential.ocsp.inaccessible": "the revocation service could not be reached",
    "signingCredential.ocsp.unknown": "the revocation service did not know the certificate",
    "timeStamp.validated": "a time-stamp matches the signature",
    "timeStamp.trusted": "the time-stamp authority is trusted",
    "timeStamp.untrusted": "the time-stamp authority is not on a trust list in use",
    "timeStamp.outsideValidity": "the time-stamp falls outside a certificate's validity period",
    "timeStamp.mismatch": "the time-stamp does not match the signed content",
    "timeStamp.malformed": "the time-stamp is damaged",
    "timeOfSigning.insideValidity": "the claimed signing time is within the certificate's validity",
    "assertion.hashedURI.match": "a statement in the manifest is exactly as signed",
    "assertion.hashedURI.mismatch": "a statement in the manifest was changed after signing",
    "assertion.dataHash.match": "the image bytes are unchanged since signing",
    "assertion.dataHash.mismatch": "the pixels or other bound bytes changed after signing",
    "assertion.dataHash.malformed": "the record binding the manifest to the image bytes is damaged",
    "assertion.dataHash.additionalExclusions": "the signed hash leaves out extra byte ranges; unusual",
    "assertion.bmffHash.match": "the file content is unchanged since signing",
    "assertion.bmffHash.mismatch": "the file content changed after signing",
    "assertion.boxesHash.match": "the file's data boxes are unchanged since signing",
    "assertion.boxesHash.mismatch": "the file's data boxes changed after signing",
    "assertion.boxesHash.unknownBox": "the file structure differs from what was signed",
    "assertion.collectionHash.match": "every file of the signed collection is unchanged",
    "assertion.collectionHash.mismatch": "a file of the signed collection changed",
    "assertion.missing": "a signed statement is gone from the manifest",
    "assertion.undeclared": "an unsigned statement was slipped into the manifest",
    "assertion.inaccessible": "a remote statement could not be fetched",
    "assertion.accessible": "a remote statement was fetched",
    "assertion.json.invalid": "a statement is not valid JSON",
    "assertion.cbor.invalid": "a statement is not valid CBOR",
    "assertion.action.malformed": "the edit history is malformed",
    "assertion.action.ingredientMismatch": "the edit history points at a missing ingredient",
    "assertion.ingredient.malformed": "an ingredient record is malformed",
    "assertion.multipleHardBindings": "the manifest binds to the image bytes more than once",
    "claim.hardBindings.missing": "the manifest is not bound to the image bytes",
    "claim.missing": "the manifest's claim is missing",
    "claim.multiple": "the manifest has more than one claim",
    "claim.malformed": "the manifest's claim is malformed",
    "claim.cbor.invalid": "the manifest's claim is not valid CBOR",
    "ingredient.manifest.validated": "an ingredient's own credentials verify",
    "ingredient.claimSignature.validated": "an ingredient's signature verifies",
    "ingredient.manifest.missing": "an ingredient's manifest is referenced but not in the file",
    "ingredient.manifest.mismatch": "an ingredient's credentials were altered",
    "ingredient.hashedURI.mismatch": "an ingredient record was altered",
    "ingredient.claimSignature.missing": "an ingredient's signature is missing",
    "ingredient.claimSignature.mismatch": "an ingredient's signature does not match",
    "ingredient.unknownProvenance": "an ingredient had no credentials",
    "hashedURI.missing": "an internal link of the manifest is broken",
    "hashedURI.mismatch": "the target of an internal link was altered",
    "manifest.inaccessible": "credentials stored remotely could not be retrieved",
    "manifest.multipleParents": "more than one parent ingredient is declared",
    "manifest.unreferenced": "a manifest in the file is not linked from the chain",
    "manifest.unknownProvenance": "the credentials use a form this software cannot interpret",
    "manifest.update.invalid": "an update manifest breaks the rules",
    "manifest.update.wrongParents": "an update manifest has the wrong parents",
    "manifest.compressed.invalid": "a compressed manifest is corrupt",
    "algorithm.unsupported": "the signature uses an unknown or unsupported algorithm",
    "algorithm.deprecated": "the signature uses an outdated algorithm (still accepted)",
    "general.error": "validation failed for another reason",
    "cawg.identity.well-formed": "an identity assertion is well formed",
    "cawg.x509.credential.trusted": "an identity certificate chains to a trusted root",
    "cawg.x509.credential.untrusted": "an attached identity could not be verified against a trust list",
    "cawg.x509.signature.validated": "an identity signature verifies",
    "cawg.ica.untrusted_issuer": "the identity aggregator is not on a trusted list",
    "com.adobe.prerelease": "the manifest comes from a pre-release version of the standard",
}


def meaning(code: str, explanation: str = "") -> str:
    """The plain meaning of ``code``, or the library's explanation."""
    if code in MEANINGS:
        return MEANINGS[code]
    for prefix, text in (
        ("ingredient.", "a problem with an ingredient's credentials"),
        ("assertion.", "a problem with a statement in the manifest"),
        ("cawg.", "a problem with an attached identity"),
    ):
        if code.startswith(prefix):
            return f"{text} ({explanation or code})"
    return explanation or code


#: Failure families, worst first: the first one present leads the summary.
FAMILIES = ("content-changed", "claim-altered", "malformed", "credential", "ingredient")

_CONTENT_CHANGED = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.boxesHash.unknownBox",
        "assertion.collectionHash.mismatch",
    }
)
_CLAIM_ALTERED = frozenset(
    {
        "claimSignature.mismatch",
        "assertion.hashedURI.mismatch",
        "hashedURI.mismatch",
        "assertion.missing",
        "assertion.undeclared",
        "timeStamp.mismatch",
    }
)
_CREDENTIAL = frozenset(
    {
        "claimSignature.outsideValidity",
        "timeStamp.outsideValidity",
        "timeStamp.untrusted",
        "algorithm.deprecated",
    }
)
#: Success codes that show the bound content is exactly as signed.
HASH_MATCHES = (
    "assertion.dataHash.match",
    "assertion.bmffHash.match",
    "assertion.boxesHash.match",
    "assertion.collectionHash.match",
)


def family(code: str) -> str:
    """The family of a failure code (see the module docstring)."""
    if code in _CONTENT_CHANGED:
        return "content-changed"
    if code in _CLAIM_ALTERED:
        return "claim-altered"
    if code in _CREDENTIAL or code.startswith("signingCredential."):
        return "credential"
    if code.startswith("ingredient."):
        return "ingredient"
    return "malformed"


def statement(url: str) -> str | None:
    """The assertion a status URL points at (``c2pa.ingredient__1``), if any."""
    marker = "/c2pa.assertions/"
    return url.split(marker, 1)[1] or None if marker in url else None


def described(status: StatusCode) -> str:
    """The meaning of a failure, naming the statement it concerns."""
    where = statement(status.url)
    return f"{status.meaning}: {where}" if where and "hashedURI" in status.code else status.meaning


@dataclass(frozen=True, slots=True)
class FailedIngredient:
    """An ingredient whose own credentials failed, with the manifest that lists it."""

    parent: Manifest
    ingredient: Ingredient
    failures: tuple[StatusCode, ...]

    @property
    def name(self) -> str:
        return f"'{self.ingredient.title}' ({self.ingredient.relationship})"


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the validation result of a manifest store says, by family.

    ``family`` leads (the worst family among the active manifest's hard
    failures, or ``ingredient`` when only ingredients failed); ``failures``
    are the active manifest's hard failures of that family; ``content_unchanged``
    is True when a content hash matched and none failed, False when one failed,
    None when the library reported neither.
    """

    family: str | None
    failures: tuple[StatusCode, ...]
    content_unchanged: bool | None
    hash_codes: tuple[str, ...]
    ingredients: tuple[FailedIngredient, ...]
    untrusted: tuple[Manifest, ...]
    signature_ok: bool = False  # the library reported claimSignature.validated for the active claim

    @property
    def reason(self) -> str:
        return "; ".join(dict.fromkeys(described(f) for f in self.failures[:2]))


def _hard(codes: Iterable[StatusCode]) -> list[StatusCode]:
    return [c for c in codes if c.kind == "failure" and c.code not in TOLERATED]


#: What :func:`assess` says of credentials with no validation codes and no manifests (no
#: manifest found, say), in any state but ``invalid``: most files of any batch.
_NOTHING = Assessment(None, (), None, (), (), ())


def assess(credentials: Credentials) -> Assessment:
    """Classify the validation result of ``credentials`` (see :class:`Assessment`)."""
    validation = credentials.validation
    if not validation and not credentials.manifests and credentials.state != "invalid":
        return _NOTHING
    hard = _hard(validation)
    matched = tuple(dict.fromkeys(v.code for v in validation if v.kind == "success" and v.code in HASH_MATCHES))
    signed = any(v.kind == "success" and v.code == "claimSignature.validated" for v in validation)
    if any(family(f.code) == "content-changed" for f in hard):
        unchanged: bool | None = False
    else:
        # A hash that matches proves nothing unless the claim holding it is as signed.
        unchanged = True if matched and signed else None
    failed: list[FailedIngredient] = []
    for manifest in credentials.manifests:
        for ingredient in manifest.ingredients:
            bad = _hard(ingredient.failures)
            if ingredient.validation == "invalid" and bad:
                failed.append(FailedIngredient(manifest, ingredient, tuple(bad)))
    lead: str | None = None
    chosen: tuple[StatusCode, ...] = ()
    present = [family(f.code) for f in hard]
    for name in FAMILIES:
        if name in present:
            lead = name
            chosen = tuple(f for f in hard if family(f.code) == name)
            break
    if lead is None and credentials.state == "invalid":
        lead = "ingredient" if failed else "malformed"  # a manifest the library rejected outright
    elif lead is None and failed:
        lead = "ingredient"
    untrusted = tuple(m for m in credentials.manifests if m.trust == "untrusted")
    return Assessment(lead, chosen, unchanged, matched, tuple(failed), untrusted, signed)


def trust_note(credentials: Credentials, assessment: Assessment | None = None) -> str | None:
    """Why credentials are ``valid`` rather than ``trusted``: which signer, which manifest."""
    if credentials.state != "valid":
        return None
    assessment = assessment or assess(credentials)
    active = credentials.active
    titles = {i.manifest: i.title for m in credentials.manifests for i in m.ingredients if i.manifest}
    others = [m for m in assessment.untrusted if active is None or m.label != active.label]
    if active is not None and active.trust == "untrusted":
        text = f"the active manifest's signer, {active.signer or 'unnamed'}, is on no trust list in use"
        if others:
            text += (
                f"; nor are the signers of {len(others)} ingredient manifests"
                if len(others) > 1
                else "; nor is the signer of an ingredient manifest"
            )
        return text
    if others:
        first = others[0]
        title = titles.get(first.label) or first.title or first.label
        lead = (
            f"the active manifest's signer, {active.signer or 'unnamed'}, is on a trust list, but"
            if active is not None and active.trust == "trusted"
            else "the active signer was not matched to a trust list, and"
        )
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        return (
            f"{lead} the manifest of ingredient '{title}' is signed by {first.signer or 'an unnamed signer'}, "
            f"on no trust list in use{more}"
        )
    return "no signer in the chain was matched to a trust list in use"


def hash_phrase(assessment: Assessment) -> str:
    """``the image bytes are unchanged since signing (assertion.dataHash.match)``, or empty."""
    if not assessment.content_unchanged:
        return ""
    return f"the content is unchanged since signing ({', '.join(assessment.hash_codes)})"


def first_failures(items: Sequence[FailedIngredient]) -> str:
    """``the credentials of ingredient 'A.jpg' (componentOf) failed validation, because ...``, first two."""
    return "; ".join(
        f"the credentials of ingredient {i.name} failed validation, because {described(i.failures[0])}"
        for i in items[:2]
    )
