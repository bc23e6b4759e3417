"""Make the benign sample images, videos and sounds in this folder, with their expected verdicts.

Run from anywhere: ``python samples_benign/make_samples.py``. Every image is a
synthetic gradient with a few shapes, drawn here with Pillow; the metadata in
each file is written with the same encoding the tool it imitates uses (PNG
text chunks, EXIF through ``Image.Exif``, XMP packets, comments, C2PA
manifests signed with ``c2pa-python``). Videos and sounds are ffmpeg test
patterns and sine tones, so regenerating needs ffmpeg (the script stops
before writing anything without it). Besides the samples the script writes
``expected.json`` (verdict and credentials state of a default offline check),
``README.md`` (what each file is) and ``test-ca.pem`` (the root of a test
certificate chain made here; its private keys never leave this process).

Unsigned files come out byte-identical on every run with the same Pillow,
codec libraries and ffmpeg. The C2PA-signed files, and ``test-ca.pem``, are
new on every run: keys are random, and signatures and manifest ids are not
deterministic.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

OUT = Path(__file__).resolve().parent

DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"

# --- Pictures -------------------------------------------------------------


def picture(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A two-colour gradient with a circle, a box and a triangle, from a seed."""
    rng = random.Random(seed)
    width, height = size

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    ramp = Image.linear_gradient("L")
    ramp = ramp.transpose(
        rng.choice([Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, Image.Transpose.FLIP_TOP_BOTTOM])
    )
    mask = ramp.resize(size)
    image = Image.composite(Image.new("RGB", size, colour()), Image.new("RGB", size, colour()), mask)
    draw = ImageDraw.Draw(image)
    cx, cy, r = rng.randrange(width // 4, width * 3 // 4), rng.randrange(height // 4, height * 3 // 4), height // 5
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour())
    x0, y0 = rng.randrange(width // 2), rng.randrange(height // 2)
    draw.rectangle((x0, y0, x0 + width // 4, y0 + height // 4), fill=colour(), outline=colour())
    points = [(rng.randrange(width), rng.randrange(height)) for _ in range(3)]
    draw.polygon(points, fill=colour())
    return image


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


# --- Metadata encodings ---------------------------------------------------

_XMP_NAMESPACES = {
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
}


def xmp_packet(body: str) -> bytes:
    """A complete XMP packet (with the xpacket wrapper) around property XML."""
    namespaces = "".join(f'\n    xmlns:{prefix}="{uri}"' for prefix, uri in _XMP_NAMESPACES.items())
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""{namespaces}>\n'
        f"{body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def lang_alt(prop: str, text: str) -> str:
    """An XMP language-alternative property (dc:description, exif:UserComment)."""
    return f'   <{prop}><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></{prop}>'


def element(prop: str, text: str) -> str:
    return f"   <{prop}>{text}</{prop}>"


def user_comment_unicode(text: str) -> bytes:
    """EXIF UserComment as piexif ``UserComment.dump(encoding="unicode")`` (A1111) writes it."""
    return b"UNICODE\x00" + text.encode("utf-16-be")


def user_comment_unicode_le(text: str) -> bytes:
    """The little-endian UTF-16 variant some .NET writers produce (SwarmUI via ImageSharp)."""
    return b"UNICODE\x00" + text.encode("utf-16-le")


def user_comment_ascii(text: str) -> bytes:
    """EXIF UserComment with the ASCII charset prefix (NovelAI WebP)."""
    return b"ASCII\x00\x00\x00" + text.encode("ascii")


_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_MAKER_NOTE = 0x927C
_UNDEFINED = 7


def exif_block(ifd0: dict[int, Any] | None = None, exif_ifd: dict[int, Any] | None = None) -> bytes:
    """EXIF written by Pillow's ``Image.Exif`` (``Exif\\0\\0`` + TIFF structure).

    Pillow stores a ``bytes`` value as BYTE (type 1). The EXIF standard, and
    piexif as A1111 uses it, give UserComment and MakerNote the type
    UNDEFINED (7); both are one byte per count, so the type code is patched
    in place and nothing else moves.
    """
    exif = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    if exif_ifd:
        sub = exif.get_ifd(_EXIF_IFD)
        for tag, value in exif_ifd.items():
            sub[tag] = value
    block = bytearray(exif.tobytes())
    tiff = 6  # after b"Exif\0\0"
    endian = ">" if block[tiff : tiff + 2] == b"MM" else "<"

    def entries(ifd_offset: int) -> Iterable[int]:
        (count,) = struct.unpack_from(endian + "H", block, tiff + ifd_offset)
        for index in range(count):
            yield tiff + ifd_offset + 2 + 12 * index

    (first,) = struct.unpack_from(endian + "I", block, tiff + 4)
    for entry in entries(first):
        (tag,) = struct.unpack_from(endian + "H", block, entry)
        if tag == _EXIF_IFD:
            (sub_offset,) = struct.unpack_from(endian + "I", block, entry + 8)
            for sub_entry in entries(sub_offset):
                sub_tag, sub_type = struct.unpack_from(endian + "HH", block, sub_entry)
                if sub_tag in (_USER_COMMENT, _MAKER_NOTE) and sub_type == 1:
                    struct.pack_into(endian + "H", block, sub_entry + 2, _UNDEFINED)
    return bytes(block)


def png(image: Image.Image, texts: Iterable[tuple[str, str, str]] = ()) -> bytes:
    """PNG with text chunks; each entry is (chunk kind, keyword, text), kind tEXt, zTXt or iTXt."""
    info = PngInfo()
    for kind, key, value in texts:
        if kind == "tEXt":
            info.add_text(key, value)
        elif kind == "zTXt":
            info.add_text(key, value, zip=True)
        else:
            info.add_itxt(key, value, zip=False)
    return encode(image, "PNG", pnginfo=info, optimize=True)


def gif(image: Image.Image, comment: bytes | None = None, xmp: bytes | None = None) -> bytes:
    """GIF with an optional comment extension and XMP application extension.

    XMP in GIF is an application extension ``XMP DataXMP`` holding the raw
    packet followed by the 258-byte "magic trailer" (0x01, 0xFF down to 0x00,
    then the block terminator), so that readers which walk sub-blocks skip it.
    Pillow does not write it; it goes where ExifTool puts it, right after the
    logical screen descriptor and global colour table.
    """
    params: dict[str, Any] = {}
    if comment is not None:
        params["comment"] = comment
    data = encode(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64), "GIF", **params)
    if xmp is None:
        return data
    assert b"\x00" not in xmp
    flags = data[10]
    header = 13 + (3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0)
    extension = b"\x21\xff\x0bXMP DataXMP" + xmp + b"\x01" + bytes(range(255, -1, -1)) + b"\x00"
    return data[:header] + extension + data[header:]


# --- Generator parameter texts (synthetic, formats from markers/generator-parameters.md) ----

A1111_TEXT = (
    "a red cube on a table, studio light\n"
    "Negative prompt: blurry, low quality\n"
    "Steps: 24, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 123456789, Size: 768x512, "
    "Model hash: 0a1b2c3d4e, Model: exampleModel_v1, VAE: example.vae, Denoising strength: 0.4, "
    'Hires upscale: 1.5, Lora hashes: "cubeLora: 9f8e7d6c5b4a", Version: v1.10.1'
)
FORGE_TEXT = (
    "a blue sphere over a checkered floor\n"
    "Negative prompt: text, watermark\n"
    "Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 42, Size: 512x512, "
    "Model hash: 1a2b3c4d5e, Model: exampleXL_base, Version: f2.0.1v1.10.1-previous-313-g0123abcd"
)
SDNEXT_TEXT = (
    "three green cones in fog\n"
    "Steps: 30, Sampler: UniPC, CFG scale: 5, Seed: 2024, Size: 640x384, Model: exampleModel_v2, "
    "App: SD.Next, Backend: Diffusers, Version: 0a1b2c3, Operations: txt2img"
)
CIVITAI_TEXT = (
    "un cube rouge sur une table \u2014 lumi\u00e8re du studio \u2600\n"
    "Negative prompt: flou\n"
    "Steps: 28, Sampler: DPM++ 2M, CFG scale: 5.5, Seed: 987654321, Size: 832x1216, Model: exampleXL, "
    'Civitai resources: [{"type":"checkpoint","modelVersionId":123,"modelName":"exampleXL"}], '
    "Created Date: 2025-05-01T12:00:00.0000000Z"
)
GIF_A1111_TEXT = (
    "a yellow triangle on grey\n"
    "Steps: 16, Sampler: Euler, CFG scale: 7.5, Seed: 31337, Size: 512x512, Model: exampleModel_v1"
)
FOOOCUS_A1111_TEXT = (
    "a purple torus, soft light\n"
    "Negative prompt: \n"
    "Steps: 30, Sampler: dpmpp_2m_sde_gpu, CFG scale: 4.0, Seed: 42, Size: 1024x1024, "
    "Performance: Speed, Sharpness: 2.0, Model: exampleXL, Version: Fooocus v2.5.5"
)
FOOOCUS_JSON = {
    "adm_guidance": "(1.5, 0.8, 0.3)",
    "base_model": "exampleXL",
    "base_model_hash": "0a1b2c3d4e",
    "guidance_scale": 4.0,
    "loras": [],
    "metadata_scheme": "fooocus",
    "negative_prompt": "",
    "performance": "Speed",
    "prompt": "a red cube on a table",
    "resolution": "(1024, 1024)",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "42",
    "sharpness": 2.0,
    "steps": 30,
    "styles": "['Fooocus V2']",
    "vae": "Default (model)",
    "version": "Fooocus v2.5.5",
}
COMFY_PROMPT = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "example.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red cube on a table", "clip": ["1", 1]}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 42,
            "steps": 20,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["1", 0],
            "positive": ["2", 0],
            "negative": ["2", 0],
            "latent_image": ["4", 0],
        },
    },
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "5": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["1", 2]}},
    "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "ComfyUI"}},
}
COMFY_WORKFLOW = {
    "last_node_id": 6,
    "last_link_id": 2,
    "nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "pos": [0, 0], "size": [300, 100], "widgets_values": ["example"]},
        {"id": 3, "type": "KSampler", "pos": [400, 0], "size": [300, 260], "widgets_values": [42, "fixed", 20]},
    ],
    "links": [[1, 1, 0, 3, 0, "MODEL"], [2, 3, 0, 5, 0, "LATENT"]],
    "groups": [],
    "config": {},
    "extra": {},
    "version": 0.4,
}
NOVELAI_COMMENT = {
    "prompt": "a red cube on a table, studio light",
    "steps": 28,
    "height": 832,
    "width": 1216,
    "scale": 5.0,
    "uncond_scale": 0.0,
    "cfg_rescale": 0.0,
    "seed": 1234567,
    "n_samples": 1,
    "noise_schedule": "karras",
    "sampler": "k_euler_ancestral",
    "uc": "lowres, blurry",
    "request_type": "PromptGenerateRequest",
}
INVOKE_METADATA = {
    "generation_mode": "txt2img",
    "positive_prompt": "a red cube on a table",
    "negative_prompt": "",
    "width": 512,
    "height": 512,
    "seed": 42,
    "steps": 30,
    "cfg_scale": 7.5,
    "scheduler": "euler",
    "model": {"name": "example-sd-1.5", "hash": "blake3:0a1b2c", "base": "sd-1", "type": "main"},
    "app_version": "5.6.0",
}
INVOKE_GRAPH = {
    "id": "example-graph",
    "nodes": {
        "noise": {"id": "noise", "type": "noise", "seed": 42, "width": 512, "height": 512},
        "denoise": {"id": "denoise", "type": "denoise_latents", "steps": 30, "cfg_scale": 7.5},
    },
    "edges": [
        {"source": {"node_id": "noise", "field": "noise"}, "destination": {"node_id": "denoise", "field": "noise"}}
    ],
}
INVOKE_SD_METADATA = {
    "model": "stable diffusion",
    "model_weights": "example-sd-1.5",
    "model_hash": "0a1b2c3d",
    "app_id": "invoke-ai/InvokeAI",
    "app_version": "2.3.5",
    "image": {
        "prompt": [{"prompt": "a red cube on a table", "weight": 1.0}],
        "steps": 30,
        "cfg_scale": 7.5,
        "seed": 42,
        "width": 512,
        "height": 512,
        "sampler": "k_lms",
    },
}
SWARM_PARAMS = {
    "sui_image_params": {
        "prompt": "a red cube on a table",
        "negativeprompt": "",
        "model": "exampleXL_base",
        "seed": 42,
        "steps": 20,
        "cfgscale": 7.0,
        "aspectratio": "1:1",
        "width": 1024,
        "height": 1024,
        "sampler": "euler",
        "scheduler": "normal",
        "swarm_version": "0.9.5.1",
        "date": "2025-05-01",
        "generation_time": "1.20 (prep) and 4.50 (gen) seconds",
    },
    "sui_models": [{"name": "exampleXL_base.safetensors", "param": "model", "hash": "0x0a1b2c3d"}],
}
# Civitai's on-site generator runs ComfyUI: named nodes ("resource-stack"), models as AIR URNs,
# and keys beside the nodes that are not nodes (the AIR list, the form's settings).
CIVITAI_COMFY_PROMPT = {
    "resource-stack": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "urn:air:sdxl:checkpoint:civitai:100001@200002"},
    },
    "resource-stack-1": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "urn:air:sdxl:lora:civitai:300003@400004",
            "strength_model": 0.8,
            "strength_clip": 0.8,
            "model": ["resource-stack", 0],
            "clip": ["resource-stack", 1],
        },
    },
    "6": {
        "class_type": "smZ CLIPTextEncode",
        "inputs": {"text": "a red cube on a table, studio light", "parser": "A1111", "clip": ["resource-stack-1", 1]},
    },
    "7": {
        "class_type": "smZ CLIPTextEncode",
        "inputs": {"text": "blurry", "parser": "A1111", "clip": ["resource-stack-1", 1]},
    },
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 1}},
    "11": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 987654321,
            "steps": 28,
            "cfg": 5.5,
            "sampler_name": "euler_ancestral",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["resource-stack-1", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "27": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["resource-stack", 2]}},
    "extra": {"airs": ["urn:air:sdxl:checkpoint:civitai:100001@200002", "urn:air:sdxl:lora:civitai:300003@400004"]},
    "extraMetadata": json.dumps(
        {"prompt": "a red cube on a table, studio light", "negativePrompt": "blurry", "steps": 28, "cfgScale": 5.5}
    ),
}
EASY_JSON = {
    "prompt": "a red cube on a table",
    "negative_prompt": "",
    "seed": 42,
    "use_stable_diffusion_model": "example-sd-1.5",
    "clip_skip": False,
    "use_vae_model": "",
    "sampler_name": "euler_a",
    "width": 512,
    "height": 512,
    "num_inference_steps": 25,
    "guidance_scale": 7.5,
}
DRAWTHINGS_JSON = {
    "c": "a red cube on a table",
    "uc": "blurry",
    "sampler": "DPM++ 2M Karras",
    "seed": 42,
    "scale": 5,
    "steps": 20,
    "size": "512x512",
    "model": "example_sd_1.5_f16.ckpt",
}


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- The unsigned samples -------------------------------------------------


