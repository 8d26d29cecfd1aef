"""Stroke robustness (issue 11 item 4): thicker, wobbly, broken lines for line inputs only."""
import json

import numpy as np
import pytest
import torch
from helpers import make_dataset, make_model
from PIL import Image

import models
from models.strokes import thin_strokes
from training.config import DataConfig, make_config
from training.data import DataError, PairDataset
from training.evaluate import evaluate
from training.strokes import MAX_WIDTH, ZOOM_MAX, ZOOM_MIN, augment_strokes, pen, thicken_lines, zoom_out


def vertical_line(size: int = 48) -> np.ndarray:
    edges = np.full((size, size, 3), 255, np.uint8)
    edges[4:-4, size // 2] = 0
    return edges


def line_width(edges: np.ndarray) -> int:
    """Inked pixels across the middle row."""
    return int((edges[edges.shape[0] // 2].mean(axis=1) < 128).sum())


@pytest.mark.parametrize("width", range(1, MAX_WIDTH + 1))
def test_thicken_lines_draws_the_asked_width(width):
    assert pen(width).shape == (width, width)
    thick = thicken_lines(vertical_line(), width)
    assert line_width(thick) == width and thick.dtype == np.uint8
    assert (thick[..., 0] == thick[..., 2]).all()  # still grey lines on white


def test_augment_strokes_changes_thickness_and_is_seeded():
    edges = torch.from_numpy(vertical_line()).permute(2, 0, 1).contiguous()
    outs = [augment_strokes(edges, torch.Generator().manual_seed(s)) for s in range(40)]
    assert all(o.shape == edges.shape and o.dtype == torch.uint8 for o in outs)
    widths = {line_width(o.permute(1, 2, 0).numpy()) for o in outs}
    assert len(widths) >= 4 and max(widths) >= 5, widths
    assert torch.equal(outs[3], augment_strokes(edges, torch.Generator().manual_seed(3)))
    ink = [int((o[0] < 128).sum()) for o in outs]
    assert min(ink) < (edges[0] < 128).sum() * 1.5 < max(ink)  # some thin, some thick, some gapped


def test_stroke_thick_favours_the_thickest_widths():
    edges = torch.from_numpy(vertical_line()).permute(2, 0, 1).contiguous()

    def widths(thick):
        outs = (augment_strokes(edges, torch.Generator().manual_seed(s), thick) for s in range(60))
        return [line_width(o.permute(1, 2, 0).numpy()) for o in outs]
    plain, thick = widths(0.0), widths(1.0)
    # 4-6 px but where a gap erases or a wobble thins the middle row
    assert sum(w >= MAX_WIDTH - 2 for w in thick) >= 50 > sum(w >= MAX_WIDTH - 2 for w in plain) + 15
    with pytest.raises(ValueError, match="--stroke-aug"):
        make_config("x", "d", stroke_thick=0.5)


def test_gaps_and_wobble_alter_the_line():
    # Over many seeds, some outputs lose ink at the line's middle row (a gap) or move it (a wobble).
    edges = torch.from_numpy(vertical_line()).permute(2, 0, 1).contiguous()
    rows = [augment_strokes(edges, torch.Generator().manual_seed(s))[0].float() for s in range(40)]
    broken = sum(int((r[4:-4].amin(dim=1) > 128).any()) for r in rows)  # a row of the line with no ink
    moved = sum(int((r[:, 24] > 128).any() and (r[4:-4].amin(dim=1) <= 128).all()) for r in rows)
    assert broken >= 3 and moved >= 1, (broken, moved)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pairs"), n_train=2, n_val=0)


def batch(data, nearest, stroke_aug, seed=0):
    cfg = DataConfig(root=str(data), load_size=72, crop_size=64, stroke_aug=stroke_aug)
    pairs = PairDataset(data, cfg, "train", nearest_input=nearest, progress=False)
    return pairs.batch([0, 1], torch.Generator().manual_seed(seed))


def test_dataset_applies_it_to_lines_and_keeps_crop_and_target(dataset):
    plain_a, plain_b = batch(dataset, False, False)
    aug_a, aug_b = batch(dataset, False, True)
    assert not torch.equal(plain_a, aug_a)
    assert torch.equal(plain_b[0], aug_b[0])  # crop and flip are drawn before the strokes
    assert torch.equal(aug_a, batch(dataset, False, True)[0])


def test_label_maps_are_never_redrawn(dataset):
    assert torch.equal(batch(dataset, True, True)[0], batch(dataset, True, False)[0])
    with pytest.raises(ValueError, match="--stroke-aug"):
        make_config("x", str(dataset), input_kind="labels", stroke_aug=True)
    with pytest.raises(ValueError, match="--zoom-out"):
        make_config("x", str(dataset), input_kind="labels", zoom_out=0.3)


def test_zoom_out_puts_the_whole_pair_smaller_on_white_and_keeps_lines_dark():
    lines = torch.from_numpy(vertical_line(72)).permute(2, 0, 1).contiguous()
    photo = torch.full((3, 72, 72), 40, dtype=torch.uint8)
    for seed in range(20):
        a, b = zoom_out(lines, photo, 64, torch.Generator().manual_seed(seed))
        assert a.shape == b.shape == (3, 64, 64) and a.dtype == b.dtype == torch.uint8
        dark = (b[0] < 128).nonzero()
        height, width = (dark.amax(dim=0) - dark.amin(dim=0) + 1).tolist()
        assert height == width and ZOOM_MIN * 64 - 1 <= height <= ZOOM_MAX * 64 + 1  # the photo, shrunk whole
        assert (b[0] > 250).sum() == 64 * 64 - height * width  # white paper all round it
        darkness = 1.0 - a[0].float() / 255.0
        rows = darkness.sum(dim=1)
        line = rows[rows > 0.1][2:-2]  # away from the line's ends
        assert len(line) and ((line > 0.85) & (line < 1.15)).all()  # as much ink a row as a 1-px black line...
        assert ((darkness > 0.1).sum(dim=1) <= 2).all()  # ...no wider than 2 px: not faded to a grey smear
        assert torch.equal(a, zoom_out(lines, photo, 64, torch.Generator().manual_seed(seed))[0])


def test_dataset_zooms_out_only_when_asked(dataset):
    def pairs(zoom):
        cfg = DataConfig(root=str(dataset), load_size=72, crop_size=64, zoom_out=zoom)
        return PairDataset(dataset, cfg, "train", progress=False).batch([0, 1], torch.Generator().manual_seed(0))
    plain, never, always = pairs(0.0), pairs(0.0), pairs(1.0)
    assert torch.equal(plain[0], never[0])  # zoom 0 draws nothing: older runs resume exactly
    assert not torch.equal(plain[1], always[1])
    assert ((always[1] == 1.0).all(dim=1).float().mean(dim=(1, 2)) > 0.19).all()  # >= 1 - 0.9**2 of it is paper


def test_evaluate_can_feed_thick_strokes(tmp_path):
    model = make_model(tmp_path / "m", ngf=4, num_downs=6)
    data = make_dataset(tmp_path / "d", n_train=1, n_val=2)
    thin = evaluate(model, data, tmp_path / "thin", structure=False)
    thick = evaluate(model, data, tmp_path / "thick", structure=False, stroke_width=5)
    assert thick["stroke_width"] == 5 and thick["summary"]["L1"] != thin["summary"]["L1"]

    def ink(run):
        return sum(int((np.asarray(Image.open(f))[:, :256].mean(axis=2) < 128).sum())
                   for f in (tmp_path / run / "images").glob("*.png"))
    assert ink("thick") > 1.5 * ink("thin") > 0  # the 64-px pairs are upscaled: their lines are ~4 px already
    labels = make_model(tmp_path / "labels", ngf=4, num_downs=6, input_kind="labels")
    with pytest.raises(DataError, match="--stroke-width"):
        evaluate(labels, data, tmp_path / "l", structure=False, stroke_width=5)


def test_cli_says_in_one_line_that_labels_take_no_stroke_aug(dataset, tmp_path, capsys):
    from training.__main__ import main as training_cli

    with pytest.raises(SystemExit) as e:
        training_cli(["train", "--data", str(dataset), "--name", "x", "--runs", str(tmp_path),
                      "--input-kind", "labels", "--stroke-aug"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.strip().count("\n") == 0 and "--stroke-aug" in err


def test_thin_strokes_brings_any_pen_to_the_training_width():
    for width in (1, 3, 5, 6):
        thick = Image.fromarray(thicken_lines(vertical_line(64), width))
        thin = np.asarray(thin_strokes(thick))
        assert thin.shape == (64, 64, 3) and set(np.unique(thin)) <= {0, 255}
        assert line_width(thin) == 1, width
        assert (thin[8:-8].mean(axis=2) < 128).any(axis=1).all()  # no gap opened along the line
    big = Image.fromarray(thicken_lines(vertical_line(512), 9))
    assert line_width(np.asarray(thin_strokes(big))) == 2  # a 256-px line's width at 512
    blank = Image.new("RGB", (32, 32), "white")
    assert np.asarray(thin_strokes(blank)).min() == 255


def test_translator_thins_strokes_when_asked_and_for_line_models_only(tmp_path):
    size = 64
    thick = Image.fromarray(thicken_lines(vertical_line(size), 5))
    edges = models.load(make_model(tmp_path / "edges", ngf=4, num_downs=6))
    assert edges.takes_lines
    as_drawn = np.asarray(edges(thick, seed=1, size=size))
    thinned = np.asarray(edges(thick, seed=1, size=size, thin_lines=True))
    assert np.array_equal(thinned, np.asarray(edges(thin_strokes(thick), seed=1, size=size)))
    assert not np.array_equal(thinned, as_drawn)
    labels = models.load(make_model(tmp_path / "labels", ngf=4, num_downs=6, input_kind="labels"))
    assert not labels.takes_lines
    assert np.array_equal(np.asarray(labels(thick, seed=1, size=size)),
                          np.asarray(labels(thick, seed=1, size=size, thin_lines=True)))


def test_evaluate_scores_the_model_alone_unless_asked_to_thin(tmp_path):
    model = make_model(tmp_path / "m", ngf=4, num_downs=6)
    data = make_dataset(tmp_path / "d", n_train=1, n_val=2)
    alone = evaluate(model, data, tmp_path / "alone", structure=False, stroke_width=5)
    thinned = evaluate(model, data, tmp_path / "thinned", structure=False, stroke_width=5, thin_lines=True)
    assert (alone["thin_lines"], thinned["thin_lines"]) == (False, True)
    assert alone["summary"]["L1"] != thinned["summary"]["L1"]
    from training.__main__ import main as training_cli

    training_cli(["evaluate", "--model", str(model), "--data", str(data), "--no-structure", "--stroke-width", "5",
                  "--thin-lines"])
    assert json.loads((model / "eval_val_stroke5_thinned" / "metrics.json").read_text())["thin_lines"] is True
