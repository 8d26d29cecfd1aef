"""Centre-line models (issue 11, thick strokes): G also sees its strokes thinned to 1 px."""
import numpy as np
import pytest
import torch
from helpers import tiny
from PIL import Image

import models
from models.strokes import centre_lines
from models.translator import to_tensor
from training.config import make_config
from training.strokes import thicken_lines
from training.trainer import Trainer


def test_centre_lines_of_any_pen_is_the_stroke_centre():
    edges = np.full((64, 64, 3), 255, np.uint8)
    edges[8:-8, 30] = 0
    for width in (1, 3, 5, 6):
        thick = to_tensor(Image.fromarray(thicken_lines(edges, width)))
        out = centre_lines(torch.cat([thick, thick]))
        assert out.shape == (2, 1, 64, 64) and set(out.unique().tolist()) == {0.0, 1.0}
        rows = out[0, 0, 16:-16]
        assert (rows.sum(dim=1) == 1).all(), width  # one pixel across, no gap along it
        assert set(rows.argmax(dim=1).tolist()) <= {29, 30, 31}, width  # on the drawn line, not on a rim
    assert centre_lines(torch.ones(1, 3, 32, 32)).sum() == 0  # blank paper: no lines


def test_a_centre_line_model_builds_trains_saves_and_loads(dataset, tmp_path):
    t = Trainer(tiny("c", dataset, centre_lines=True, stroke_aug=True, max_steps=2, log_every=1), tmp_path,
                progress=False)
    assert t.G.enc1.conv.weight.shape[1] == 3 + 1
    assert t.D.layer1.conv.weight.shape[1] == 3 + 3  # D's condition is the lines as drawn
    t.fit()
    loaded = models.load(tmp_path / "model")
    assert loaded.config.generator.centre_lines
    edges = Image.fromarray(thicken_lines(np.asarray(Image.open(next((dataset / "val").iterdir())))[:, :64], 5))
    assert np.array_equal(np.asarray(loaded(edges, seed=2, size=64)),
                          np.asarray(models.Translator(t.G, t.cfg.model)(edges, seed=2, size=64)))


def test_a_fine_tune_adds_centre_lines_to_a_hint_palette_model_as_it_was(dataset, tmp_path):
    src = Trainer(tiny("s", dataset, hints=5, hint_fill="harmonic", palette=True, max_steps=1, log_every=1),
                  tmp_path / "src", progress=False)
    src.fit()
    t = Trainer(tiny("t", dataset, hints=5, hint_fill="harmonic", palette=True, centre_lines=True,
                     init_from=str(tmp_path / "src" / "model"), max_steps=2, log_every=1), tmp_path / "run",
                progress=False)
    t.init_generator()
    assert t.G.enc1.conv.weight.shape[1] == 3 + 4 + 4 + 4 + 1  # lines, hints, filled hints, palette, centres
    edges = Image.fromarray(thicken_lines(np.asarray(Image.open(next((dataset / "val").iterdir())))[:, :64], 5))
    old = models.load(tmp_path / "src" / "model")(edges, seed=3, size=64, colour=(200, 30, 30))
    new = models.Translator(t.G, t.cfg.model)(edges, seed=3, size=64, colour=(200, 30, 30))
    assert np.array_equal(np.asarray(old), np.asarray(new))  # zero weights on the new channel: the same model
    t.fit()
    assert t.G.enc1.conv.weight[:, -1].abs().sum() > 0  # and it learns
    with pytest.raises(ValueError, match="--centre-lines"):  # a centre-line model does not silently lose it
        make_config("x", str(dataset), init_from=str(tmp_path / "run" / "model"), hints=5, hint_fill=True,
                    palette=True, load_size=72, crop_size=64)
    with pytest.raises(ValueError, match="--centre-lines"):  # label maps have no strokes
        make_config("x", str(dataset), input_kind="labels", centre_lines=True)
