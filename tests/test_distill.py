"""--distill: a frozen teacher's output on the clean lines as a second L1 target for the thick ones."""
import json

import pytest
import torch
from helpers import tiny

from models.config import ConfigError
from training.__main__ import main as training_cli
from training.config import DataConfig
from training.data import PairDataset
from training.trainer import Trainer


@pytest.fixture(scope="module")
def teacher(dataset, tmp_path_factory):
    """A teacher that has learnt something (the photos' colours), so a fresh student starts far from it."""
    run = tmp_path_factory.mktemp("teacher")
    Trainer(tiny("teacher", dataset, objective="l1", lr=2e-3, max_steps=40, log_every=1), run, progress=False).fit()
    return str(run / "model")


def test_the_teachers_lines_are_the_students_strokes_one_px_wide(dataset):
    def batch(stroke_aug, seed, clean=False):
        data = PairDataset(dataset, DataConfig(root=str(dataset), load_size=72, crop_size=64, stroke_aug=stroke_aug,
                                               stroke_thick=0.9 if stroke_aug else 0.0), progress=False)
        return data.batch([1], torch.Generator().manual_seed(seed), clean=clean)
    for seed in range(4):
        thick, photo, thin = batch(True, seed, clean=True)
        assert torch.equal(thick, batch(True, seed)[0])  # asking for the thin lines draws nothing extra
        assert torch.equal(photo, batch(False, seed)[1])
        assert ((thin < 0) <= (thick < 0)).all()  # the same strokes (gaps, wobble), only thinner
        assert (thick < 0).sum() > 2 * (thin < 0).sum() > 0  # 4-6 px pens: far more ink
    plain, _, clean = batch(False, 0, clean=True)
    assert torch.equal(clean, plain)  # no strokes drawn: the input itself


def test_distill_pulls_thick_line_outputs_to_the_teachers_thin_line_ones(dataset, teacher, tmp_path):
    # A fresh student, distillation alone (L1 to the photo weighted 0), at a high rate: the term must fall.
    cfg = tiny("student", dataset, objective="l1", lambda_l1=0.0, lr=2e-3, stroke_aug=True, stroke_thick=0.9,
               distill=1.0, teacher=teacher, seed=1)
    t = Trainer(cfg, tmp_path, progress=False)
    losses = [t.train_step(step)["G_distill"] for step in range(60)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10]), losses
    assert all(not p.requires_grad for p in t.teacher.parameters())


def test_the_teacher_draws_with_the_students_dropout_noise(dataset, teacher, tmp_path):
    # The student starts as the teacher; given the teacher's own lines, it must match it exactly, dropout and all.
    t = Trainer(tiny("same", dataset, stroke_aug=True, distill=1.0, init_from=teacher), tmp_path, progress=False)
    t.init_generator()
    batch = t.data.batch

    def thin_for_both(indices, generator, clean):
        a, b, thin = batch(indices, generator, clean=True)
        return thin, b, thin
    t.data.batch = thin_for_both
    assert t.train_step(0)["G_distill"] < 1e-6


def test_distill_needs_strokes_and_a_teacher_that_takes_the_same_inputs(dataset, teacher, tmp_path):
    with pytest.raises(ConfigError, match="--stroke-aug"):
        tiny("x", dataset, distill=1.0, init_from=teacher)
    with pytest.raises(ConfigError, match="needs a teacher"):
        tiny("x", dataset, distill=1.0, stroke_aug=True)
    with pytest.raises(ConfigError, match="takes other inputs"):  # the run takes hints, the teacher does not
        tiny("x", dataset, distill=1.0, stroke_aug=True, hints=4, teacher=teacher)
    with pytest.raises(ConfigError, match="--distill W"):
        tiny("x", dataset, teacher=teacher)


def test_distill_from_the_command_line_is_saved_with_the_run(dataset, teacher, tmp_path):
    runs = tmp_path / "runs"
    training_cli(["train", "--name", "d", "--runs", str(runs), "--data", str(dataset), "--ngf", "4", "--ndf", "4",
                  "--max-steps", "1", "--log-every", "1", "--stroke-aug", "--distill", "50", "--teacher", teacher])
    saved = json.loads((runs / "d" / "train_config.json").read_text())
    assert saved["distill"] == 50 and saved["teacher"] == teacher
    assert "G_distill" in json.loads((runs / "d" / "log.jsonl").read_text().splitlines()[-1])
