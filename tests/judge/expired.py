"""Build a file signed with a certificate that has expired since, with no time-stamp.

The C2PA library refuses to sign with a certificate that is not valid at the
time of signing, so the signer certificate here is valid from 2025 until two
seconds after it is made; the file is signed at once and returned once the
certificate has expired. Without a trusted time-stamp nothing proves the
signature was made in time: the reference library reports
``signingCredential.expired`` while every hash still matches, exactly the
case of real vendor files whose certificate lapsed.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from types import ModuleType
from typing import Any

DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def expiring_chain(seconds: float) -> tuple[bytes, bytes, bytes, dt.datetime]:
    """(signer chain PEM, signer key PEM, root PEM, end of the signer's validity)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provenance TEST expiring root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(dt.datetime(2045, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provenance TEST expired signer")]))
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ObjectIdentifier("1.3.6.1.5.5.7.3.36")]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )

    def pem(cert: Any) -> bytes:
        return bytes(cert.public_bytes(serialization.Encoding.PEM))

    key = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem(leaf) + pem(root), key, pem(root), end


def expired_signed_jpeg(samples: ModuleType, source_type: str = "trainedAlgorithmicMedia") -> tuple[bytes, bytes]:
    """(a JPEG signed by a certificate that has expired since, the root PEM to trust it)."""
    import c2pa

    chain, key, root, end = expiring_chain(2.0)
    manifest = {
        "claim_generator_info": [{"name": "Synthetic Test Generator", "version": "1.0"}],
        "title": "expired.jpg",
        "assertions": [samples.actions({"action": "c2pa.created", "digitalSourceType": DST + source_type})],
    }
    asset = samples.encode(samples.picture(71, (128, 96)), "JPEG", quality=85)
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)  # no time-stamp authority
    settings = c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest, context=c2pa.Context(settings=settings)) as b:
        out = io.BytesIO()
        b.sign(signer, "image/jpeg", io.BytesIO(asset), out)
    wait = (end - dt.datetime.now(dt.timezone.utc)).total_seconds() + 1.1
    if wait > 0:
        time.sleep(wait)
    return out.getvalue(), root