def a1111_parameters_png() -> bytes:
    return png(
        picture(1),
        [
            ("tEXt", "parameters", A1111_TEXT),
            ("tEXt", "postprocessing", "Postprocess upscale by: 2, Postprocess upscaler: R-ESRGAN 4x+"),
        ],
    )


def forge_usercomment_jpg() -> bytes:
    exif = exif_block(exif_ifd={_USER_COMMENT: user_comment_unicode(FORGE_TEXT)})
    return encode(picture(2), "JPEG", quality=85, exif=exif)


def sdnext_usercomment_webp() -> bytes:
    exif = exif_block(exif_ifd={_USER_COMMENT: user_comment_unicode(SDNEXT_TEXT)})
    return encode(picture(3), "WEBP", quality=80, exif=exif)


def civitai_itxt_png() -> bytes:
    return png(picture(4), [("iTXt", "parameters", CIVITAI_TEXT)])


def a1111_comment_gif() -> bytes:
    return gif(picture(5), comment=GIF_A1111_TEXT.encode("utf-8"))


def comfyui_png() -> bytes:
    return png(picture(6), [("tEXt", "prompt", compact(COMFY_PROMPT)), ("tEXt", "workflow", compact(COMFY_WORKFLOW))])


def comfyui_exif_webp() -> bytes:
    # ComfyUI's WebP saver: EXIF Model (0x0110) = "prompt:" + JSON, Make (0x010F) = "workflow:" + JSON.
    exif = exif_block(ifd0={0x0110: "prompt:" + compact(COMFY_PROMPT), 0x010F: "workflow:" + compact(COMFY_WORKFLOW)})
    return encode(picture(7), "WEBP", lossless=True, exif=exif)


def misnamed_png_as_jpg() -> bytes:
    return png(picture(8), [("tEXt", "prompt", compact(COMFY_PROMPT))])


def novelai_png() -> bytes:
    return png(
        picture(9),
        [
            ("tEXt", "Title", "NovelAI generated image"),
            ("tEXt", "Description", str(NOVELAI_COMMENT["prompt"])),
            ("tEXt", "Software", "NovelAI"),
            ("tEXt", "Source", "Stable Diffusion XL C1E1DE52"),
            ("tEXt", "Generation time", "3.2"),
            ("zTXt", "Comment", compact(NOVELAI_COMMENT)),
        ],
    )


def novelai_webp() -> bytes:
    # NovelAI's WebP EXIF: ImageDescription = prompt, Software = Source, UserComment (ASCII) = Comment.
    exif = exif_block(
        ifd0={0x010E: str(NOVELAI_COMMENT["prompt"]), 0x0131: "NovelAI Diffusion V4 1A2B3C4D", 0x013B: "example_user"},
        exif_ifd={_USER_COMMENT: user_comment_ascii(compact(NOVELAI_COMMENT))},
    )
    return encode(picture(10), "WEBP", quality=80, exif=exif)


def invokeai_png() -> bytes:
    return png(
        picture(11),
        [("tEXt", "invokeai_metadata", compact(INVOKE_METADATA)), ("tEXt", "invokeai_graph", compact(INVOKE_GRAPH))],
    )


def invokeai_legacy_png() -> bytes:
    return png(
        picture(12),
        [
            ("tEXt", "sd-metadata", compact(INVOKE_SD_METADATA)),
            ("tEXt", "Dream", '"a red cube on a table" -s 30 -S 42 -W 512 -H 512 -C 7.5 -A k_lms'),
        ],
    )


def invokeai_dream_png() -> bytes:
    # InvokeAI 2.x "dream" output: the Dream command line alone, without sd-metadata.
    return png(
        picture(35),
        [("tEXt", "Dream", '"a red cube on a table" -s 50 -S 1234567 -W 512 -H 512 -C 7.5 -A k_lms')],
    )


def civitai_comfyui_jpg() -> bytes:
    # Civitai's generator: the ComfyUI graph as JSON in UserComment, UNICODE prefix + UTF-16BE.
    exif = exif_block(exif_ifd={_USER_COMMENT: user_comment_unicode(compact(CIVITAI_COMFY_PROMPT))})
    return encode(picture(36), "JPEG", quality=85, exif=exif)


def fooocus_png() -> bytes:
    return png(picture(13), [("tEXt", "parameters", compact(FOOOCUS_JSON)), ("tEXt", "fooocus_scheme", "fooocus")])


def fooocus_jpg() -> bytes:
    # Fooocus sets a plain str UserComment through Pillow (no charset prefix), Software and MakerNote.
    exif = exif_block(
        ifd0={0x0131: "Fooocus v2.5.5"},
        exif_ifd={_USER_COMMENT: FOOOCUS_A1111_TEXT, _MAKER_NOTE: b"a1111"},
    )
    return encode(picture(14), "JPEG", quality=85, exif=exif)


def fooocus_comment_jpg() -> bytes:
    # Older Fooocus builds: the JSON scheme in a JPEG COM segment.
    return encode(picture(15), "JPEG", quality=85, comment=compact(FOOOCUS_JSON).encode("utf-8"))


def swarmui_png() -> bytes:
    return png(picture(16), [("tEXt", "parameters", compact(SWARM_PARAMS))])


def swarmui_usercomment_le_jpg() -> bytes:
    exif = exif_block(exif_ifd={_USER_COMMENT: user_comment_unicode_le(compact(SWARM_PARAMS))})
    return encode(picture(17), "JPEG", quality=85, exif=exif)


def easydiffusion_png() -> bytes:
    fields = [
        ("prompt", "a red cube on a table"),
        ("negative_prompt", ""),
        ("seed", "42"),
        ("use_stable_diffusion_model", "example-sd-1.5"),
        ("clip_skip", "False"),
        ("sampler_name", "euler_a"),
        ("width", "512"),
        ("height", "512"),
        ("num_inference_steps", "25"),
        ("guidance_scale", "7.5"),
    ]
    return png(picture(18), [("tEXt", key, value) for key, value in fields])


