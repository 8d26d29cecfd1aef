"""The static page's JS ports (app/static_inputs.js) against the Python they mirror, on the same inputs,
in node."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from app import handlers
from models.hints import fill_hints, hint_tensor

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed (the static page's JS runs in node here)"
)
MODULE = Path(__file__).resolve().parent.parent / "app" / "static_inputs.js"

# Reads {"call": name, "args": [...]} from stdin; {"b64": ..., "type": ...} args become typed arrays; typed
# array results come back as base64.
RUNNER = """
import * as m from %s;
let text = "";
for await (const chunk of process.stdin) text += chunk;
const types = {u8: Uint8Array, f32: Float32Array};
const bytes = a => new Uint8Array(Buffer.from(a.b64, "base64")).buffer;
const arg = a => (a && a.b64 !== undefined ? new types[a.type](bytes(a)) : a);
const {call, args} = JSON.parse(text);
const values = args.map(arg);
const result = m[call](...values);
const out = ArrayBuffer.isView(result) ? {b64: Buffer.from(result.buffer).toString("base64")} : result;
process.stdout.write(JSON.stringify(out));
"""


def js(call: str, *args):
    def wrap(a):
        if isinstance(a, np.ndarray):
            kind = {np.uint8: "u8", np.float32: "f32"}[a.dtype.type]
            return {"b64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode(), "type": kind}
        return a

    script = RUNNER % json.dumps(MODULE.as_uri())
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        input=json.dumps({"call": call, "args": [wrap(a) for a in args]}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(done.stdout)
    return base64.b64decode(out["b64"]) if isinstance(out, dict) else out


def drawing(kind: str = "edges", seed: int = 0) -> Image.Image:
    """A 512 px drawing with thin and thick strokes, anti-aliased by a blur as canvas strokes are."""
    rng = np.random.default_rng(seed)
    labels = [colour for _, colour in handlers.FACADE_LABELS]
    image = Image.new("RGB", (512, 512), labels[0] if kind == "labels" else (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        points = [tuple(int(v) for v in rng.integers(0, 512, 2)) for _ in range(3)]
        colour = labels[rng.integers(1, len(labels))] if kind == "labels" else (0, 0, 0)
        draw.line(points, fill=colour, width=int(rng.integers(1, 14)))
    if kind != "labels":
        from PIL import ImageFilter

        image = image.filter(ImageFilter.GaussianBlur(0.7))
    return image


def hint_layer(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    layer = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(4):
        points = [tuple(int(v) for v in rng.integers(0, 512, 2)) for _ in range(2)]
        draw.line(
            points, fill=(*(int(v) for v in rng.integers(0, 256, 3)), 255), width=int(rng.integers(3, 20))
        )
    return layer


def test_bicubic_resize_is_pils():
    image = drawing()
    rgb = np.asarray(image)
    out = np.frombuffer(js("resizeBicubic", rgb, 512, 512, 256, 256), np.uint8).reshape(256, 256, 3)
    assert np.array_equal(out, np.asarray(image.resize((256, 256), Image.BICUBIC)))


def test_label_maps_are_resized_and_snapped_as_the_studio_does():
    image = drawing("labels", 1)
    rgb = np.asarray(image)
    small = np.frombuffer(js("resizeNearest", rgb, 512, 512, 256, 256), np.uint8)
    snapped = np.frombuffer(js("snapToPalette", small.copy(), [list(c) for c in handlers.PALETTE]), np.uint8)
    expected = handlers.snap_to_palette(handlers.shrink(image, 256, "labels"))
    assert np.array_equal(snapped.reshape(256, 256, 3), np.asarray(expected))


def test_hint_channels_pool_as_hint_tensor():
    layer = hint_layer()
    out = np.zeros(4 * 256 * 256, np.float32)
    got = np.frombuffer(js("hintChannels", np.asarray(layer), 512, 512, 256, out, 0), np.float32)
    expected = hint_tensor(layer, (0, 0, 256, 256), 256)[0].numpy().ravel()
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("mode", ["harmonic", "nearest"])
def test_hint_fill_matches_fill_hints(mode):
    lines = torch.from_numpy(np.asarray(drawing(seed=2).resize((256, 256), Image.BICUBIC)).copy())
    lines = lines.permute(2, 0, 1)[None].float() / 127.5 - 1
    hints = hint_tensor(hint_layer(3), (0, 0, 256, 256), 256)
    x = torch.cat([lines, hints, torch.zeros(1, 4, 256, 256)], 1)[0].numpy().ravel()
    got = np.frombuffer(js("fillHints", x, 256, 3, 7, mode), np.float32).reshape(11, 256, 256)[7:]
    expected = fill_hints(lines, hints, mode)[0].numpy()
    np.testing.assert_allclose(got[3], expected[3], atol=1e-6)  # reach: the same path lengths
    if mode == "harmonic":
        np.testing.assert_allclose(got[:3], expected[:3], atol=1e-4)
    else:  # where two hints' paths tie exactly, the page may take the other one's colour
        assert (np.abs(got[:3] - expected[:3]) <= 1e-4).all(0).mean() >= 0.99


def test_hint_fill_without_hints_is_zero():
    x = np.zeros(11 * 256 * 256, np.float32)
    x[: 3 * 256 * 256] = 1.0
    got = np.frombuffer(js("fillHints", x, 256, 3, 7, "harmonic"), np.float32).reshape(11, -1)
    assert got[:3].all() and not got[3:].any()


def test_palette_draw_follows_torch_generator():
    seeds = [0, 1, 7, 12345, 2**31 - 1]
    expected = []
    for seed in seeds:
        rng = torch.Generator()
        rng.manual_seed(seed)
        expected.append(int(torch.randint(512, (1,), generator=rng)))
    assert [js("paletteIndex", seed, 512) for seed in seeds] == expected
