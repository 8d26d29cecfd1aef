"""The generator's explicit dropout masks, its ONNX export (models.export) checked with onnxruntime, and the
studio's onnxruntime backend."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image, ImageDraw

import models
from models import export
from models.networks import Generator


def tiny(**kw) -> Generator:
    torch.manual_seed(0)
    g = Generator(models.GeneratorConfig(ngf=4, num_downs=6, **kw))
    with torch.no_grad():  # trained-looking norms, so per-image statistics matter
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return g.eval()


def keep_masks(g: Generator, size: int, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    return [torch.empty(s).bernoulli_(0.5) for s in g.dropout_shapes(size, size)]


@pytest.mark.parametrize(
    "kw", [dict(), dict(hints=True, hint_fill=True, hint_fill_mode="harmonic", palette=True)]
)
def test_given_masks_are_the_seeded_noise(kw):
    """The same masks torch's dropout draws after a seed give the seeded forward, bit for bit."""
    g = tiny(**kw)
    x = torch.rand(1, g.cfg.condition_channels + 4 * g.cfg.palette, 64, 64) * 2 - 1
    with torch.inference_mode():
        torch.manual_seed(3)
        seeded = g(x)
        given = g(x, keep_masks(g, 64, 3))
        other = g(x, keep_masks(g, 64, 4))
    assert [tuple(m.shape) for m in keep_masks(g, 64, 3)] == g.dropout_shapes(64, 64)
    assert torch.equal(seeded, given)
    assert not torch.allclose(seeded, other)


def test_translator_takes_masks(tmp_path):
    g = tiny(palette=True)
    cfg = models.ModelConfig(name="t", generator=g.cfg)
    translator = models.load(models.save_model(tmp_path / "t", g, cfg))
    image = Image.new("RGB", (64, 64), "white")
    torch.manual_seed(5)
    masks = [torch.empty(s).bernoulli_(0.5) for s in translator.generator.dropout_shapes(64, 64)]
    seeded = translator(image, seed=5, size=64, colour=(10, 200, 30))
    given = translator(image, seed=99, size=64, colour=(10, 200, 30), masks=masks)
    assert np.array_equal(np.asarray(seeded), np.asarray(given))


@pytest.mark.parametrize("upsample", ["deconv", "resize", "subpixel"])
@pytest.mark.parametrize("half", [False, True])
def test_onnx_runs_as_pytorch(upsample, half):
    g = tiny(upsample=upsample, hints=True, palette=True)
    onnx_bytes = export.to_onnx(g, 64, half)
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "mask1", "mask2", "mask3"]
    for seed in (0, 1):
        x = torch.rand(1, export.input_channels(g), 64, 64) * 2 - 1
        masks = keep_masks(g, 64, seed)
        with torch.inference_mode():
            expected = g.net(x, masks).numpy()
        got = session.run(None, {"x": x.numpy(), **{f"mask{i + 1}": m.numpy() for i, m in enumerate(masks)}})[
            0
        ]
        # float16 weights: within 2/255 of the float32 network; float32: the same up to summation order
        assert np.abs(got - expected).max() * 127.5 <= (2.0 if half else 0.01)


def test_half_weights_halve_the_file():
    g = tiny()
    assert len(export.to_onnx(g, 64, True)) < 0.6 * len(export.to_onnx(g, 64, False))


def test_per_image_norm_is_batch_norm_at_batch_one():
    norm = torch.nn.BatchNorm2d(8, track_running_stats=False)
    with torch.no_grad():
        norm.weight.normal_(1, 0.3)
        norm.bias.normal_(0, 0.3)
    x = torch.randn(1, 8, 5, 7)
    torch.testing.assert_close(export.PerImageNorm(norm)(x), norm(x))


@pytest.mark.parametrize(
    "kw", [dict(palette=True), dict(hints=True, hint_fill=True, hint_fill_mode="harmonic")]
)
def test_onnx_backend_translates_as_torch(tmp_path, kw):
    """The studio's CPU backend: the same seed gives the same noise, so the same photo within 2/255."""
    g = tiny(**kw)
    folder = models.save_model(tmp_path / "t", g, models.ModelConfig(name="t", generator=g.cfg))
    image = Image.new("RGB", (80, 64), "white")
    ImageDraw.Draw(image).ellipse((10, 10, 60, 50), outline="black", width=3)
    hints = None
    if g.cfg.hints:
        hints = Image.new("RGBA", (80, 64), (0, 0, 0, 0))
        ImageDraw.Draw(hints).line((20, 30, 50, 30), fill=(200, 30, 30, 255), width=4)
    torch_t, onnx_t = models.load(folder), models.load(folder, backend="onnx")
    for seed, size in ((0, 64), (1, 128)):
        a = np.asarray(torch_t(image, hints=hints, seed=seed, size=size), dtype=int)
        b = np.asarray(onnx_t(image, hints=hints, seed=seed, size=size), dtype=int)
        assert np.abs(a - b).max() <= 2
    other = np.asarray(onnx_t(image, hints=hints, seed=5, size=64), dtype=int)
    assert np.abs(other - np.asarray(torch_t(image, hints=hints, seed=0, size=64), dtype=int)).max() > 2


def test_export_static_says_what_is_missing(tmp_path, monkeypatch):
    from app import static
    from app.registry import SHIPPED, Registry

    registry = Registry([SHIPPED])
    if (static.ORT / static.ORT_FILES[0]).is_file():
        with pytest.raises(static.ExportError, match="unknown model.*known: edges2cats"):
            static.export_static(tmp_path / "out", ["nope"], registry)
    monkeypatch.setattr(static, "ORT", tmp_path / "node_modules" / "onnxruntime-web")
    with pytest.raises(static.ExportError, match="npm ci"):
        static.export_static(tmp_path / "out", ["edges2cats"], registry)
    assert not (tmp_path / "out").exists()