def easydiffusion_jpg() -> bytes:
    exif = exif_block(exif_ifd={_USER_COMMENT: user_comment_unicode(compact(EASY_JSON))})
    return encode(picture(19), "JPEG", quality=85, exif=exif)


def drawthings_png() -> bytes:
    body = "\n".join(
        [
            element("xmp:CreatorTool", "Draw Things"),
            lang_alt("exif:UserComment", compact(DRAWTHINGS_JSON).replace("&", "&amp;").replace("<", "&lt;")),
            lang_alt("dc:description", "a red cube on a table\nSteps: 20, Sampler: DPM++ 2M Karras, Guidance Scale: 5"),
        ]
    )
    return png(picture(20), [("iTXt", "XML:com.adobe.xmp", xmp_packet(body).decode("utf-8"))])


def midjourney_png() -> bytes:
    description = "a red cube on a table, studio light --ar 3:2 --v 6.1 Job ID: 0f1e2d3c-4b5a-4697-8877-665544332211"
    return png(picture(21), [("tEXt", "Description", description), ("tEXt", "Author", "example_user")])


IPTC_AI_BODY = "\n".join(
    [
        element("Iptc4xmpExt:DigitalSourceType", DST + "trainedAlgorithmicMedia"),
        element("Iptc4xmpExt:AISystemUsed", "Example Image Model"),
        element("Iptc4xmpExt:AISystemVersionUsed", "3.1"),
        element("Iptc4xmpExt:AIPromptInformation", "a red cube on a table, studio light"),
        element("Iptc4xmpExt:AIPromptWriterName", "A. Tester"),
        element("plus:DataMining", "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"),
        element("xmp:CreatorTool", "Leonardo.Ai web app"),
    ]
)


def iptc_ai_xmp_jpg() -> bytes:
    return encode(picture(22), "JPEG", quality=85, xmp=xmp_packet(IPTC_AI_BODY))


def iptc_ai_tiff() -> bytes:
    body = element("Iptc4xmpExt:DigitalSourceType", DST + "trainedAlgorithmicMedia")
    return encode(
        picture(23),
        "TIFF",
        compression="tiff_deflate",
        tiffinfo={700: xmp_packet(body), 305: "Ideogram 2.0"},
    )


def iptc_ai_edited_webp() -> bytes:
    body = element("Iptc4xmpExt:DigitalSourceType", DST + "compositeWithTrainedAlgorithmicMedia")
    return encode(picture(24), "WEBP", quality=80, xmp=xmp_packet(body))


def composite_synthetic_gif() -> bytes:
    body = element("Iptc4xmpExt:DigitalSourceType", DST + "compositeSynthetic")
    return gif(picture(25), comment=b"drawn by make_samples.py", xmp=xmp_packet(body))


def iptc_digitalcapture_jpg() -> bytes:
    body = "\n".join(
        [
            element("Iptc4xmpExt:DigitalSourceType", DST + "digitalCapture"),
            lang_alt("dc:description", "A test card photographed on a desk"),
        ]
    )
    return encode(picture(26), "JPEG", quality=85, xmp=xmp_packet(body))


def camera_exif_jpg() -> bytes:
    from PIL.TiffImagePlugin import IFDRational

    exif = exif_block(
        ifd0={0x010F: "Example Camera Co.", 0x0110: "EC-100", 0x0131: "EC-100 firmware 1.2"},
        exif_ifd={
            0x9003: "2025:03:14 09:26:53",
            0x829A: IFDRational(1, 125),
            0x829D: IFDRational(28, 10),
            0x8827: 200,
            0x920A: IFDRational(35, 1),
        },
    )
    return encode(picture(27), "JPEG", quality=85, exif=exif)


def camera_tiff() -> bytes:
    return encode(
        picture(28),
        "TIFF",
        compression="tiff_deflate",
        tiffinfo={271: "Example Scanner Works", 272: "ES-9", 306: "2025:03:14 09:26:53"},
    )


def caption_mentions_ai_jpg() -> bytes:
    # Negative case: free text that talks about AI is not a generator record.
    caption = "Slide 3: what is Stable Diffusion? An AI explainer. This gradient was not made with AI."
    body = "\n".join(
        [
            lang_alt("dc:description", caption),
            element("xmp:CreatorTool", "make_samples.py (Pillow)"),
        ]
    )
    exif = exif_block(ifd0={0x010E: "Illustration for a talk on AI image generators such as Stable Diffusion"})
    comment = b"Caption: AI and Stable Diffusion explained. Steps: many, Sampler: none, CFG scale: n/a"
    return encode(picture(29), "JPEG", quality=85, xmp=xmp_packet(body), exif=exif, comment=comment)


def caption_mentions_ai_png() -> bytes:
    return png(
        picture(30),
        [
            ("tEXt", "Description", "Comparing Stable Diffusion and DALL-E --side-by-side Job ID: none yet"),
            ("tEXt", "Comment", "made with AI? no: drawn by a script"),
            ("tEXt", "parameters", "Steps: many, Sampler: unknown, Seed: random"),
            ("tEXt", "Software", "make_samples.py"),
        ],
    )


def human_edits_png() -> bytes:
    body = "\n".join(
        [
            element("Iptc4xmpExt:DigitalSourceType", DST + "humanEdits"),
            '   <xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">'
            "<stEvt:action>saved</stEvt:action><stEvt:softwareAgent>GIMP 2.10</stEvt:softwareAgent>"
            "</rdf:li></rdf:Seq></xmpMM:History>",
        ]
    )
    return png(picture(31), [("iTXt", "XML:com.adobe.xmp", xmp_packet(body).decode("utf-8"))])


def plain_gradient_webp() -> bytes:
    return encode(picture(32), "WEBP", quality=80)


# --- Broken files -----------------------------------------------------------


def broken_empty_png() -> bytes:
    return b""


def broken_one_byte_jpg() -> bytes:
    return b"\xff"


def broken_random_jpg() -> bytes:
    data = random.Random(20250101).randbytes(512)
    assert not data.startswith((b"\xff\xd8", b"\x89PNG", b"GIF8", b"RIFF", b"II*", b"MM\x00*", b"BM", b"<"))
    return data


def broken_truncated_png() -> bytes:
    data = png(picture(33), [("tEXt", "parameters", A1111_TEXT)])
    return data[: data.index(b"IDAT") - 4]  # cut at the start of the first IDAT chunk


def broken_truncated_jpg() -> bytes:
    data = encode(picture(34), "JPEG", quality=85, comment=b"cut before its image data")
    return data[: data.index(b"\xff\xda")]  # cut before the start-of-scan marker


# --- Content Credentials ----------------------------------------------------


@dataclass
class SigningChain:
    """The test chain: root (written out), intermediate and signer (in memory only)."""

    root_pem: bytes
    chain_pem: bytes  # signer certificate, then the intermediate
    key_pem: bytes  # the signer's private key; never written to disk


def make_pki() -> SigningChain:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "provenance test samples (not for production)"),
            ]
        )

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        issuer_key: ec.EllipticCurvePrivateKey,
        until: int,
        path_length: int | None,
    ) -> x509.Certificate:
        is_ca = path_length is not None
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(dt.datetime(until, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
            .add_extension(usage(sign=not is_ca), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
        if not is_ca:
            # c2pa-rs requires one of its accepted EKUs; emailProtection is in its
            # default list, documentSigning in the C2PA trust list's.
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ObjectIdentifier("1.3.6.1.5.5.7.3.36")]),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())

    root_key, mid_key, signer_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = certificate("provenance TEST root CA", root_key, "provenance TEST root CA", root_key, 2049, 1)
    mid = certificate("provenance TEST intermediate CA", mid_key, "provenance TEST root CA", root_key, 2047, 0)
    signer = certificate("provenance TEST signer", signer_key, "provenance TEST intermediate CA", mid_key, 2045, None)

    def pem(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    key_pem = signer_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningChain(pem(root), pem(signer) + pem(mid), key_pem)


class Credentials:
    """Signs manifests with the test chain and checks the result with the C2PA Reader."""

    def __init__(self, pki: SigningChain) -> None:
        import c2pa

        self.c2pa = c2pa
        self.pki = pki
        # No thumbnails (keeps the files small); no network in any case.
        self.context = c2pa.Context(settings=c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
        self.trusting = c2pa.Context(
            settings=c2pa.Settings.from_dict(
                {
                    "trust": {"trust_anchors": pki.root_pem.decode("ascii")},
                    "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
                }
            )
        )

    def sign(
        self,
        manifest: dict[str, Any],
        media_type: str,
        asset: bytes,
        ingredients: Iterable[tuple[dict[str, Any], str, bytes]] = (),
    ) -> bytes:
        c2pa = self.c2pa
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, self.pki.chain_pem, self.pki.key_pem, None)
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest, context=self.context) as builder:
            for definition, ingredient_type, data in ingredients:
                builder.add_ingredient(definition, ingredient_type, io.BytesIO(data))
            out = io.BytesIO()
            builder.sign(signer, media_type, io.BytesIO(asset), out)
        return out.getvalue()

    def state(self, media_type: str, data: bytes, trusted: bool) -> tuple[str, list[str]]:
        """The Reader's validation state and failure codes."""
        context = self.trusting if trusted else None
        stream = io.BytesIO(data)
        reader = (
            self.c2pa.Reader(media_type, stream, context=context) if context else self.c2pa.Reader(media_type, stream)
        )
        with reader:
            store = json.loads(reader.json())
            failures = [
                f["code"] for f in store.get("validation_results", {}).get("activeManifest", {}).get("failure", [])
            ]
            return str(reader.get_validation_state()), failures

    def state_with_fragment(self, media_type: str, init: bytes, fragment: bytes) -> tuple[str, list[str]]:
        """The Reader's state for an init segment validated with one media segment (``Reader.with_fragment``)."""
        reader = self.c2pa.Reader(media_type, io.BytesIO(init))
        with reader:
            reader.with_fragment(media_type, io.BytesIO(init), io.BytesIO(fragment))
            store = json.loads(reader.json())
            failures = [
                f["code"] for f in store.get("validation_results", {}).get("activeManifest", {}).get("failure", [])
            ]
            return str(reader.get_validation_state()), failures


def actions(*items: dict[str, Any]) -> dict[str, Any]:
    return {"label": "c2pa.actions.v2", "data": {"actions": list(items)}}


