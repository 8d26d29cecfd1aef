"""Tiny synthetic data and models the tests make themselves."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.browser import CHROMIUM
from models import GeneratorConfig, ModelConfig, save_model
from models.networks import Generator

TINY = dict(ngf=4, ndf=4, num_downs=6, load_size=72, crop_size=64, save_every=10**6, sample_every=10**6)


def tiny(name: str, data: Path, **kw):
    """A run config for the tiny networks and 64-px crops the tests train."""
    from training.config import make_config

    return make_config(name, str(data), **{**TINY, **kw})


def make_pair(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """An edges|photo pair: a coloured disc on a coloured ground, and its outline."""
    photo = Image.new("RGB", (size, size), tuple(int(x) for x in rng.integers(0, 255, 3)))
    cx, cy = (int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
    r = size // 6
    box = [cx - r, cy - r, cx + r, cy + r]
    ImageDraw.Draw(photo).ellipse(box, fill=tuple(int(x) for x in rng.integers(0, 255, 3)))
    edges = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(edges).ellipse(box, outline="black")
    pair = Image.new("RGB", (2 * size, size))
    pair.paste(edges, (0, 0))
    pair.paste(photo, (size, 0))
    return pair


def cat_face_photo() -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A 512x256 'photo' with a drawn cat face (ears, yellow eyes with slit pupils, pink nose) at x 200..456,
    which OpenCV's cat-face cascade finds; and the face's square. The cascade is picky about scale and
    contrast: this one was found by trying sizes and colours, so change it only with the tests that use it."""
    face = Image.new("RGB", (256, 256), (60, 60, 60))
    d = ImageDraw.Draw(face)
    fur, dark = (230, 200, 160), (40, 40, 20)
    d.polygon([(70, 110), (80, 40), (120, 90)], fill=fur)
    d.polygon([(186, 110), (176, 40), (136, 90)], fill=fur)
    d.ellipse([60, 70, 196, 200], fill=fur)
    for cx in (100, 156):
        d.ellipse([cx - 16, 115, cx + 16, 140], fill=(200, 190, 60))
        d.ellipse([cx - 5, 115, cx + 5, 140], fill=dark)
    d.polygon([(120, 155), (136, 155), (128, 165)], fill=(200, 120, 120))
    d.line([(128, 165), (128, 175)], fill=dark, width=2)
    d.arc([108, 165, 128, 185], 0, 180, fill=dark, width=2)
    d.arc([128, 165, 148, 185], 0, 180, fill=dark, width=2)
    photo = Image.new("RGB", (512, 256), (60, 60, 60))
    photo.paste(face.filter(ImageFilter.GaussianBlur(1.5)), (200, 0))
    return photo, (260, 70, 136, 130)


def make_dataset(root: Path, n_train: int = 6, n_val: int = 2, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            make_pair(rng, size).save(root / split / f"{i:03d}.png")
    return root


def make_model(folder: Path, ngf: int = 4, num_downs: int = 8, input_kind: str = "edges", name: str = "tiny") -> Path:
    gen_cfg = GeneratorConfig(ngf=ngf, num_downs=num_downs)
    return save_model(folder, Generator(gen_cfg), ModelConfig(name=name, generator=gen_cfg, input_kind=input_kind))


def without_generator_field(folder: Path, key: str) -> Path:
    """A tiny model folder whose config lacks generator[key], as written before that option existed."""
    folder = make_model(folder, num_downs=5)
    saved = json.loads((folder / "config.json").read_text())
    del saved["generator"][key]
    (folder / "config.json").write_text(json.dumps(saved))
    return folder


def resumed_and_uninterrupted_logs(make_cfg, runs: Path, stop_at: int) -> tuple[list[str], list[str]]:
    """log.jsonl of a run trained in one go, and of the same run stopped after `stop_at` steps (as a
    kill after a checkpoint would) and resumed: exact resume makes them equal."""
    from training.trainer import Trainer

    Trainer(make_cfg(), runs / "a", progress=False).fit()
    interrupted = Trainer(make_cfg(), runs / "b", progress=False)
    interrupted.total_steps = stop_at
    interrupted.fit()
    resumed = Trainer(make_cfg(), runs / "b", progress=False)
    assert resumed.resume() and resumed.step == stop_at
    resumed.fit()
    return [(runs / r / "log.jsonl").read_text().splitlines() for r in "ab"]


def needs_static_page():
    """pytest marks: skip the static page's browser tests without Debian's chromium or node (onnxruntime-web)."""
    import os
    import shutil

    import pytest

    return [
        pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium: apt-get install chromium"),
        pytest.mark.skipif(
            shutil.which("node") is None,
            reason="node is not installed (the page's onnxruntime-web comes from npm): install Node 20, then `npm ci`",
        ),
    ]


def static_stroke(page, points) -> None:
    """A mouse stroke on the static page's canvas through `points`, given as fractions of the canvas."""
    box = page.locator("#canvas .stack").bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for q in xy[1:]:
        page.mouse.move(*q, steps=4)
    page.mouse.up()
