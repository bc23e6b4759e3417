"""Honest under forgery: what an attacker can and cannot make the tool say.

Every image is a synthetic picture from ``samples_benign/make_samples.py``;
manifests are signed in this session with a throwaway test chain (or with
certificates made here that copy the names of a real trust-list anchor).
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from provenance.api import Options, check_bytes, make_options
from provenance.report import Report
from tests.hostile import builders

DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def app11(data: bytes) -> bytes:
    """The JPEG's APP11 (JUMBF) segments: the C2PA manifest store."""
    out, pos = b"", 2
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if data[pos + 1] == 0xEB:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return out


def png_chunk_of(data: bytes, ctype: bytes) -> bytes:
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        if data[pos + 4 : pos + 8] == ctype:
            return data[pos : pos + 12 + length]
        pos += 12 + length
    raise AssertionError(f"no {ctype!r} chunk")


def failures(report: Report) -> set[str]:
    return {v.code for v in report.credentials.validation if v.kind == "failure"}


@pytest.fixture(scope="module")
def anchored(signer: Any, tmp_path_factory: pytest.TempPathFactory) -> Options:
    """Options that trust the session's test root (as a user passing --trust-anchors would)."""
    pem = tmp_path_factory.mktemp("anchors") / "test-root.pem"
    pem.write_bytes(signer.pki.root_pem)
    return make_options(trust_anchors=[pem])


@pytest.fixture(scope="module")
def capture(signer: Any, samples_module: ModuleType) -> bytes:
    return bytes(samples_module.c2pa_capture(signer, seed=61, title="capture.jpg"))


@pytest.fixture(scope="module")
def ai_created(signer: Any, samples_module: ModuleType) -> bytes:
    return bytes(samples_module.c2pa_ai_created(signer))


# --- Copy a manifest onto other pixels ----------------------------------------


def test_controls_are_valid_and_trusted_only_with_the_anchor(capture: bytes, anchored: Options) -> None:
    plain = check_bytes(capture, "capture.jpg")
    assert (plain.verdict, plain.credentials.state) == ("captured", "valid")
    trusted = check_bytes(capture, "capture.jpg", anchored)
    assert (trusted.verdict, trusted.credentials.state, trusted.confidence) == ("captured", "trusted", "high")


def test_jpeg_manifest_moved_onto_other_pixels(capture: bytes, samples_module: ModuleType, anchored: Options) -> None:
    other = samples_module.encode(samples_module.picture(62, (128, 96)), "JPEG", quality=85)
    forged = other[:2] + app11(capture) + other[2:]
    # Same headers, other entropy-coded data: the manifest's offsets still line up.
    scan = capture.index(b"\xff\xda")
    same_layout = capture[:scan] + other[other.index(b"\xff\xda") :]
    for data in (forged, same_layout):
        for options in (Options(), anchored):
            report = check_bytes(data, "forged.jpg", options)
            assert report.credentials.state == "invalid", report.credentials
            assert "assertion.dataHash.mismatch" in failures(report)
            assert report.verdict != "captured" and report.flagged
            assert "no longer bound to this file" in report.summary


def test_png_manifest_moved_onto_other_pixels(signer: Any, samples_module: ModuleType, anchored: Options) -> None:
    manifest = {
        "claim_generator_info": [{"name": "Synthetic Test Camera", "version": "1.0"}],
        "title": "capture.png",
        "assertions": [samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "digitalCapture"})],
    }
    signed = signer.sign(manifest, "image/png", samples_module.png(samples_module.picture(63, (96, 64))))
    assert check_bytes(signed, "capture.png", anchored).credentials.state == "trusted"
    other = samples_module.png(samples_module.picture(64, (96, 64)))
    at = other.index(b"IDAT") - 4
    forged = other[:at] + png_chunk_of(signed, b"caBX") + other[at:]
    for options in (Options(), anchored):
        report = check_bytes(forged, "forged.png", options)
        assert report.credentials.state == "invalid"
        assert report.verdict != "captured" and report.flagged


