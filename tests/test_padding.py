"""`--padding reflect`: G's and D's convs see the image mirrored past its border instead of zeros."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from helpers import make_dataset, without_generator_field

import models
from models import GeneratorConfig, ModelConfig, export
from models.config import DiscriminatorConfig
from models.networks import Deconv, Discriminator, Down, Generator, ResizeConv
from training.__main__ import main as training_cli
from training.config import make_config
from training.trainer import Trainer

TINY = dict(ngf=4, ndf=4, num_downs=6, load_size=72, crop_size=64, save_every=10**6, sample_every=10**6)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pairs"), n_train=2, n_val=1)


def test_white_paper_has_no_border_with_reflect_and_a_line_with_zeros():
    """Why the option exists: a zero pad round white paper (1.0) is a dark line to the first conv."""
    white = torch.ones(1, 1, 32, 32)
    for padding, framed in (("zeros", True), ("reflect", False)):
        down = Down(1, 1, None, activation=False, padding=padding)
        with torch.no_grad():
            down.conv.weight.fill_(1 / 16)
            down.conv.bias.zero_()
        out = down(white)[0, 0]
        assert torch.allclose(out[1:-1, 1:-1], torch.ones(14, 14))
        assert (out[0].min() < 0.9) == framed and (out[:, -1].min() < 0.9) == framed


def test_a_reflect_resize_conv_is_nearest_x2_then_a_mirrored_3x3_conv():
    torch.manual_seed(0)
    conv, x = ResizeConv(3, 5, padding="reflect"), torch.randn(2, 3, 8, 6)
    upsampled = F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect")
    assert torch.allclose(conv(x), F.conv2d(upsampled, conv.weight, conv.bias), atol=1e-6)


@pytest.mark.parametrize("layer", [ResizeConv, Deconv])
def test_the_same_weights_differ_only_at_the_border(layer):
    torch.manual_seed(0)
    zeros, mirrored, x = layer(3, 5), layer(3, 5, padding="reflect"), torch.randn(1, 3, 8, 8)
    mirrored.load_state_dict(zeros.state_dict())
    diff = (zeros(x) - mirrored(x)).abs()
    assert diff[..., 1:-1, 1:-1].max() < 1e-6 and diff.max() > 0.01


def test_the_default_is_zeros_and_an_old_folder_loads_as_zeros(tmp_path):
    assert GeneratorConfig().padding == "zeros" and DiscriminatorConfig().padding == "zeros"
    assert models.load(without_generator_field(tmp_path, "padding")).config.generator.padding == "zeros"
    with pytest.raises(ValueError, match="padding"):
        ModelConfig.from_dict({"generator": {"padding": "circular"}})
    assert ModelConfig.from_dict({"generator": {"padding": "reflect-outer"}}).generator.padding == "reflect-outer"


def test_reflect_trains_and_a_fine_tune_may_switch_keeping_the_weights(dataset, tmp_path):
    Trainer(make_config("z", str(dataset), max_steps=1, **TINY), tmp_path / "zeros", progress=False).fit()
    source = tmp_path / "zeros" / "model"
    cfg = make_config("r", str(dataset), init_from=str(source), padding="reflect", max_steps=0, **TINY)
    assert cfg.model.generator.padding == "reflect" and cfg.discriminator.padding == "reflect"
    t = Trainer(cfg, tmp_path / "reflect", progress=False)
    t.init_generator()
    t.init_discriminator()
    start = models.load(source).generator.state_dict()
    assert all(torch.equal(start[k], v) for k, v in t.G.state_dict().items())
    assert t.G.enc1.conv.padding_mode == "reflect" and t.D.layer1.conv.padding_mode == "reflect"
    t.cfg.max_steps = 1
    t.fit()
    assert models.load(tmp_path / "reflect" / "model").config.generator.padding == "reflect"
    kept = make_config("k", str(dataset), init_from=str(tmp_path / "reflect" / "model"), **TINY)
    assert kept.model.generator.padding == "reflect"  # a fine-tune keeps its source's unless told


def test_evaluate_scores_the_same_weights_with_another_padding_and_keeps_that_folder(dataset, tmp_path):
    Trainer(make_config("z", str(dataset), max_steps=1, **TINY), tmp_path / "zeros", progress=False).fit()
    source, out = tmp_path / "zeros" / "model", tmp_path / "eval"
    training_cli(["evaluate", "--model", str(source), "--data", str(dataset), "--padding", "reflect-outer",
                  "--no-structure", "--no-cat-faces", "--out", str(out)])
    assert (out / "metrics.json").is_file()
    repadded = models.load(out / "model")
    assert repadded.config.generator.padding == "reflect-outer"
    assert repadded.config.training["padding_from"] == "zeros"
    made_by = models.load(source).config.training.get("command")
    assert repadded.config.training["command"].startswith(f"{made_by}; " if made_by else "python -m training ")
    assert (out / "model" / "model.safetensors").read_bytes() == (source / "model.safetensors").read_bytes()
    for carried in ("discriminator.safetensors", "optimizers.safetensors"):
        assert (out / "model" / carried).read_bytes() == (source / carried).read_bytes()
    assert models.load(source).config.generator.padding == "zeros"  # the source is left as it was


def padding_modes(net: torch.nn.Module, layer: str) -> set[str]:
    return {getattr(m, "border", getattr(m, "padding_mode", None)) for m in getattr(net, layer).modules()} - {None}


@pytest.mark.parametrize("upsample", ["resize", "deconv"])
def test_reflect_outer_mirrors_the_big_maps_and_zero_pads_the_small_ones(upsample):
    """Levels 0-3 (maps of 1/8 of the image or more) mirror; deeper convs zero-pad, in G and in D."""
    g = Generator(GeneratorConfig(ngf=4, num_downs=6, upsample=upsample, padding="reflect-outer"))
    # enc i reads level i - 1; dec k reads level num_downs - k + 1; dec_out reads level 1.
    mirrored = {"enc1", "enc2", "enc3", "enc4", "dec4", "dec5", "dec_out"}
    zeroed = {"enc5", "enc6", "dec1", "dec2", "dec3"}
    assert all(padding_modes(g, name) == {"reflect"} for name in mirrored)
    assert all(padding_modes(g, name) == {"zeros"} for name in zeroed)
    d70 = Discriminator(DiscriminatorConfig(ndf=4, padding="reflect-outer"), 3, 3)
    assert {m.padding_mode for m in d70.modules() if isinstance(m, torch.nn.Conv2d)} == {"reflect"}
    d286 = Discriminator(DiscriminatorConfig(ndf=4, patch=286, padding="reflect-outer"), 3, 3)
    assert padding_modes(d286, "layer4") == {"reflect"} and padding_modes(d286, "layer5") == {"zeros"}


def test_reflect_outer_keeps_the_frame_away_and_the_middle_known():
    """On white paper the border of a reflect-outer G's output is as clean as a reflect G's (the frame is an
    outer-level effect), while its deep layers still see zeros: the output is not the reflect G's."""
    torch.manual_seed(0)
    zeros = Generator(GeneratorConfig(ngf=4, num_downs=6, upsample="resize", dropout=0.0)).eval()
    outer = Generator(GeneratorConfig(ngf=4, num_downs=6, upsample="resize", dropout=0.0,
                                      padding="reflect-outer")).eval()
    mirror = Generator(GeneratorConfig(ngf=4, num_downs=6, upsample="resize", dropout=0.0, padding="reflect")).eval()
    outer.load_state_dict(zeros.state_dict())
    mirror.load_state_dict(zeros.state_dict())
    white, x = torch.ones(1, 3, 64, 64), torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        a, b = zeros(white), outer(white)
        deep = (outer(x) - mirror(x)).abs().max()

    def border_step(y):  # how far the outer 2 px differ from the pixels just inside them
        return float((y[..., :2, 8:-8].mean() - y[..., 4:8, 8:-8].mean()).abs())
    assert border_step(b) < border_step(a) / 100 and deep > 1e-3


@pytest.mark.parametrize("upsample,padding", [("resize", "reflect"), ("deconv", "reflect"),
                                              ("subpixel", "reflect"), ("resize", "reflect-outer")])
def test_onnx_mirrors_as_pytorch(upsample, padding):
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(ngf=4, num_downs=6, upsample=upsample, padding=padding)).eval()
    session = ort.InferenceSession(export.to_onnx(g, 64, half=False), providers=["CPUExecutionProvider"])
    x = torch.rand(1, export.input_channels(g), 64, 64) * 2 - 1
    masks = [torch.empty(s).bernoulli_(0.5) for s in g.dropout_shapes(64, 64)]
    with torch.inference_mode():
        expected = g.net(x, masks).numpy()
    got = session.run(None, {"x": x.numpy(), **{f"mask{i + 1}": m.numpy() for i, m in enumerate(masks)}})[0]
    assert np.abs(got - expected).max() * 127.5 <= 0.01


def test_the_discriminator_mirrors_too():
    d = Discriminator(DiscriminatorConfig(ndf=4, padding="reflect"), 3, 3)
    assert {m.padding_mode for m in d.modules() if isinstance(m, torch.nn.Conv2d)} == {"reflect"}
    assert d(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64)).shape == (1, 1, 6, 6)