def c2pa_ai_created(creds: Credentials) -> bytes:
    manifest = {
        "claim_generator_info": [{"name": "ChatGPT", "version": "0.0-test"}],
        "title": "c2pa_ai_created.jpg",
        "assertions": [
            actions(
                {
                    "action": "c2pa.created",
                    "digitalSourceType": DST + "trainedAlgorithmicMedia",
                    "softwareAgent": {"name": "gpt-image-1"},
                }
            ),
            {
                "label": "cawg.training-mining",
                "data": {
                    "entries": {
                        "cawg.ai_generative_training": {"use": "notAllowed"},
                        "cawg.ai_inference": {"use": "notAllowed"},
                    }
                },
            },
        ],
    }
    return creds.sign(manifest, "image/jpeg", encode(picture(40, (128, 96)), "JPEG", quality=85))


def c2pa_capture(creds: Credentials, seed: int = 41, title: str = "c2pa_capture.jpg") -> bytes:
    manifest = {
        "claim_generator_info": [{"name": "Synthetic Test Camera", "version": "1.0"}],
        "title": title,
        "assertions": [actions({"action": "c2pa.created", "digitalSourceType": DST + "digitalCapture"})],
    }
    return creds.sign(manifest, "image/jpeg", encode(picture(seed, (128, 96)), "JPEG", quality=85))


def c2pa_ai_edited(creds: Credentials, parent: bytes, component: bytes) -> bytes:
    manifest = {
        "claim_generator_info": [{"name": "provenance sample editor", "version": "1.0"}],
        "title": "c2pa_ai_edited.png",
        "assertions": [
            actions(
                {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent-photo"]}},
                {"action": "c2pa.placed", "parameters": {"ingredientIds": ["generated-part"]}},
                {
                    "action": "c2pa.edited",
                    "digitalSourceType": DST + "compositeWithTrainedAlgorithmicMedia",
                    "softwareAgent": {"name": "Adobe Firefly"},
                    "description": "generative fill",
                },
            )
        ],
    }
    ingredients = [
        ({"title": "c2pa_capture.jpg", "relationship": "parentOf", "label": "parent-photo"}, "image/jpeg", parent),
        (
            {"title": "c2pa_ai_created.jpg", "relationship": "componentOf", "label": "generated-part"},
            "image/jpeg",
            component,
        ),
    ]
    return creds.sign(manifest, "image/png", png(picture(42, (128, 96))), ingredients)


def c2pa_microsoft_designer(creds: Credentials) -> bytes:
    """The layout of a Microsoft Designer / Bing Image Creator manifest: the product named, no source type.

    A v1 claim, as Microsoft's are; c2pa-rs writes the ``claim_generator``
    string from the ``claim_generator_info`` name. The names are spoofed: the
    signer is the test signer, not Microsoft.
    """
    manifest = {
        "claim_version": 1,
        "claim_generator_info": [{"name": "Microsoft Responsible AI Image Provenance", "version": "1.0"}],
        "title": "c2pa_microsoft_designer.jpg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "softwareAgent": "Image Creator from Designer",
                            "description": "AI Generated Image",
                        }
                    ]
                },
            }
        ],
    }
    return creds.sign(manifest, "image/jpeg", encode(picture(44, (128, 96)), "JPEG", quality=85))


def c2pa_generative_edit(creds: Credentials) -> bytes:
    """An existing picture (an ingredient without credentials) edited by a named generative product.

    No digital source type: only the agent of the c2pa.edited action says
    that a generative model changed the image. The name is spoofed.
    """
    manifest = {
        "claim_generator_info": [{"name": "provenance sample photo editor", "version": "1.0"}],
        "title": "c2pa_generative_edit.jpg",
        "assertions": [
            actions(
                {"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}},
                {
                    "action": "c2pa.edited",
                    "softwareAgent": {"name": "Google Generative AI"},
                    "description": "object removed",
                },
            )
        ],
    }
    original = encode(picture(45, (128, 96)), "JPEG", quality=85)
    ingredients = [({"title": "original.jpg", "relationship": "parentOf", "label": "original"}, "image/jpeg", original)]
    return creds.sign(manifest, "image/jpeg", encode(picture(46, (128, 96)), "JPEG", quality=85), ingredients)


def c2pa_firefly_created(creds: Credentials) -> bytes:
    """Laid out as Adobe Firefly signs a text-to-image result: claim generator ``Adobe_Firefly``, c2pa.created
    by ``Adobe Firefly`` with trainedAlgorithmicMedia. The names are spoofed: the signer is the test signer."""
    manifest = {
        "claim_generator_info": [{"name": "Adobe_Firefly", "version": "0.0-test"}],
        "title": "c2pa_firefly_created.jpg",
        "assertions": [
            actions(
                {
                    "action": "c2pa.created",
                    "digitalSourceType": DST + "trainedAlgorithmicMedia",
                    "softwareAgent": {"name": "Adobe Firefly"},
                    "parameters": {"com.adobe.firefly.operation": "text_to_image"},
                }
            )
        ],
    }
    return creds.sign(manifest, "image/jpeg", encode(picture(47, (128, 96)), "JPEG", quality=85))


def c2pa_adobe_generative_assertion(creds: Credentials) -> bytes:
    """An edit whose only AI statement is Adobe's custom ``com.adobe.generative-ai`` assertion, as early (2023)
    Firefly manifests were reported to carry; no source type, no agent. Spoofed: the signer is the test signer."""
    manifest = {
        "claim_generator_info": [{"name": "provenance sample photo editor", "version": "1.0"}],
        "title": "c2pa_adobe_generative_assertion.jpg",
        "assertions": [
            actions({"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}}, {"action": "c2pa.edited"}),
            {"label": "com.adobe.generative-ai", "data": {"description": "Adobe generative AI was used"}},
        ],
    }
    original = encode(picture(48, (128, 96)), "JPEG", quality=85)
    ingredients = [({"title": "original.jpg", "relationship": "parentOf", "label": "original"}, "image/jpeg", original)]
    return creds.sign(manifest, "image/jpeg", encode(picture(49, (128, 96)), "JPEG", quality=85), ingredients)


def c2pa_google_created(creds: Credentials) -> bytes:
    """c2pa.created by ``Imagen`` with trainedAlgorithmicMedia, as Google's generated images are reported to
    carry. The name is spoofed: the signer is the test signer."""
    manifest = {
        "claim_generator_info": [{"name": "provenance sample generator", "version": "1.0"}],
        "title": "c2pa_google_created.jpg",
        "assertions": [
            actions(
                {
                    "action": "c2pa.created",
                    "digitalSourceType": DST + "trainedAlgorithmicMedia",
                    "softwareAgent": {"name": "Imagen"},
                }
            )
        ],
    }
    return creds.sign(manifest, "image/jpeg", encode(picture(50, (128, 96)), "JPEG", quality=85))


def c2pa_agent_edit(creds: Credentials, title: str, agent: Any, seed: int) -> bytes:
    """An existing picture (an ingredient without credentials) edited by a named generative product, with no
    source type: only the agent of the c2pa.edited action says a generative model changed it. Spoofed name."""
    manifest = {
        "claim_generator_info": [{"name": "provenance sample photo editor", "version": "1.0"}],
        "title": title,
        "assertions": [
            actions(
                {"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}},
                {"action": "c2pa.edited", "softwareAgent": agent, "description": "background replaced"},
            )
        ],
    }
    original = encode(picture(seed, (128, 96)), "JPEG", quality=85)
    ingredients = [({"title": "original.jpg", "relationship": "parentOf", "label": "original"}, "image/jpeg", original)]
    return creds.sign(manifest, "image/jpeg", encode(picture(seed + 1, (128, 96)), "JPEG", quality=85), ingredients)


def tamper_jpeg(data: bytes) -> bytes:
    """Flip one bit of the entropy-coded image data, after the manifest and headers."""
    scan = data.index(b"\xff\xda")
    (length,) = struct.unpack_from(">H", data, scan + 2)
    position = scan + 2 + length + 40
    while data[position] == 0xFF or data[position - 1] == 0xFF or data[position] ^ 0x01 == 0xFF:
        position += 1
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


# --- Video and audio (made with ffmpeg) -------------------------------------
#
# Test patterns (lavfi ``testsrc``, ``smptebars``, ``color``) and sine tones,
# 64x48 and a second or two long, so each file is a few KB. Every encoder and
# muxer runs bit-exact, single-threaded and with ``-map_metadata -1`` before
# the tags of the tool imitated, so the unsigned files are byte-identical on
# every run with the same ffmpeg build.


class FfmpegMissing(SystemExit):
    pass


def ffmpeg_path() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise FfmpegMissing(
            "make_samples.py: ffmpeg not found on PATH. The video and audio samples are made with ffmpeg "
            "(Debian: apt-get install ffmpeg). Only regenerating needs it: the committed samples are what "
            "the tests use. Nothing was written."
        )
    return path


def ffmpeg(*args: str, suffix: str) -> bytes:
    """Run ffmpeg with ``args`` and the output file name last; return the output's bytes."""
    with tempfile.TemporaryDirectory(prefix="provenance-samples-") as folder:
        out = Path(folder) / f"out{suffix}"
        command = [ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, str(out)]
        subprocess.run(command, check=True, cwd=folder)
        return out.read_bytes()


def ffmpeg_files(*args: str, output: str) -> dict[str, bytes]:
    """Run ffmpeg writing several files into a fresh folder (``output`` is the name ffmpeg is given)."""
    with tempfile.TemporaryDirectory(prefix="provenance-samples-") as folder:
        command = [ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, output]
        subprocess.run(command, check=True, cwd=folder)
        return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def pattern(source: str = "testsrc", seconds: int = 1) -> tuple[str, ...]:
    """A lavfi video source: ``testsrc``, ``smptebars`` or ``color=c=<colour>``, 64x48 at 10 frames/s."""
    separator = ":" if "=" in source else "="
    return ("-f", "lavfi", "-i", f"{source}{separator}size=64x48:rate=10:duration={seconds}")


def tone(frequency: int = 440, seconds: int = 1) -> tuple[str, ...]:
    """A lavfi sine tone, 8 kHz mono."""
    return ("-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=8000:duration={seconds}")


BITEXACT = ("-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1")
H264 = (
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "36", "-pix_fmt", "yuv420p", "-threads", "1",
    "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
)  # fmt: skip
AAC = ("-c:a", "aac", "-b:a", "16k", "-ac", "1")


def mp4_video(source: str, *extra: str, suffix: str = ".mp4", seconds: int = 1) -> bytes:
    """H.264 + AAC in MP4 (or MOV with ``suffix=".mov"``), plus ``extra`` output options."""
    return ffmpeg(*pattern(source, seconds), *tone(330, seconds), *BITEXACT, *H264, *AAC, *extra, suffix=suffix)


def m4a_audio() -> bytes:
    return ffmpeg(*tone(523), *BITEXACT, *AAC, suffix=".m4a")


def wav_audio(frequency: int) -> bytes:
    return ffmpeg(*tone(frequency), *BITEXACT, "-c:a", "pcm_u8", suffix=".wav")


def avi_video() -> bytes:
    return ffmpeg(*pattern("color=c=teal"), *tone(392), *BITEXACT, "-c:v", "mjpeg", "-q:v", "31", "-c:a", "pcm_u8",
                  suffix=".avi")  # fmt: skip


def mp3_audio() -> bytes:
    return ffmpeg(*tone(587), *BITEXACT, "-c:a", "libmp3lame", "-b:a", "16k", suffix=".mp3")


def flac_audio() -> bytes:
    return ffmpeg(*tone(659), *BITEXACT, "-c:a", "flac", suffix=".flac")


# ComfyUI video workflows: the same API graph shape as for images, ending in
# VideoHelperSuite's "Video Combine" node. Every name and value is made up.
COMFY_VIDEO_PROMPT = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "example_video_model.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red cube turning on a table", "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 384, "batch_size": 16}},
    "5": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 42,
            "steps": 20,
            "cfg": 6.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["1", 0],
            "positive": ["2", 0],
            "negative": ["3", 0],
            "latent_image": ["4", 0],
        },
    },
    "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
    "7": {
        "class_type": "VHS_VideoCombine",
        "inputs": {
            "frame_rate": 8,
            "loop_count": 0,
            "filename_prefix": "AnimateDiff",
            "format": "video/h264-mp4",
            "pingpong": False,
            "save_output": True,
            "images": ["6", 0],
        },
    },
}
COMFY_VIDEO_WORKFLOW = {
    "last_node_id": 7,
    "last_link_id": 3,
    "nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "pos": [0, 0], "size": [300, 100],
         "widgets_values": ["example_video_model.safetensors"]},
        {"id": 5, "type": "KSampler", "pos": [400, 0], "size": [300, 260], "widgets_values": [42, "fixed", 20]},
        {"id": 7, "type": "VHS_VideoCombine", "pos": [800, 0], "size": [300, 400],
         "widgets_values": {"frame_rate": 8, "loop_count": 0, "format": "video/h264-mp4"}},
    ],
    "links": [[1, 1, 0, 5, 0, "MODEL"], [2, 5, 0, 6, 0, "LATENT"], [3, 6, 0, 7, 0, "IMAGE"]],
    "groups": [],
    "config": {},
    "extra": {},
    "version": 0.4,
}  # fmt: skip


