"""benchmarks/hand_drawn.py, the shoes smear's measure: its drawings and its two scores."""
import sys

import numpy as np
import pytest
from PIL import Image

from benchmarks import hand_drawn


@pytest.mark.parametrize("name", hand_drawn.DRAWINGS)
def test_every_drawing_is_a_closed_shape_whatever_the_pen(name):
    shape = hand_drawn.shape_mask(name)
    lines = np.asarray(hand_drawn.drawing(name, 3).convert("L").resize(shape.shape[::-1])) < 128
    assert shape.mean() > 3 * lines.mean()  # filled, not just its outline
    assert 0.1 < shape.mean() < 0.6  # an object with paper round it


def test_spill_counts_stained_paper_and_fill_the_painted_object():
    shape = hand_drawn.shape_mask("shoe")
    size = shape.shape[::-1]
    painted = np.where(shape[..., None], np.uint8(90), np.uint8(255)).repeat(3, axis=2)
    assert hand_drawn.scores(Image.fromarray(painted), shape) == (0.0, 1.0)
    assert hand_drawn.scores(Image.new("RGB", size, "white"), shape) == (0.0, 0.0)
    assert hand_drawn.scores(Image.new("RGB", size, (120, 80, 40)), shape)[0] == 1.0
    smear = painted.copy()
    smear[-20:] = 100  # streaks along the bottom of the picture
    spill = hand_drawn.scores(Image.fromarray(smear), shape)[0]
    assert 0.05 < spill < 0.2


def test_it_runs_on_a_model_and_writes_a_sheet(tmp_path, tiny_models, monkeypatch, capsys):
    sheet = tmp_path / "sheet.png"
    monkeypatch.setattr(sys, "argv", ["hand_drawn.py", "--model", str(tiny_models / "edges2cats"), "--widths", "6",
                                      "--seeds", "2", "--drawings", "shoe,cat_face", "--sheet", str(sheet)])
    hand_drawn.main()
    out = capsys.readouterr().out
    assert "| shoe | 6 |" in out and "| all |" in out
    assert "| cat_face | 6 |" in out and "0.00 (drawing: " in out  # random weights draw no cat
    assert Image.open(sheet).size == (3 * hand_drawn.SIZE, 2 * hand_drawn.SIZE)
