"""The generator's upsampling options: the paper's deconv, resize-conv and ICNR sub-pixel conv."""

import numpy as np
import pytest
import torch
from helpers import make_dataset, without_generator_field
from PIL import Image

import models
from models import GeneratorConfig, ModelConfig, save_model
from models.networks import Generator, SubpixelConv
from training.config import make_config
from training.evaluate import checkerboard_score
from training.trainer import Trainer

MODES = ("deconv", "resize", "subpixel")
TINY = dict(ngf=4, ndf=4, num_downs=6, load_size=72, crop_size=64, save_every=10**6, sample_every=10**6)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pairs"), n_train=2, n_val=1)


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_builds_with_the_same_layout(mode):
    g = Generator(GeneratorConfig(ngf=4, num_downs=6, upsample=mode))
    assert g(torch.zeros(2, 3, 64, 128)).shape == (2, 3, 64, 128)
    keys = {k.split(".")[0] for k in g.state_dict()}
    assert keys == {f"enc{i}" for i in range(1, 7)} | {f"dec{k}" for k in range(1, 6)} | {"dec_out"}
    assert "dec1.conv.weight" in g.state_dict() and "dec_out.weight" in g.state_dict()


def test_the_default_is_the_paper_and_an_unknown_mode_is_refused():
    assert GeneratorConfig().upsample == "deconv"
    assert isinstance(Generator(GeneratorConfig(ngf=4, num_downs=5)).dec_out, torch.nn.ConvTranspose2d)
    with pytest.raises(ValueError, match="upsample must be deconv, resize or subpixel"):
        Generator(GeneratorConfig(ngf=4, num_downs=5, upsample="bilinear"))


def test_a_model_folder_without_the_field_loads_as_deconv(tmp_path):
    assert models.load(without_generator_field(tmp_path, "upsample")).config.generator.upsample == "deconv"


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_trains_a_step_and_round_trips(mode, dataset, tmp_path):
    t = Trainer(make_config("u", str(dataset), upsample=mode, log_every=1, max_steps=1, **TINY), tmp_path,
                progress=False)
    before = {k: v.clone() for k, v in t.G.state_dict().items()}
    t.fit()
    assert any(not torch.equal(before[k], v) for k, v in t.G.state_dict().items())
    loaded = models.load(tmp_path / "model")
    assert loaded.config.generator.upsample == mode
    image = Image.new("RGB", (64, 64), "white")
    ours = models.Translator(t.G, t.cfg.model)
    assert np.array_equal(np.asarray(loaded(image, seed=3, size=64)), np.asarray(ours(image, seed=3, size=64)))


def test_init_from_refuses_an_upsampling_it_cannot_convert(dataset, tmp_path):
    Trainer(make_config("b", str(dataset), max_steps=1, **TINY), tmp_path / "deconv", progress=False).fit()
    Trainer(make_config("r", str(dataset), upsample="resize", max_steps=1, **TINY), tmp_path / "resize",
            progress=False).fit()
    with pytest.raises(ValueError, match="--upsample subpixel: .* has upsample deconv .only deconv -> resize"):
        make_config("c", str(dataset), upsample="subpixel", init_from=str(tmp_path / "deconv" / "model"), **TINY)
    with pytest.raises(ValueError, match="--upsample deconv: .* has upsample resize"):
        make_config("c", str(dataset), upsample="deconv", init_from=str(tmp_path / "resize" / "model"), **TINY)


def test_a_resize_conv_is_the_deconv_it_runs_as_and_projects_back_exactly():
    """ResizeConv runs as a deconv (speed): output and gradients must be upsample-then-conv's, and
    the projection must find the kernel again from that deconv (which checks the tap bookkeeping)."""
    import torch.nn.functional as F

    from models.networks import ResizeConv, deconv_to_resize, resize_to_deconv

    torch.manual_seed(0)
    resize = ResizeConv(5, 3)
    x = torch.randn(2, 5, 7, 9, requires_grad=True)
    reference = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), resize.weight, resize.bias, padding=1)
    out = resize(x)
    assert out.shape == (2, 3, 14, 18) and torch.allclose(out, reference, atol=1e-5)
    for got, want in zip(torch.autograd.grad(out.square().sum(), (x, resize.weight)),
                         torch.autograd.grad(reference.square().sum(), (x, resize.weight))):
        assert torch.allclose(got, want, atol=1e-4)
    deconv = torch.nn.ConvTranspose2d(5, 3, 4, stride=2, padding=1)
    with torch.no_grad():
        deconv.weight.copy_(resize_to_deconv(resize.weight))
        deconv.bias.copy_(resize.bias)
    assert torch.allclose(deconv(x), reference, atol=1e-5)
    assert torch.allclose(deconv_to_resize(deconv.weight), resize.weight, atol=1e-6)


def test_init_from_a_deconv_model_with_resize_keeps_its_output_without_the_checkerboard(dataset, tmp_path):
    """Encoder and biases are copied, the deconvs projected: a random deconv generator, whose output is
    mostly checkerboard, loses it (a layer that has none is kept exactly: the test above)."""
    gen = GeneratorConfig(ngf=4, num_downs=6)
    torch.manual_seed(0)
    source = Generator(gen)
    folder = save_model(tmp_path / "src", source, ModelConfig(generator=gen, training={"preset": "compact"}))
    cfg = make_config("p", str(dataset), upsample="resize", init_from=str(folder), max_steps=1, **TINY)
    assert cfg.model.generator.upsample == "resize" and cfg.model.generator.ngf == 4
    t = Trainer(cfg, tmp_path / "run", progress=False)
    t.init_generator()
    assert isinstance(t.G.dec_out, torch.nn.Conv2d) and not isinstance(t.G.dec_out, torch.nn.ConvTranspose2d)
    for name, value in source.state_dict().items():
        if name.startswith("enc") or name.endswith("bias"):
            assert torch.equal(t.G.state_dict()[name], value), name
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    x = torch.stack([xx, yy, xx * yy])[None]
    torch.manual_seed(1)
    with torch.no_grad():
        before, after = source(x)[0].permute(1, 2, 0).numpy(), t.G(x)[0].permute(1, 2, 0).numpy()
    assert checkerboard_score((after + 1) * 127.5) < checkerboard_score((before + 1) * 127.5) - 0.5
    t.fit()  # and it trains from there
    assert models.load(tmp_path / "run" / "model").config.generator.upsample == "resize"


def initial_checkerboard(mode: str, icnr: bool = True) -> float:
    """Checkerboard score of a freshly initialised generator's output on a smooth input."""
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(ngf=4, upsample=mode))
    if not icnr:
        for m in g.modules():
            if isinstance(m, SubpixelConv):
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 256), torch.linspace(-1, 1, 256), indexing="ij")
    x = torch.stack([xx, yy, xx * yy])[None]
    with torch.no_grad():
        out = g(x)[0].permute(1, 2, 0).numpy()
    return checkerboard_score((out + 1) * 127.5)


def test_icnr_starts_subpixel_free_of_checkerboard():
    resize, subpixel = initial_checkerboard("resize"), initial_checkerboard("subpixel")
    # ICNR makes each sub-pixel kernel equal: the output starts as a nearest upsampling, whose
    # spectrum has notches (not peaks) at the 2-px period; without it, and with deconv, it peaks.
    assert subpixel < resize + 0.2 and resize < 0.3
    assert initial_checkerboard("subpixel", icnr=False) > 1.0
    assert initial_checkerboard("deconv") > 1.0
