"""Palette models (issue 11, colour spread): one colour for the whole object, drawn by seed when none is given."""
import numpy as np
import pytest
import torch
from helpers import make_dataset, make_model, resumed_and_uninterrupted_logs, tiny
from PIL import Image

import models
from models.hints import palette_planes
from training.config import ConfigError, make_config
from training.data import PairDataset
from training.hints import PALETTE_PROBABILITY, object_colours, sample_palette
from training.trainer import Trainer


@pytest.fixture(scope="module")
def palette_model(dataset, tmp_path_factory):
    runs = tmp_path_factory.mktemp("palette")
    t = Trainer(tiny("p", dataset, hints=5, hint_fill="harmonic", palette=True, max_steps=3, log_every=1), runs,
                progress=False)
    t.fit()
    return t, runs / "model"


def test_object_colour_is_the_mean_off_the_white_ground():
    photo = torch.ones(1, 3, 8, 8)  # white ground
    photo[0, :, :2, :2] = torch.tensor([0.5, -0.5, 0.0])[:, None, None]
    photo[0, :, 2:4, :2] = torch.tensor([-0.5, 0.5, 0.0])[:, None, None]
    assert torch.allclose(object_colours(photo), torch.tensor([[0.0, 0.0, 0.0]]))
    grey = torch.full((1, 3, 8, 8), 0.25)  # no white ground: the whole photo
    grey[0, 0, 0, 0] = -0.75
    assert torch.allclose(object_colours(grey)[0], torch.tensor([0.25 - 1 / 64, 0.25, 0.25]))
    white = torch.ones(1, 3, 8, 8)  # all ground: its own colour, not a division by zero
    assert torch.allclose(object_colours(white), torch.ones(1, 3))


def test_palette_is_given_mostly_to_pairs_without_hints():
    photos, hints = torch.zeros(4000, 3, 4, 4), torch.zeros(4000, 4, 4, 4)
    hints[:2000, 3, 0, 0] = 1
    _, given = sample_palette(photos, hints, torch.Generator().manual_seed(0))
    assert abs(given[:2000].float().mean() - PALETTE_PROBABILITY[1]) < 0.04
    assert abs(given[2000:].float().mean() - PALETTE_PROBABILITY[0]) < 0.04
    _, again = sample_palette(photos, hints, torch.Generator().manual_seed(0))
    assert torch.equal(given, again)
    planes = palette_planes(torch.tensor([[0.5, -0.5, 1.0], [0.5, 0.5, 0.5]]), torch.tensor([True, False]), 3, 2)
    assert planes.shape == (2, 4, 3, 2)
    assert torch.equal(planes[0, :, 1, 1], torch.tensor([0.5, -0.5, 1.0, 1.0])) and planes[1].abs().sum() == 0


def test_a_palette_model_builds_keeps_its_prior_and_trains(dataset, palette_model):
    t, folder = palette_model
    assert t.G.enc1.conv.weight.shape[1] == 3 + 4 + 4 + 4  # lines, hints, filled hints, palette
    assert t.D.layer1.conv.weight.shape[1] == 3 + 4 + 3  # D's condition has no palette planes
    assert t.G.enc1.conv.weight[:, -4:].abs().sum() > 0
    # The prior is the training photos' object colours: every entry is one of the six photos' own.
    photos = object_colours(t.data.targets.float().div(127.5).sub(1.0))
    assert all((photos - c).abs().max(dim=1).values.min() < 1e-5 for c in t.G.palette_prior)
    assert len({tuple(c.tolist()) for c in t.G.palette_prior}) == len(photos)
    loaded = models.load(folder)
    assert loaded.has_palette and torch.equal(loaded.generator.palette_prior, t.G.palette_prior.float())


