"""benchmarks/interpolate.py: a model between two of one lineage, and a model drawing another's colours."""
from pathlib import Path

import pytest
import torch

import models
from benchmarks import interpolate
from models import GeneratorConfig, ModelConfig
from models.folder import save_model
from models.networks import Generator


def palette_model(folder: Path, seed: int, ngf: int = 4) -> Path:
    torch.manual_seed(seed)
    cfg = GeneratorConfig(ngf=ngf, num_downs=5, palette=True)
    g = Generator(cfg)
    g.palette_prior.uniform_(-1, 1)
    return save_model(folder, g, ModelConfig(name="tiny", generator=cfg))


def test_alpha_walks_from_a_to_b_and_the_prior_is_picked(tmp_path):
    a, b = palette_model(tmp_path / "a", 0), palette_model(tmp_path / "b", 1)
    ga, gb = models.load(a).generator.state_dict(), models.load(b).generator.state_dict()
    half = models.load(interpolate.interpolate(a, b, 0.5, tmp_path / "half", prior_from="a")).generator.state_dict()
    w = "enc2.conv.weight"
    assert torch.allclose(half[w], (ga[w] + gb[w]) / 2, atol=1e-6)
    assert torch.equal(half["palette_prior"], ga["palette_prior"])
    end = models.load(interpolate.interpolate(a, b, 1.0, tmp_path / "end")).generator.state_dict()
    assert all(torch.allclose(end[k], v) for k, v in gb.items())  # B itself, B's colours
    assert models.load(tmp_path / "half").config.training["interpolated"]["alpha"] == 0.5


def test_differently_shaped_generators_are_refused(tmp_path):
    a, b = palette_model(tmp_path / "a", 0), palette_model(tmp_path / "b", 1, ngf=8)
    with pytest.raises(SystemExit, match="differently shaped"):
        interpolate.interpolate(a, b, 0.5, tmp_path / "out")