def comfyui_comment_mp4() -> bytes:
    # VideoHelperSuite before 2026-01: one `comment` tag, json.dumps({"prompt": ..., "workflow": ...});
    # in MP4 without use_metadata_tags ffmpeg stores `comment` as moov/udta/meta/ilst ©cmt.
    comment = json.dumps({"prompt": COMFY_VIDEO_PROMPT, "workflow": COMFY_VIDEO_WORKFLOW})
    return mp4_video("testsrc", "-metadata", f"comment={comment}")


def comfyui_tags_mp4() -> bytes:
    # VideoHelperSuite since 2026-01 (and ComfyUI core's SaveVideo): separate `prompt` and `workflow`
    # tags with -movflags use_metadata_tags, stored as moov/udta/meta keys + mdta items.
    return mp4_video(
        "smptebars",
        "-movflags",
        "use_metadata_tags",
        "-metadata",
        f"prompt={json.dumps(COMFY_VIDEO_PROMPT)}",
        "-metadata",
        f"workflow={json.dumps(COMFY_VIDEO_WORKFLOW)}",
    )


def comfyui_webm() -> bytes:
    # VP9 + Opus WebM; ffmpeg's Matroska muxer writes the tags as SimpleTag PROMPT and WORKFLOW.
    return ffmpeg(
        *pattern("testsrc"),
        *tone(440),
        *BITEXACT,
        "-c:v", "libvpx-vp9", "-b:v", "40k", "-threads", "1", "-row-mt", "0", "-deadline", "good", "-cpu-used", "4",
        "-c:a", "libopus", "-b:a", "12k", "-ar", "48000",
        "-metadata", f"prompt={json.dumps(COMFY_VIDEO_PROMPT)}",
        "-metadata", f"workflow={json.dumps(COMFY_VIDEO_WORKFLOW)}",
        suffix=".webm",
    )  # fmt: skip


def comfyui_mkv() -> bytes:
    # VideoHelperSuite's FFV1 Matroska format (lossless), tags as SimpleTag PROMPT and WORKFLOW.
    return ffmpeg(
        *pattern("color=c=orange"),
        *BITEXACT,
        "-c:v", "ffv1", "-threads", "1",
        "-metadata", f"prompt={json.dumps(COMFY_VIDEO_PROMPT)}",
        "-metadata", f"workflow={json.dumps(COMFY_VIDEO_WORKFLOW)}",
        suffix=".mkv",
    )  # fmt: skip


def plain_mp4() -> bytes:
    # No tags of ours; the muxer runs without +bitexact so that it writes its own encoder tag
    # (moov/udta/meta/ilst ©too "Lavf<version>"), as any ffmpeg export has.
    return ffmpeg(
        *pattern("color=c=navy"), *tone(262), "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-map_metadata", "-1", *H264, *AAC, suffix=".mp4",
    )  # fmt: skip


def boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    """The top-level ISO BMFF boxes of ``data``: (offset, size, type); 32-bit sizes only (all ffmpeg writes here)."""
    out = []
    position = 0
    while position + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, position)
        if size < 8:
            raise ValueError(f"unexpected box size {size} at {position}")
        out.append((position, size, kind))
        position += size
    return out


def flip_byte(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def tamper_mdat(data: bytes) -> bytes:
    """Flip one bit in the middle of the first ``mdat`` box's payload."""
    offset, size, _ = next(box for box in boxes(data) if box[2] == b"mdat")
    return flip_byte(data, offset + 8 + (size - 8) // 2)


def tamper_wav(data: bytes) -> bytes:
    """Flip one bit in the middle of the WAV ``data`` chunk."""
    position = 12
    while position + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, position)
        if kind == b"data":
            return flip_byte(data, position + 8 + size // 2)
        position += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def split_fragmented(data: bytes) -> tuple[bytes, list[bytes]]:
    """Cut a fragmented MP4 into an init segment (everything before the first ``moof``) and media
    segments (``styp`` + each ``moof``/``mdat`` pair, as DASH segments start); ``mfra`` is dropped."""
    top = boxes(data)
    first = next(offset for offset, _, kind in top if kind == b"moof")
    styp = struct.pack(">I4s4sI4s4s", 24, b"styp", b"msdh", 0, b"msdh", b"msix")
    segments: list[bytes] = []
    for offset, size, kind in top:
        if kind == b"moof":
            segments.append(styp + data[offset : offset + size])
        elif kind == b"mdat":
            segments[-1] += data[offset : offset + size]
    return data[:first], segments


def ai_media_manifest(title: str, agent: str, source_type: str = "trainedAlgorithmicMedia") -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "provenance sample media generator", "version": "1.0"}],
        "title": title,
        "assertions": [
            actions(
                {"action": "c2pa.created", "digitalSourceType": DST + source_type, "softwareAgent": {"name": agent}}
            )
        ],
    }


def c2pa_firefly_ingredient_mp4(creds: Credentials) -> bytes:
    """An editor's export laid out as an Adobe Premiere export with a Firefly-made clip: the active
    manifest (a v1 claim) has no actions, only the ingredient; the ingredient's own manifest (v1 too: a v1
    claim cannot hold a v2 ingredient) declares c2pa.edited by ``Adobe Firefly`` with
    compositeWithTrainedAlgorithmicMedia. Spoofed names: the signer is the test signer."""
    clip_manifest = {
        "claim_version": 1,
        "claim_generator_info": [{"name": "Adobe_Firefly", "version": "0.0-test"}],
        "title": "firefly_clip.mp4",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.edited",
                            "digitalSourceType": DST + "compositeWithTrainedAlgorithmicMedia",
                            "softwareAgent": "Adobe Firefly",
                            "description": "generative extend",
                        }
                    ]
                },
            }
        ],
    }
    clip = creds.sign(clip_manifest, "video/mp4", mp4_video("color=c=purple"))
    export_manifest = {
        "claim_version": 1,
        "claim_generator_info": [{"name": "provenance sample video editor", "version": "1.0"}],
        "title": "c2pa_firefly_ingredient.mp4",
        "assertions": [],
    }
    ingredients = [({"title": "firefly_clip.mp4", "relationship": "componentOf"}, "video/mp4", clip)]
    return creds.sign(export_manifest, "video/mp4", mp4_video("smptebars", seconds=2), ingredients)


# --- The catalogue ----------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    verdict: str
    state: str
    rules: tuple[str, ...]  # rules that should fire (documentation; the tests check families)
    what: str


