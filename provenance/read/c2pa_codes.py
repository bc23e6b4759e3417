"""Plain-language meanings of C2PA validation status codes.

Codes come from the C2PA specification as the reference library emits them.
A code missing here is shown with the library's own explanation.
"""

from __future__ import annotations

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
    "signingCredential.untrusted": (
        "the signature is sound but the signer is on no trust list in use: anyone can make such a certificate"
    ),
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
    "assertion.dataHash.mismatch": "the pixels (or other bound bytes) changed after signing",
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