def test_the_prior_can_come_from_another_folder(dataset, tmp_path):
    """--palette-prior DIR: the drawn colours are DIR's train photos' (cat heads for a run mixed with rooms)."""
    other = make_dataset(tmp_path / "other", n_train=3, seed=7)
    t = Trainer(tiny("p", dataset, hints=5, palette=True, palette_prior=str(other)), tmp_path / "run", progress=False)
    theirs = object_colours(PairDataset(other, t.cfg.data, "train", progress=False).targets.float().div(127.5).sub(1))
    assert all((theirs - c).abs().max(dim=1).values.min() < 1e-4 for c in t.G.palette_prior)
    assert len({tuple(c.tolist()) for c in t.G.palette_prior}) == len(theirs) == 3
    assert models.load(t.export()).config.training["palette_prior"] == str(other)  # the card names it
    with pytest.raises(ConfigError, match="--palette"):
        tiny("q", dataset, hints=5, palette_prior=str(other))


def test_seeds_draw_different_colours_and_a_colour_can_be_asked_for(palette_model):
    _, folder = palette_model
    translator = models.load(folder)
    edges = Image.new("RGB", (64, 64), "white")
    run = lambda **kw: np.asarray(translator(edges, size=64, **kw)).astype(int)  # noqa: E731
    assert np.array_equal(run(seed=1), run(seed=1))  # same seed, same colour and noise
    drawn = [translator._palette("auto", False, s, 64)[0, :3, 0, 0] for s in range(8)]
    assert len({tuple(c.tolist()) for c in drawn}) > 1  # seeds draw different colours
    assert translator._palette("auto", True, 1, 64).abs().sum() == 0  # hints given: no colour drawn
    red, blue = run(seed=1, colour=(250, 10, 10)), run(seed=1, colour=(10, 10, 250))
    assert np.abs(red - blue).max() > 0  # the asked colour reaches the output
    assert np.abs(run(seed=1, colour=None) - red).max() > 0
    with pytest.raises(ValueError, match="8-bit"):
        translator(edges, colour=(300, 0, 0))
    plain = models.load(make_model(folder.parent / "plain", ngf=4, num_downs=6))
    with pytest.raises(ValueError, match="no overall colour"):
        plain(edges, colour=(1, 2, 3))
    plain(edges, colour="auto")  # the default works for every model


def test_a_hint_model_learns_the_palette_from_its_own_output(dataset, tmp_path):
    src = Trainer(tiny("h", dataset, hints=5, hint_fill=True, max_steps=1, log_every=1), tmp_path / "src",
                  progress=False)
    src.fit()
    t = Trainer(tiny("p", dataset, hints=5, hint_fill=True, palette=True, init_from=str(tmp_path / "src" / "model"),
                     max_steps=2, log_every=1), tmp_path / "run", progress=False)
    t.init_generator()
    assert t.G.palette_prior.abs().sum() > 0  # this run's photos, though the source had none
    edges = Image.new("RGB", (64, 64), "white")
    old = models.load(tmp_path / "src" / "model")(edges, seed=3, size=64)
    new = models.Translator(t.G, t.cfg.model)(edges, seed=3, size=64, colour=(200, 30, 30))
    assert np.array_equal(np.asarray(old), np.asarray(new))  # zero weights on the new planes: the same model
    t.fit()
    assert t.G.enc1.conv.weight[:, -4:].abs().sum() > 0  # and they learn
    with pytest.raises(ValueError, match="--palette"):  # a palette model does not silently lose it
        make_config("x", str(dataset), init_from=str(tmp_path / "run" / "model"), hints=5, hint_fill=True,
                    load_size=72, crop_size=64)


def test_palette_runs_resume_exactly(dataset, tmp_path):
    cfg = lambda: tiny("r", dataset, palette=True, epochs=1, log_every=1)  # noqa: E731  (no hints: palette alone)
    a, b = resumed_and_uninterrupted_logs(cfg, tmp_path, stop_at=3)
    assert a and a == b


def test_evaluate_scores_a_palette_model_with_a_drawn_colour_and_without(dataset, palette_model, tmp_path):
    from training.evaluate import evaluate

    _, folder = palette_model
    s = evaluate(folder, dataset, tmp_path / "eval", structure=False)["summary"]
    for key in ("color_spread_ratio", "average_color_spread_ratio", "average_PSNR", "average_color_intersection",
                "hinted_PSNR"):
        assert np.isfinite(s[key]), key
