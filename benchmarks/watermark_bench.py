"""Time our ``dwtDct`` reader against the reference decoder on 1024x1024 pictures.

Run from the repository root::

    python benchmarks/watermark_bench.py [--runs 7] [--ref-venv PATH]

The reference is ``invisible-watermark`` (import ``imwatermark``) from PyPI,
installed with ``--no-deps`` together with ``opencv-python-headless``,
PyWavelets and numpy into a throwaway virtual environment under the system
temp directory (created on first use, reused afterwards). ``imwatermark``
imports its ``rivaGan`` module, which needs torch; a stub is registered in
``sys.modules`` first. Only the ``dwtDct`` code runs.

Timed, median of ``--runs`` (after one warm-up):

* reference: ``WatermarkDecoder('bits', 48).decode(bgr, 'dwtDct')`` and
  ``('bytes', 136)`` on an in-memory array; and ``cv2.imread`` + one decode;
* ours: ``decode_dwtdct`` for one payload and one channel order (like for
  like), ``score_image`` (all eight comparisons: 3 payloads x 2 channel
  orders + 2 float-path SDXL readings), and ``read()`` on the PNG bytes
  (Pillow decode included).

The bits both decoders return for the test pictures are compared as well.
Temporary files live in a temp directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "read"))

import numpy as np  # noqa: E402
import watermark_encoder as enc  # noqa: E402

from provenance.read import watermark as wm  # noqa: E402

DEFAULT_VENV = Path(tempfile.gettempdir()) / "provenance-imwatermark-ref-venv"
REF_PACKAGES = ["opencv-python-headless", "PyWavelets", "numpy"]

REFERENCE_SCRIPT = r"""
import json, statistics, sys, time, types
stub = types.ModuleType("imwatermark.rivaGan")
stub.RivaWatermark = object
sys.modules["imwatermark.rivaGan"] = stub
import cv2, numpy as np
from imwatermark import WatermarkDecoder

runs = int(sys.argv[1])
out = {"versions": {"opencv": cv2.__version__, "numpy": np.__version__}, "pictures": []}
for npy, png in zip(sys.argv[2::2], sys.argv[3::2]):
    bgr = np.load(npy)
    entry = {}
    for kind, n in (("bits", 48), ("bytes", 136)):
        dec = WatermarkDecoder(kind, n)
        result = dec.decode(bgr, "dwtDct")
        times = []
        for _ in range(runs):
            t0 = time.perf_counter(); dec.decode(bgr, "dwtDct"); times.append(time.perf_counter() - t0)
        entry[f"decode_{n}"] = statistics.median(times)
        bits = result if kind == "bits" else np.unpackbits(np.frombuffer(result, np.uint8))
        entry[f"bits_{n}"] = "".join("1" if b else "0" for b in bits)
    dec = WatermarkDecoder("bits", 48)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter(); dec.decode(cv2.imread(png, cv2.IMREAD_COLOR), "dwtDct")
        times.append(time.perf_counter() - t0)
    entry["imread_decode_48"] = statistics.median(times)
    out["pictures"].append(entry)
print(json.dumps(out))
"""


def ensure_reference_venv(path: Path) -> Path:
    """Create the throwaway venv with the reference decoder, if absent."""
    python = path / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import cv2, pywt, numpy, imwatermark.maxDct"], capture_output=True)
        if check.returncode == 0:
            return python
    print(f"creating reference venv in {path} ...", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "invisible-watermark"], check=True)
    subprocess.run([*pip, *REF_PACKAGES], check=True)
    return python


def median_time(func: Callable[[], object], runs: int) -> float:
    func()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pictures() -> list[tuple[str, np.ndarray]]:
    """Two 1024x1024 test pictures: one marked (SDXL, bgr), one unmarked."""
    rng = np.random.default_rng(2024)
    marked = enc.embed_payload(enc.textured(1024, 1024, rng), "sdxl")
    plain = enc.camera_like(1024, 1024, rng)
    return [("marked textured (SDXL)", marked), ("unmarked camera-like", plain)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--ref-venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args()
    python = ensure_reference_venv(args.ref_venv)

    with tempfile.TemporaryDirectory(prefix="wm-bench-") as tmp:
        files: list[str] = []
        pics = pictures()
        for i, (_, rgb) in enumerate(pics):
            npy, png = Path(tmp) / f"p{i}.npy", Path(tmp) / f"p{i}.png"
            np.save(npy, np.ascontiguousarray(rgb[..., ::-1]))  # BGR, as cv2 holds it
            png.write_bytes(enc.png_bytes(rgb))
            files += [str(npy), str(png)]
        done = subprocess.run(
            [str(python), "-c", REFERENCE_SCRIPT, str(args.runs), *files], capture_output=True, text=True, check=True
        )
        reference = json.loads(done.stdout)
        png_data = [Path(f).read_bytes() for f in files[1::2]]

    print(f"reference: invisible-watermark dwtDct, {reference['versions']}; runs={args.runs}, medians")
    for (label, rgb), ref, data in zip(pics, reference["pictures"], png_data, strict=True):
        ours_one = median_time(lambda rgb=rgb: wm.decode_dwtdct(rgb, 48), args.runs)
        ours_all = median_time(lambda rgb=rgb: wm.score_image(rgb), args.runs)
        ours_read = median_time(lambda data=data: wm.read(data, "image/png"), args.runs)
        same48 = ref["bits_48"] == "".join("1" if b else "0" for b in wm.decode_dwtdct(rgb, 48))
        same136 = ref["bits_136"] == "".join("1" if b else "0" for b in wm.decode_dwtdct(rgb, 136))
        print(f"\n{label}, 1024x1024 (same bits as reference: 48={same48}, 136={same136})")
        rows = [
            ("reference decode, 48 bits (array in)", ref["decode_48"]),
            ("reference decode, 136 bits (array in)", ref["decode_136"]),
            ("reference cv2.imread + decode 48", ref["imread_decode_48"]),
            ("ours decode_dwtdct, 48 bits, one order", ours_one),
            ("ours score_image, all 8 comparisons", ours_all),
            ("ours read() on PNG bytes (decode incl.)", ours_read),
        ]
        for name, seconds in rows:
            print(f"  {name:42s} {seconds * 1000:8.1f} ms")
        base = ref["decode_48"]
        print(f"  ratio reference decode48 / ours one-order decode : {base / ours_one:5.1f}x")
        print(f"  ratio reference decode48 / ours score_image      : {base / ours_all:5.1f}x")
        print(f"  ratio reference imread+decode / ours read()      : {ref['imread_decode_48'] / ours_read:5.1f}x")


if __name__ == "__main__":
    main()
