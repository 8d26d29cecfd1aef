"""The networks are the paper's: layer widths, parameter counts, receptive fields, init."""
import pytest
import torch
from torch import nn

from models import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, receptive_field


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def paper_unet():
    torch.manual_seed(0)
    return Generator(GeneratorConfig())


def test_paper_unet_parameter_count(paper_unet):
    assert round(count(paper_unet) / 1e6, 1) == 54.4


def test_paper_unet_layer_shapes(paper_unet):
    """Encoder C64-C128-C256-C512x5; decoder CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128."""
    shapes = {}
    hooks = [
        getattr(paper_unet, name).register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, o.shape))
        for name in [f"enc{i}" for i in range(1, 9)] + [f"dec{i}" for i in range(1, 8)]
    ]
    with torch.no_grad():
        out = paper_unet(torch.randn(1, 3, 256, 256))
    for h in hooks:
        h.remove()
    assert out.shape == (1, 3, 256, 256)
    assert out.abs().max() <= 1.0  # tanh
    enc = [shapes[f"enc{i}"][1] for i in range(1, 9)]
    assert enc == [64, 128, 256, 512, 512, 512, 512, 512]
    assert [shapes[f"enc{i}"][-1] for i in range(1, 9)] == [128, 64, 32, 16, 8, 4, 2, 1]
    # Decoder widths as the paper counts them: the block's output plus the concatenated skip.
    dec = [shapes[f"dec{i}"][1] + enc[7 - i] for i in range(1, 8)]
    assert dec == [1024, 1024, 1024, 1024, 512, 256, 128]
    assert shapes["dec1"][1] == 512  # CD512 before its skip
    assert paper_unet.dec_out.in_channels == 128 and paper_unet.dec_out.out_channels == 3


def test_unet_norms_and_dropout(paper_unet):
    assert isinstance(paper_unet.enc1.norm, nn.Identity)  # no BatchNorm on C64
    assert isinstance(paper_unet.enc8.norm, nn.Identity)  # errata: no norm on the bottleneck
    assert all(isinstance(getattr(paper_unet, f"enc{i}").norm, nn.BatchNorm2d) for i in range(2, 8))
    assert [getattr(paper_unet, f"dec{i}").dropout for i in range(1, 8)] == [0.5, 0.5, 0.5, 0, 0, 0, 0]
    # Batch statistics at test time too: no running averages are kept.
    assert not any("running" in k for k in paper_unet.state_dict())


def test_state_dict_keys_are_readable(paper_unet):
    keys = set(paper_unet.state_dict())
    assert {"enc1.conv.weight", "enc2.norm.weight", "dec1.conv.weight", "dec_out.weight"} <= keys
    assert all(k.count(".") <= 2 for k in keys)


def test_init_is_normal_002(paper_unet):
    w = paper_unet.enc4.conv.weight
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3


def test_dropout_is_noise_at_test_time():
    g = Generator(GeneratorConfig(ngf=8)).eval()
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        assert not torch.equal(g(x), g(x))
        torch.manual_seed(1)
        y1 = g(x)
        torch.manual_seed(1)
        assert torch.equal(y1, g(x))


def test_encoder_decoder_has_no_skips():
    g = Generator(GeneratorConfig(arch="encoder_decoder", ngf=8))
    assert g.dec2.conv.in_channels == 64 and g.dec_out.in_channels == 8
    assert g(torch.randn(1, 3, 256, 256)).shape == (1, 3, 256, 256)


def test_fully_convolutional_at_512():
    g = Generator(GeneratorConfig(ngf=4))
    assert g(torch.randn(1, 3, 512, 512)).shape == (1, 3, 512, 512)


def test_patchgan_70():
    d = Discriminator(DiscriminatorConfig(), 3, 3)
    assert receptive_field(d) == 70
    assert round(count(d) / 1e6, 2) == 2.77
    assert d(torch.randn(1, 3, 256, 256), torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert d.layer1.conv.in_channels == 6  # conditional: sees input and output
    assert [getattr(d, f"layer{i}").conv.out_channels for i in range(1, 5)] == [64, 128, 256, 512]


@pytest.mark.parametrize("patch,size", [(1, 256), (16, 126), (286, 6)])
def test_patchgan_variants(patch, size):
    d = Discriminator(DiscriminatorConfig(patch=patch, ndf=8), 3, 3)
    assert receptive_field(d) == patch
    assert d(torch.randn(1, 3, 256, 256), torch.randn(1, 3, 256, 256)).shape[-1] == size


def test_unconditional_discriminator_sees_output_only():
    d = Discriminator(DiscriminatorConfig(conditional=False, ndf=8), 3, 3)
    assert d.layer1.conv.in_channels == 3
    assert d(None, torch.randn(1, 3, 64, 64)).shape == (1, 1, 6, 6)