def test_unsigned_metadata_added_after_signing_breaks_the_seal(capture: bytes) -> None:
    xmp = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": DST + "digitalCapture"})
    forged = capture[:2] + builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp) + capture[2:]
    report = check_bytes(forged, "forged.jpg")
    assert report.credentials.state == "invalid"
    assert report.verdict != "captured"


# --- Re-sign with an untrusted certificate --------------------------------------


def test_test_chain_is_valid_never_trusted(ai_created: bytes) -> None:
    report = check_bytes(ai_created, "ai.jpg")
    assert report.credentials.state == "valid"
    assert report.credentials.trust_list is None
    assert report.verdict == "ai-generated"  # the claim is reported...
    assert "provenance TEST signer" in report.summary  # ...as made by whoever signed it


def _own_chain(impersonate: bool) -> tuple[bytes, bytes]:
    """A self-signed root and a signer under it, made here (no intermediate).

    With ``impersonate``, the root copies the subject, issuer and serial number
    of the first anchor on the shipped C2PA trust list: only its key differs.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

    from provenance.read.c2pa import default_trust_lists

    pem = default_trust_lists()[0].anchors
    real = x509.load_pem_x509_certificate(pem[: pem.index("-----END CERTIFICATE-----") + 25].encode())
    own = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-signed test root")])
    subject, issuer = (real.subject, real.issuer) if impersonate else (own, own)
    serial = real.serial_number if impersonate else x509.random_serial_number()
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(2045, 1, 1, tzinfo=dt.timezone.utc)
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(root_key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Google C2PA Media Services (test signer)")])
    leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ObjectIdentifier("1.3.6.1.5.5.7.3.36")]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, key


def _sign_with(chain: bytes, key: bytes, samples_module: ModuleType, manifest: dict[str, Any]) -> bytes:
    import c2pa

    asset = samples_module.encode(samples_module.picture(65, (96, 64)), "JPEG", quality=85)
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
    settings = c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest, context=c2pa.Context(settings=settings)) as b:
        out = io.BytesIO()
        b.sign(signer, "image/jpeg", io.BytesIO(asset), out)
    return out.getvalue()


@pytest.mark.parametrize("impersonate", [False, True], ids=["own-root", "impostor-of-trust-list-anchor"])
def test_own_root_is_never_trusted(samples_module: ModuleType, impersonate: bool) -> None:
    manifest = {
        "claim_generator_info": [{"name": "Google Pixel Camera", "version": "1.0"}],
        "title": "own-root.jpg",
        "assertions": [samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "digitalCapture"})],
    }
    chain, key = _own_chain(impersonate)
    signed = _sign_with(chain, key, samples_module, manifest)
    report = check_bytes(signed, "own-root.jpg")
    assert report.credentials.state in ("valid", "invalid"), report.credentials
    assert report.credentials.trust_list is None
    assert report.confidence != "high"
    if report.verdict == "captured":
        assert "a signer on no trust list in use" in report.summary


def test_self_signed_leaf_is_never_trusted(samples_module: ModuleType) -> None:
    """A signer certificate that is its own issuer: refused at signing, or reported untrusted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-signed test signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2045, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(key, hashes.SHA256())
    )
    manifest = {
        "claim_generator_info": [{"name": "Adobe Photoshop", "version": "26.0"}],
        "title": "self.jpg",
        "assertions": [samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "digitalCapture"})],
    }
    chain = cert.public_bytes(serialization.Encoding.PEM)
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        signed = _sign_with(chain, pem_key, samples_module, manifest)
    except Exception as exc:
        assert "certificate" in str(exc).lower()  # c2pa-rs will not sign with such a certificate
        return
    report = check_bytes(signed, "self.jpg")
    assert report.credentials.state in ("valid", "invalid")
    assert report.confidence != "high"


# --- Forge XMP or EXIF; strip everything ----------------------------------------


def test_forged_capture_metadata_is_weak_unsigned(samples_module: ModuleType) -> None:
    xmp = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": DST + "digitalCapture"})
    exif = samples_module.exif_block(ifd0={0x010F: "Canon", 0x0110: "Canon EOS R5"})
    jpeg = samples_module.encode(samples_module.picture(66, (96, 64)), "JPEG", quality=85, exif=exif)
    forged = jpeg[:2] + builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp) + jpeg[2:]
    report = check_bytes(forged, "forged.jpg")
    assert report.verdict == "captured"
    assert report.confidence == "low"
    assert report.credentials.state == "none"
    decisive = [f for f in report.findings if f.rule in report.decisive]
    assert decisive and {f.source for f in decisive} <= {"xmp", "exif"}
    assert "forged" in report.summary


