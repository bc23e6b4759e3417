"""Shared test helpers: where the repo and the shared fixtures are, and tiny image makers."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
SAMPLES = REPO / "samples_benign"
SCHEMA = REPO / "schema" / "report.schema.json"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    if not (FIXTURES / "EXPECTED.tsv").is_file():
        pytest.skip("../shared/fixtures is not present")
    return FIXTURES


@pytest.fixture(scope="session")
def schema_validator():  # type: ignore[no-untyped-def]
    import json

    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def png_bytes(size: tuple[int, int] = (32, 32), text: dict[str, str] | None = None, mode: str = "RGB") -> bytes:
    """A small gradient PNG with optional tEXt chunks."""
    from PIL import Image, PngImagePlugin

    image = Image.linear_gradient("L").resize(size).convert(mode)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (32, 32), exif: dict[int, object] | None = None, **save: object) -> bytes:
    """A small gradient JPEG, with EXIF tags (IFD0 ids, or 0x9286 UserComment in the Exif IFD)."""
    from PIL import Image

    image = Image.linear_gradient("L").resize(size).convert("RGB")
    kwargs: dict[str, object] = dict(save)
    if exif:
        ex = Image.Exif()
        for tag, value in exif.items():
            if tag in (0x9286, 0x9003, 0xA434):
                ex.get_ifd(0x8769)[tag] = value
            else:
                ex[tag] = value
        kwargs["exif"] = ex.tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, **kwargs)
    return out.getvalue()


def xmp_packet(fields: dict[str, str]) -> bytes:
    """An XMP packet with IPTC Extension and xmp: properties as attributes."""
    attrs = " ".join(f'{k}="{v}"' for k, v in fields.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" {attrs}/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def run_cli(
    *args: str, stdin: bytes | None = None, netns: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m provenance`` as a user would; optionally with no network at all."""
    command = [sys.executable, "-m", "provenance", *args]
    if netns:
        if shutil.which("unshare") is None:
            pytest.skip("unshare is not available to cut the network")
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip("cannot create a network namespace here")
        command = ["unshare", "-n", *command]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=timeout, cwd=REPO)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server a test started: SIGTERM, then SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