UNSIGNED: list[tuple[Sample, Callable[[], bytes]]] = [
    (
        Sample(
            "a1111_parameters.png",
            "ai-generated",
            "none",
            ("A1111-001", "A1111-005"),
            "PNG tEXt `parameters` with AUTOMATIC1111 infotext, and `postprocessing` from the Extras tab",
        ),
        a1111_parameters_png,
    ),
    (
        Sample(
            "forge_usercomment.jpg",
            "ai-generated",
            "none",
            ("A1111-001", "A1111-002"),
            "JPEG EXIF UserComment, `UNICODE\\0` + UTF-16BE (as piexif writes for A1111), Forge version `f2.0.1…`",
        ),
        forge_usercomment_jpg,
    ),
    (
        Sample(
            "sdnext_usercomment.webp",
            "ai-generated",
            "none",
            ("A1111-001", "A1111-003"),
            "WebP EXIF chunk, UserComment `UNICODE\\0` + UTF-16BE with `App: SD.Next`",
        ),
        sdnext_usercomment_webp,
    ),
    (
        Sample(
            "civitai_itxt.png",
            "ai-generated",
            "none",
            ("A1111-001", "A1111-004"),
            "PNG iTXt `parameters` (non-Latin-1 prompt) with `Civitai resources`",
        ),
        civitai_itxt_png,
    ),
    (
        Sample(
            "a1111_comment.gif", "ai-generated", "none", ("A1111-001",), "GIF comment extension holding A1111 infotext"
        ),
        a1111_comment_gif,
    ),
    (
        Sample(
            "comfyui.png",
            "ai-generated",
            "none",
            ("COMFYUI-001", "COMFYUI-002"),
            "PNG tEXt `prompt` (API graph) and `workflow` (UI graph) JSON",
        ),
        comfyui_png,
    ),
    (
        Sample(
            "comfyui_exif.webp",
            "ai-generated",
            "none",
            ("COMFYUI-003",),
            "lossless WebP, EXIF Model = `prompt:`+JSON and Make = `workflow:`+JSON (ComfyUI WebP saver)",
        ),
        comfyui_exif_webp,
    ),
    (
        Sample(
            "misnamed_png.jpg",
            "ai-generated",
            "none",
            ("COMFYUI-001", "CONTAINER-001"),
            "PNG content under a .jpg name, with a ComfyUI `prompt` chunk",
        ),
        misnamed_png_as_jpg,
    ),
    (
        Sample(
            "novelai.png",
            "ai-generated",
            "none",
            ("NOVELAI-001", "NOVELAI-002", "NOVELAI-003"),
            "PNG tEXt Title/Description/Software/Source and zTXt `Comment` JSON (NovelAI)",
        ),
        novelai_png,
    ),
    (
        Sample(
            "novelai.webp",
            "ai-generated",
            "none",
            ("NOVELAI-002", "NOVELAI-003"),
            "WebP EXIF: Software = model + hash, UserComment `ASCII\\0\\0\\0` + settings JSON (NovelAI)",
        ),
        novelai_webp,
    ),
    (
        Sample(
            "invokeai.png",
            "ai-generated",
            "none",
            ("INVOKEAI-001", "INVOKEAI-002"),
            "PNG tEXt `invokeai_metadata` and `invokeai_graph` JSON",
        ),
        invokeai_png,
    ),
    (
        Sample(
            "invokeai_legacy.png",
            "ai-generated",
            "none",
            ("INVOKEAI-003", "INVOKEAI-004"),
            "PNG tEXt `sd-metadata` JSON and `Dream` command line (InvokeAI 2.x)",
        ),
        invokeai_legacy_png,
    ),
    (
        Sample(
            "invokeai_dream.png",
            "ai-generated",
            "none",
            ("INVOKEAI-004",),
            "PNG tEXt `Dream` command line alone (InvokeAI 2.x dream: quoted prompt, -s -S -W -H -C -A switches)",
        ),
        invokeai_dream_png,
    ),
    (
        Sample(
            "civitai_comfyui.jpg",
            "ai-generated",
            "none",
            ("COMFYUI-004",),
            "JPEG EXIF UserComment `UNICODE\\0` + UTF-16BE: a ComfyUI graph as Civitai's generator writes it "
            "(named nodes `resource-stack`, AIR URN models, non-node keys `extra` and `extraMetadata`)",
        ),
        civitai_comfyui_jpg,
    ),
    (
        Sample(
            "fooocus.png",
            "ai-generated",
            "none",
            ("FOOOCUS-001", "FOOOCUS-002"),
            "PNG tEXt `parameters` with the Fooocus JSON scheme and `fooocus_scheme`",
        ),
        fooocus_png,
    ),
    (
        Sample(
            "fooocus.jpg",
            "ai-generated",
            "none",
            ("FOOOCUS-003", "A1111-001"),
            "JPEG EXIF Software `Fooocus v2.5.5`, UserComment as a plain string (a1111 scheme), MakerNote",
        ),
        fooocus_jpg,
    ),
    (
        Sample(
            "fooocus_comment.jpg",
            "ai-generated",
            "none",
            ("FOOOCUS-002",),
            "JPEG COM segment holding the Fooocus JSON (older builds)",
        ),
        fooocus_comment_jpg,
    ),
    (
        Sample(
            "swarmui.png",
            "ai-generated",
            "none",
            ("SWARMUI-001",),
            "PNG tEXt `parameters` with SwarmUI `sui_image_params` JSON",
        ),
        swarmui_png,
    ),
    (
        Sample(
            "swarmui_usercomment_le.jpg",
            "ai-generated",
            "none",
            ("SWARMUI-001",),
            "JPEG EXIF UserComment `UNICODE\\0` + UTF-16**LE** (ImageSharp byte order) SwarmUI JSON",
        ),
        swarmui_usercomment_le_jpg,
    ),
    (
        Sample(
            "easydiffusion.png",
            "ai-generated",
            "none",
            ("EASYDIFF-001",),
            "PNG with one tEXt chunk per Easy Diffusion setting",
        ),
        easydiffusion_png,
    ),
    (
        Sample(
            "easydiffusion.jpg",
            "ai-generated",
            "none",
            ("EASYDIFF-002",),
            "JPEG EXIF UserComment `UNICODE\\0` + UTF-16BE JSON settings (Easy Diffusion)",
        ),
        easydiffusion_jpg,
    ),
    (
        Sample(
            "drawthings.png",
            "ai-generated",
            "none",
            ("DRAWTHINGS-001", "DRAWTHINGS-002"),
            "PNG iTXt `XML:com.adobe.xmp`: CreatorTool Draw Things, exif:UserComment JSON",
        ),
        drawthings_png,
    ),
    (
        Sample(
            "midjourney.png",
            "ai-generated",
            "none",
            ("MIDJOURNEY-001",),
            "PNG tEXt `Description` with --flags and a Job ID, `Author`",
        ),
        midjourney_png,
    ),
    (
        Sample(
            "iptc_ai_xmp.jpg",
            "ai-generated",
            "none",
            ("IPTC-010", "IPTCAI-001", "IPTCAI-002", "IPTCAI-003", "IPTCAI-004", "IPTCAI-005", "SOFTWARE-001"),
            "JPEG APP1 XMP: DigitalSourceType trainedAlgorithmicMedia, the four IPTC 2025.1 AI properties, "
            "plus:DataMining, xmp:CreatorTool",
        ),
        iptc_ai_xmp_jpg,
    ),
    (
        Sample(
            "iptc_ai.tiff",
            "ai-generated",
            "none",
            ("IPTC-010", "SOFTWARE-001"),
            "TIFF tag 700 XMP (trainedAlgorithmicMedia) and Software tag naming an image generator",
        ),
        iptc_ai_tiff,
    ),
    (
        Sample(
            "iptc_ai_edited.webp",
            "ai-edited",
            "none",
            ("IPTC-009",),
            "WebP `XMP ` chunk: DigitalSourceType compositeWithTrainedAlgorithmicMedia",
        ),
        iptc_ai_edited_webp,
    ),
    (
        Sample(
            "composite_synthetic.gif",
            "ai-edited",
            "none",
            ("IPTC-020",),
            "GIF XMP application extension (with magic trailer): compositeSynthetic; plus a plain comment",
        ),
        composite_synthetic_gif,
    ),
    (
        Sample(
            "iptc_digitalcapture.jpg",
            "captured",
            "none",
            ("IPTC-001",),
            "JPEG APP1 XMP: DigitalSourceType digitalCapture (unsigned, so low confidence)",
        ),
        iptc_digitalcapture_jpg,
    ),
    (
        Sample(
            "camera_exif.jpg",
            "captured",
            "none",
            ("CAMERA-001",),
            "JPEG with camera EXIF only (Make, Model, exposure); weak evidence",
        ),
        camera_exif_jpg,
    ),
    (
        Sample("camera.tiff", "captured", "none", ("CAMERA-001",), "TIFF with Make/Model/DateTime tags in IFD0"),
        camera_tiff,
    ),
    (
        Sample(
            "caption_mentions_ai.jpg",
            "no-evidence",
            "none",
            (),
            "negative case: XMP dc:description, EXIF ImageDescription and a COM segment that mention AI and "
            "Stable Diffusion in prose",
        ),
        caption_mentions_ai_jpg,
    ),
    (
        Sample(
            "caption_mentions_ai.png",
            "no-evidence",
            "none",
            (),
            "negative case: PNG Description/Comment/parameters/Software text that mentions AI tools but has no "
            "generator structure",
        ),
        caption_mentions_ai_png,
    ),
    (
        Sample(
            "human_edits.png",
            "no-evidence",
            "none",
            ("IPTC-006",),
            "PNG iTXt XMP: DigitalSourceType humanEdits and an xmpMM:History event by GIMP",
        ),
        human_edits_png,
    ),
    (
        Sample("plain_gradient.webp", "no-evidence", "none", (), "WebP with no metadata at all"),
        plain_gradient_webp,
    ),
    (Sample("broken_empty.png", "error", "none", (), "0 bytes"), broken_empty_png),
    (Sample("broken_one_byte.jpg", "error", "none", (), "a single 0xFF byte"), broken_one_byte_jpg),
    (Sample("broken_random.jpg", "error", "none", (), "512 seeded random bytes"), broken_random_jpg),
    (
        Sample(
            "broken_truncated.png",
            "error",
            "none",
            (),
            "PNG cut at its first IDAT chunk (header and an A1111 text chunk survive)",
        ),
        broken_truncated_png,
    ),
    (
        Sample("broken_truncated.jpg", "error", "none", (), "JPEG cut before its start-of-scan marker"),
        broken_truncated_jpg,
    ),
]