def test_forged_ai_declaration_is_reported_as_what_the_file_says(samples_module: ModuleType) -> None:
    xmp = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": DST + "trainedAlgorithmicMedia"})
    data = builders.jpeg_with(builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp))
    report = check_bytes(data, "claims-ai.jpg")
    assert report.verdict == "ai-generated" and report.credentials.state == "none"
    assert {f.source for f in report.findings} == {"xmp"}
    assert "not proof" in report.summary


def test_xmp_dressed_as_credentials_stays_xmp() -> None:
    """XMP fields named like C2PA data are unsigned metadata, never Content Credentials."""
    xmp = builders.xmp_packet(
        '<rdf:Description xmlns:c2pa="http://c2pa.org/manifest/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'c2pa:claim_generator="Adobe_Firefly" c2pa:signature="trusted" '
        'dcterms:provenance="self#jumbf=/c2pa/urn:uuid:forged"/>'
    )
    report = check_bytes(builders.jpeg_with(builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp)), "dressed.jpg")
    assert report.credentials.state in ("none", "invalid")
    assert all(f.source != "c2pa" for f in report.findings)


def test_signed_ai_claim_beats_forged_capture_xmp(signer: Any, samples_module: ModuleType) -> None:
    xmp = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": DST + "digitalCapture"})
    base = samples_module.encode(samples_module.picture(67, (96, 64)), "JPEG", quality=85)
    asset = base[:2] + builders.jpeg_segment(0xE1, builders.XMP_APP1 + xmp) + base[2:]
    manifest = {
        "claim_generator_info": [{"name": "Test generator", "version": "1.0"}],
        "title": "mixed.jpg",
        "assertions": [
            samples_module.actions({"action": "c2pa.created", "digitalSourceType": DST + "trainedAlgorithmicMedia"})
        ],
    }
    report = check_bytes(signer.sign(manifest, "image/jpeg", asset), "mixed.jpg")
    assert report.credentials.state == "valid"
    assert report.verdict == "ai-generated"
    assert any(f.rule == "CONFLICT-001" for f in report.findings)


def test_stripped_image_claims_nothing(ai_created: bytes) -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(ai_created)).save(out, "JPEG", quality=85)
    report = check_bytes(out.getvalue(), "stripped.jpg")
    assert (report.verdict, report.credentials.state, report.findings) == ("no-evidence", "none", ())
    assert "does not mean the image is real" in report.summary


def test_trust_needs_the_anchor_file(signer: Any, tmp_path: Path, ai_created: bytes) -> None:
    """Only an explicit --trust-anchors makes the test chain trusted; the default lists never do."""
    assert check_bytes(ai_created, "ai.jpg", make_options()).credentials.state == "valid"
    pem = tmp_path / "root.pem"
    pem.write_bytes(signer.pki.root_pem)
    report = check_bytes(ai_created, "ai.jpg", make_options(trust_anchors=[pem], default_trust=False))
    assert report.credentials.state == "trusted"
    assert report.credentials.trust_list and "root.pem" in report.credentials.trust_list


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize("padding", [10, 400, 4000])
def test_long_prompt_does_not_hide_generation_parameters(samples_module: ModuleType, fmt: str, padding: int) -> None:
    """A UserComment of 1000 bytes or more (exifread keeps no value for it) is still read."""
    text = "a cube, " * padding + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: m"
    exif = samples_module.exif_block(exif_ifd={0x9286: samples_module.user_comment_unicode(text)})
    data = samples_module.encode(samples_module.picture(68, (64, 48)), fmt, exif=exif)
    report = check_bytes(data, "long." + fmt.lower())
    assert report.verdict == "ai-generated", report.issues
    assert any(f.rule == "A1111-001" and f.field == "UserComment" for f in report.findings)