SIGNED: list[Sample] = [
    Sample(
        "c2pa_ai_created.jpg",
        "ai-generated",
        "valid",
        ("IPTC-010", "OPENAI-001", "OPENAI-002", "C2PA-001"),
        "C2PA: c2pa.created, trainedAlgorithmicMedia, softwareAgent gpt-image-1, claim generator `ChatGPT` "
        "(a spoofed name: test signer), cawg.training-mining",
    ),
    Sample(
        "c2pa_capture.jpg",
        "captured",
        "valid",
        ("IPTC-001",),
        "C2PA: c2pa.created with digitalCapture (camera-like claim by a test signer)",
    ),
    Sample(
        "c2pa_ai_edited.png",
        "ai-edited",
        "valid",
        ("IPTC-009", "ADOBE-002", "IPTC-001", "IPTC-010", "OPENAI-001", "OPENAI-002", "C2PA-001"),
        "C2PA in PNG: c2pa.opened a parentOf ingredient (the signed capture), c2pa.placed a componentOf "
        "ingredient (the signed AI image), c2pa.edited with compositeWithTrainedAlgorithmicMedia by "
        "`Adobe Firefly` (spoofed name); the ingredients' own findings keep their scope (component AI → ai-edited)",
    ),
    Sample(
        "c2pa_microsoft_designer.jpg",
        "ai-generated",
        "valid",
        ("MICROSOFT-001", "MICROSOFT-002", "C2PA-003"),
        "C2PA v1 claim laid out as Microsoft Designer / Bing Image Creator sign theirs: claim generator "
        "`Microsoft Responsible AI Image Provenance`, c2pa.created by `Image Creator from Designer` described "
        "`AI Generated Image`, no digitalSourceType (spoofed names: test signer)",
    ),
    Sample(
        "c2pa_generative_edit.jpg",
        "ai-edited",
        "valid",
        ("GOOGLE-002",),
        "C2PA: c2pa.opened an ingredient without credentials, then c2pa.edited by softwareAgent "
        "`Google Generative AI` (spoofed name: test signer), no digitalSourceType: the agent of an edit action, "
        "not of the created action, so ai-edited",
    ),
    Sample(
        "c2pa_firefly_created.jpg",
        "ai-generated",
        "valid",
        ("ADOBE-001", "ADOBE-003", "IPTC-010"),
        "C2PA laid out as Adobe Firefly text-to-image: claim generator `Adobe_Firefly`, c2pa.created by "
        "`Adobe Firefly` with trainedAlgorithmicMedia (spoofed names: test signer)",
    ),
    Sample(
        "c2pa_adobe_generative_assertion.jpg",
        "ai-edited",
        "valid",
        ("ADOBE-004",),
        "C2PA: c2pa.opened an ingredient without credentials, c2pa.edited, and Adobe's custom "
        "`com.adobe.generative-ai` assertion as the only AI statement (reported for early Firefly manifests; "
        "spoofed: test signer)",
    ),
    Sample(
        "c2pa_google_created.jpg",
        "ai-generated",
        "valid",
        ("GOOGLE-001", "IPTC-010"),
        "C2PA: c2pa.created by softwareAgent `Imagen` with trainedAlgorithmicMedia (spoofed name: test signer)",
    ),
    Sample(
        "c2pa_openai_edit.jpg",
        "ai-edited",
        "valid",
        ("OPENAI-003",),
        "C2PA: c2pa.opened an ingredient without credentials, then c2pa.edited by softwareAgent `gpt-image-1` "
        "(spoofed name: test signer), no digitalSourceType: an OpenAI model as the agent of an edit, so ai-edited",
    ),
    Sample(
        "c2pa_designer_edit.jpg",
        "ai-edited",
        "valid",
        ("MICROSOFT-003",),
        "C2PA: c2pa.opened an ingredient without credentials, then c2pa.edited by softwareAgent "
        "`Image Creator from Designer` (spoofed name: test signer), no digitalSourceType: ai-edited",
    ),
    Sample(
        "c2pa_tampered.jpg",
        "no-evidence",
        "invalid",
        ("IPTC-001",),
        "C2PA capture claim, then one bit of the image data flipped: assertion.dataHash.mismatch, so the "
        "claim no longer counts",
    ),
]

MEDIA_UNSIGNED: list[tuple[Sample, Callable[[], bytes]]] = [
    (
        Sample(
            "comfyui_comment.mp4",
            "ai-generated",
            "none",
            ("COMFYUI-007",),
            "H.264/AAC MP4 (64x48 test pattern, 1 s) as ComfyUI-VideoHelperSuite's Video Combine wrote it until "
            "January 2026: one `comment` tag (moov/udta/meta/ilst `©cmt`) holding "
            '`{"prompt": <API graph>, "workflow": <UI graph>}`; checkpoint `example_video_model.safetensors` '
            "(made up)",
        ),
        comfyui_comment_mp4,
    ),
    (
        Sample(
            "comfyui_tags.mp4",
            "ai-generated",
            "none",
            ("COMFYUI-005", "COMFYUI-006"),
            "H.264/AAC MP4 as Video Combine writes it since January 2026 (and ComfyUI's SaveVideo): separate "
            "`prompt` and `workflow` tags with `-movflags use_metadata_tags`, i.e. a moov/udta/meta `keys` box "
            "naming them and `mdta` items (tag libraries show them as `0x00000001`, `0x00000002`)",
        ),
        comfyui_tags_mp4,
    ),
    (
        Sample(
            "comfyui.webm",
            "ai-generated",
            "none",
            ("COMFYUI-005", "COMFYUI-006"),
            "VP9/Opus WebM with the ComfyUI graphs as Matroska tags `PROMPT` and `WORKFLOW` (ffmpeg writes the "
            "names upper case); WebM cannot carry embedded Content Credentials",
        ),
        comfyui_webm,
    ),
    (
        Sample(
            "comfyui.mkv",
            "ai-generated",
            "none",
            ("COMFYUI-005", "COMFYUI-006"),
            "FFV1 Matroska (Video Combine's lossless format) with Matroska tags `PROMPT` and `WORKFLOW`; MKV "
            "cannot carry embedded Content Credentials",
        ),
        comfyui_mkv,
    ),
    (
        Sample(
            "plain.mp4",
            "no-evidence",
            "none",
            (),
            "H.264/AAC MP4 with no tags but ffmpeg's own encoder tag (`©too` = `Lavf<version>`)",
        ),
        plain_mp4,
    ),
]

MEDIA_SIGNED: list[Sample] = [
    Sample(
        "c2pa_ai_video.mp4",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "MP4 (H.264/AAC) signed in a C2PA `uuid` box (c2pa.hash.bmff.v3): c2pa.created with "
        "trainedAlgorithmicMedia by `provenance sample video generator`",
    ),
    Sample(
        "c2pa_ai_video.mov",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "QuickTime MOV (ftyp `qt  `) signed: c2pa.created with trainedAlgorithmicMedia",
    ),
    Sample(
        "c2pa_ai_audio.m4a",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "AAC in M4A (ftyp `M4A `) signed: c2pa.created with trainedAlgorithmicMedia by "
        "`provenance sample audio generator`",
    ),
    Sample(
        "c2pa_ai_audio.wav",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "8-bit PCM WAV signed in a RIFF `C2PA` chunk (c2pa.hash.data): c2pa.created with trainedAlgorithmicMedia",
    ),
    Sample(
        "c2pa_ai_video.avi",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "MJPEG/PCM AVI signed in a RIFF `C2PA` chunk: c2pa.created with trainedAlgorithmicMedia",
    ),
    Sample(
        "c2pa_ai_audio.mp3",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "MP3 signed in an ID3v2 `GEOB` frame (mime `application/c2pa`): c2pa.created with trainedAlgorithmicMedia",
    ),
    Sample(
        "c2pa_ai_audio.flac",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "FLAC signed (manifest in an ID3v2 tag before `fLaC`): c2pa.created with trainedAlgorithmicMedia",
    ),
    Sample(
        "c2pa_ai_fragmented.mp4",
        "ai-generated",
        "valid",
        ("IPTC-010",),
        "fragmented MP4 in one file (`-movflags frag_keyframe+empty_moov`: moov with mvex, two moof/mdat "
        "pairs, mfra) signed: c2pa.created with trainedAlgorithmicMedia",
    ),
    Sample(
        "c2pa_tampered.mp4",
        "ai-generated",
        "invalid",
        ("IPTC-010",),
        "signed MP4 declaring trainedAlgorithmicMedia, then one bit flipped in the middle of `mdat`: "
        "assertion.bmffHash.mismatch; the declaration is reported but no longer bound to the file "
        "(as for a tampered AI-declared JPEG: ai-generated, lower confidence)",
    ),
    Sample(
        "c2pa_tampered.wav",
        "no-evidence",
        "invalid",
        ("IPTC-001",),
        "signed WAV declaring a recording (c2pa.created with digitalCapture), then one bit flipped in the "
        "`data` chunk: assertion.dataHash.mismatch, so the claim no longer counts",
    ),
    Sample(
        "c2pa_firefly_ingredient.mp4",
        "ai-edited",
        "valid",
        ("IPTC-009", "ADOBE-001", "ADOBE-002"),
        "an editor's export laid out as Adobe Premiere's with a Firefly clip: the active manifest (v1 claim) "
        "has no actions, only a componentOf ingredient, a signed MP4 whose manifest (claim generator "
        "`Adobe_Firefly`) declares c2pa.edited by `Adobe Firefly` with compositeWithTrainedAlgorithmicMedia: "
        "the AI declaration is only in the ingredient (spoofed names: test signer)",
    ),
    Sample(
        "c2pa_dash_init.mp4",
        "ai-generated",
        "invalid",
        ("IPTC-010",),
        "DASH-style init segment (ftyp, C2PA uuid, moov with mvex; no media data) cut from a signed "
        "fragmented MP4 declaring trainedAlgorithmicMedia; its media segments are `c2pa_dash_chunk-1.m4s` and "
        "`c2pa_dash_chunk-2.m4s`. Read alone the library reports assertion.bmffHash.mismatch: the media the "
        "hash covers is in the fragments (say so, not 'tampered'). c2pa-python 0.38 cannot sign DASH "
        "fragments (no fragment signing API; c2pa-rs's sign_fragmented_files is not exposed), so the hash is "
        "the one-file v3 hash and the set does not validate with its fragments either",
    ),
    Sample(
        "c2pa_dash_chunk-1.m4s",
        "error",
        "none",
        (),
        "first media segment of `c2pa_dash_init.mp4` (`styp` msdh, `moof`, `mdat`): no metadata, no manifest; "
        "checked alone it is `unsupported-format`, naming the init segment and `--fragments`",
    ),
    Sample(
        "c2pa_dash_chunk-2.m4s",
        "error",
        "none",
        (),
        "second media segment of `c2pa_dash_init.mp4`",
    ),
]


def make_signed_media(creds: Credentials) -> dict[str, tuple[str, bytes]]:
    """The signed video and audio samples: name -> (media type, bytes)."""
    video = "provenance sample video generator"
    audio = "provenance sample audio generator"
    frag = ("-movflags", "frag_keyframe+empty_moov")
    out: dict[str, tuple[str, bytes]] = {}

    def sign(
        name: str, media_type: str, asset: bytes, agent: str, source_type: str = "trainedAlgorithmicMedia"
    ) -> bytes:
        return creds.sign(ai_media_manifest(name, agent, source_type), media_type, asset)

    for name, media_type, asset, agent in [
        ("c2pa_ai_video.mp4", "video/mp4", mp4_video("testsrc"), video),
        ("c2pa_ai_video.mov", "video/quicktime", mp4_video("smptebars", suffix=".mov"), video),
        ("c2pa_ai_audio.m4a", "audio/mp4", m4a_audio(), audio),
        ("c2pa_ai_audio.wav", "audio/wav", wav_audio(440), audio),
        ("c2pa_ai_video.avi", "video/x-msvideo", avi_video(), video),
        ("c2pa_ai_audio.mp3", "audio/mpeg", mp3_audio(), audio),
        ("c2pa_ai_audio.flac", "audio/flac", flac_audio(), audio),
        ("c2pa_ai_fragmented.mp4", "video/mp4", mp4_video("color=c=maroon", *frag, seconds=2), video),
    ]:
        out[name] = (media_type, sign(name, media_type, asset, agent))
    tampered = sign("c2pa_tampered.mp4", "video/mp4", mp4_video("color=c=green"), video)
    out["c2pa_tampered.mp4"] = ("video/mp4", tamper_mdat(tampered))
    recording = sign("c2pa_tampered.wav", "audio/wav", wav_audio(494), "Synthetic Test Recorder", "digitalCapture")
    out["c2pa_tampered.wav"] = ("audio/wav", tamper_wav(recording))
    out["c2pa_firefly_ingredient.mp4"] = ("video/mp4", c2pa_firefly_ingredient_mp4(creds))
    # default_base_moof: offsets in each fragment count from its moof, as in DASH segments, so the
    # pieces still play once cut apart and joined again.
    cmaf = ("-movflags", "frag_keyframe+empty_moov+default_base_moof")
    dash = sign("c2pa_dash_init.mp4", "video/mp4", mp4_video("testsrc", *cmaf, seconds=2), video)
    init, segments = split_fragmented(dash)
    if len(segments) != 2:
        raise SystemExit(f"c2pa_dash_init.mp4: expected 2 media segments, ffmpeg wrote {len(segments)}")
    out["c2pa_dash_init.mp4"] = ("video/mp4", init)
    for number, segment in enumerate(segments, 1):
        out[f"c2pa_dash_chunk-{number}.m4s"] = ("video/iso.segment", segment)
    return out


def check_signed_media(creds: Credentials, media: dict[str, tuple[str, bytes]]) -> None:
    """Validate every signed media sample with the C2PA library itself and print what it says."""
    wants: dict[str, tuple[str, str | None]] = {  # name -> (plain state, failure code that must be present)
        "c2pa_tampered.mp4": ("Invalid", "assertion.bmffHash.mismatch"),
        "c2pa_tampered.wav": ("Invalid", "assertion.dataHash.mismatch"),
        "c2pa_dash_init.mp4": ("Invalid", "assertion.bmffHash.mismatch"),
    }
    print(f"{'file':<30} {'bytes':>6}  c2pa (no anchors) / (test CA as anchor)")
    init = media["c2pa_dash_init.mp4"][1]
    for name, (media_type, data) in media.items():
        if name.endswith(".m4s"):
            with_init, codes = creds.state_with_fragment("video/mp4", init, data)
            print(f"{name:<30} {len(data):>6}  with c2pa_dash_init.mp4 via Reader.with_fragment: {with_init} {codes}")
            continue
        plain, plain_failures = creds.state(media_type, data, trusted=False)
        anchored, anchored_failures = creds.state(media_type, data, trusted=True)
        print(f"{name:<30} {len(data):>6}  {plain} {plain_failures} / {anchored} {anchored_failures}")
        want_state, want_code = wants.get(name, ("Valid", None))
        if want_code is None:
            ok = plain == want_state and anchored == "Trusted" and not anchored_failures
        else:
            ok = plain == want_state and want_code in anchored_failures
        if not ok:
            raise SystemExit(f"{name}: unexpected validation {plain} {plain_failures} / {anchored} {anchored_failures}")


def make_signed(pki: SigningChain) -> dict[str, bytes]:
    creds = Credentials(pki)
    ai = c2pa_ai_created(creds)
    capture = c2pa_capture(creds)
    edited = c2pa_ai_edited(creds, parent=capture, component=ai)
    tampered = tamper_jpeg(c2pa_capture(creds, seed=43, title="c2pa_tampered.jpg"))
    out = {
        "c2pa_ai_created.jpg": ai,
        "c2pa_microsoft_designer.jpg": c2pa_microsoft_designer(creds),
        "c2pa_generative_edit.jpg": c2pa_generative_edit(creds),
        "c2pa_firefly_created.jpg": c2pa_firefly_created(creds),
        "c2pa_adobe_generative_assertion.jpg": c2pa_adobe_generative_assertion(creds),
        "c2pa_google_created.jpg": c2pa_google_created(creds),
        "c2pa_openai_edit.jpg": c2pa_agent_edit(creds, "c2pa_openai_edit.jpg", {"name": "gpt-image-1"}, 51),
        "c2pa_designer_edit.jpg": c2pa_agent_edit(creds, "c2pa_designer_edit.jpg", "Image Creator from Designer", 53),
        "c2pa_capture.jpg": capture,
        "c2pa_ai_edited.png": edited,
        "c2pa_tampered.jpg": tampered,
    }
    for name, data in out.items():
        media_type = "image/png" if name.endswith(".png") else "image/jpeg"
        plain, plain_failures = creds.state(media_type, data, trusted=False)
        anchored, anchored_failures = creds.state(media_type, data, trusted=True)
        if name == "c2pa_tampered.jpg":
            ok = plain == "Invalid" and "assertion.dataHash.mismatch" in anchored_failures
        else:
            ok = plain == "Valid" and anchored == "Trusted" and not anchored_failures
        if not ok:
            raise SystemExit(f"{name}: unexpected validation {plain} {plain_failures} / {anchored} {anchored_failures}")
    media = make_signed_media(creds)
    check_signed_media(creds, media)
    out.update((name, data) for name, (_, data) in media.items())
    return out


# --- Output -----------------------------------------------------------------

README_HEAD = """\
# Benign samples: images, video and audio

Synthetic test files for provenance. Each image is a small gradient with a
few shapes drawn by `make_samples.py` with Pillow; each video is a 64x48
ffmpeg test pattern (`testsrc`, `smptebars` or a flat `color`) of one or two
seconds, and each sound a one-second sine tone. They carry metadata written
with the encoding of the tool they imitate. Nothing comes from a generator,
a camera or a recorder; every prompt, model name, seed and job id is made
up. The formats follow `shared/markers/generator-parameters.md`,
`shared/markers/video-audio.md` and the rule files in `rules/`.

Regenerate everything with `python samples_benign/make_samples.py` (needs
Pillow with WebP, `c2pa-python`, `cryptography` and **ffmpeg** on `PATH`
with libx264, libvpx, libopus and libmp3lame, e.g. Debian's `ffmpeg`
package; without ffmpeg the script stops before writing anything). Only
regenerating needs ffmpeg: the tests use the committed files. Unsigned files
come out byte-identical with the same Pillow and ffmpeg builds (ffmpeg runs
bit-exact, single-threaded, with `-map_metadata -1` before the tags); the
signed files and `test-ca.pem` change on every run, because the keys are
new each time. The script validates every signed file with the C2PA library
and prints what it says.

* `expected.json`: for every sample, the verdict and the credentials state of
  a default, offline check (`provenance check <file>`, no extra trust
  anchors). Signed files are `valid`, not `trusted`: the test CA is on no
  shipped trust list. Broken files are `error` with state `none`.
* `test-ca.pem`: the root certificate of the test chain that signed the
  C2PA samples (root → intermediate → signer; ES256; the signer has
  digitalSignature key usage, the emailProtection and documentSigning EKUs,
  is not a CA, and is valid 2025–2045). **For tests only.** The private keys
  exist only in memory while the script runs and are never written to disk,
  so nobody can sign anything else with this chain. With
  `--trust-anchors samples_benign/test-ca.pem` the signed samples come out
  `trusted`.
* The vendor and model names inside the signed manifests (`ChatGPT`,
  `gpt-image-1`, `Adobe Firefly`, `Microsoft Responsible AI Image
  Provenance`, `Image Creator from Designer`, `Google Generative AI`) are
  deliberately spoofed to
  exercise the rules: they show that names in a manifest are free text
  chosen by whoever signs, and the signer here is plainly `provenance TEST
  signer`, not the vendor.
* Video and audio: signed MP4, MOV, M4A, WAV, AVI, MP3 and FLAC declaring
  AI generation; a fragmented MP4; a tampered MP4 and WAV; an export whose
  AI declaration is only in an ingredient; ComfyUI graphs in MP4 tags (the
  old single `comment` and the newer `prompt`/`workflow` `mdta` keys) and
  in WebM/MKV Matroska tags (formats that cannot carry Content
  Credentials); a plain MP4. `c2pa_dash_init.mp4` with
  `c2pa_dash_chunk-1.m4s` and `c2pa_dash_chunk-2.m4s` is a DASH-style set
  cut from a signed fragmented MP4: c2pa-python 0.38 has no API to sign
  DASH fragments (c2pa-rs's `sign_fragmented_files` is not exposed), so the
  init segment carries the one-file hash and reads as
  `assertion.bmffHash.mismatch`, alone and with its fragments. The ComfyUI
  video rows list no rule ids yet: the rules for video tags are new; the
  graphs are the same shape as in `comfyui.png`.
* Checking this folder also reports `README.md`, `expected.json`,
  `make_samples.py` and `test-ca.pem` as `error` (not images).

## Files

| File | Verdict | Credentials | Rules that should fire | What it holds |
|---|---|---|---|---|
"""


def write(name: str, data: bytes) -> None:
    (OUT / name).write_bytes(data)


def main() -> None:
    ffmpeg_path()  # fail before anything is written: the test chain signs images and media together
    samples: list[Sample] = []
    for sample, maker in UNSIGNED + MEDIA_UNSIGNED:
        write(sample.name, maker())
        samples.append(sample)
    pki = make_pki()
    for name, data in make_signed(pki).items():
        write(name, data)
    samples.extend(SIGNED + MEDIA_SIGNED)
    write("test-ca.pem", pki.root_pem)
    samples.sort(key=lambda s: s.name)
    expected = {s.name: {"verdict": s.verdict, "state": s.state} for s in samples}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    rows = [f"| `{s.name}` | {s.verdict} | {s.state} | {', '.join(s.rules) or '—'} | {s.what} |" for s in samples]
    (OUT / "README.md").write_text(README_HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    total = sum((OUT / s.name).stat().st_size for s in samples)
    print(f"wrote {len(samples)} samples ({total} bytes), expected.json, README.md and test-ca.pem to {OUT}")


if __name__ == "__main__":
    main()
