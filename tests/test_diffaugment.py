"""DiffAugment on D's inputs and feature matching: shared geometry, seeded, off by default, trains."""
import pytest
import torch
from helpers import make_dataset, resumed_and_uninterrupted_logs

from training.config import TrainConfig, make_config
from training.diffaugment import Augment, augment_generator, parse_policy
from training.trainer import Trainer

TINY = dict(ngf=4, ndf=4, num_downs=6, load_size=72, crop_size=64, save_every=10**6, sample_every=10**6)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pairs"), n_train=3, n_val=1)


def draw(policy: str, shape=(4, 3, 32, 32), seed: int = 0, step: int = 0) -> Augment:
    return Augment.sample(parse_policy(policy), torch.Size(shape), augment_generator(seed, step))


def test_off_by_default_and_policies_are_checked():
    assert TrainConfig().diffaugment == "" and TrainConfig().feature_matching == 0
    assert parse_policy("") == ()
    assert parse_policy("cutout, color") == ("color", "cutout")  # applied in a fixed order
    with pytest.raises(ValueError, match="unknown op.*colour"):
        parse_policy("colour")
    x = torch.randn(2, 3, 8, 8)
    condition, image = draw("", x.shape)(x, x + 1)
    assert condition is x and torch.equal(image, x + 1)


def test_translation_moves_condition_and_image_together():
    n, size = 8, 32
    dots = torch.zeros(n, 1, size, size)
    dots[:, :, 16, 16] = 1.0
    condition, image = draw("translation", (n, 3, size, size))(dots.expand(n, 2, size, size), dots.expand(n, 3, size,
                                                                                                          size))
    moved = 0
    for i in range(n):
        where_c = (condition[i] == 1).nonzero()[:, 1:].unique(dim=0)
        where_i = (image[i] == 1).nonzero()[:, 1:].unique(dim=0)
        assert len(where_c) == 1 and torch.equal(where_c, where_i)  # the same single spot in every channel
        moved += not torch.equal(where_c[0], torch.tensor([16, 16]))
        assert (where_c[0] - 16).abs().max() <= 4  # at most 1/8 of the side
    assert moved >= n // 2


def test_cutout_masks_the_same_square_in_both():
    x = torch.ones(6, 3, 32, 32)
    condition, image = draw("cutout", x.shape)(x[:, :2] + 1, x)
    assert torch.equal(condition[:, :1] == 0, image[:, :1] == 0)
    masked = (image[:, 0] == 0).float().mean(dim=(1, 2))
    assert (masked <= 0.25).all() and masked.max() > 0


def test_colour_changes_the_image_only_and_gradients_pass():
    condition = torch.rand(2, 3, 16, 16) * 2 - 1
    image = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_()
    out_c, out_i = draw("color", image.shape)(condition, image)
    assert torch.equal(out_c, condition) and not torch.allclose(out_i, image)
    out_i.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_the_draw_is_set_by_seed_and_step():
    x = torch.rand(3, 3, 32, 32)
    same = [draw("color,translation,cutout", x.shape, seed=1, step=5)(x, x)[1] for _ in range(2)]
    assert torch.equal(*same)
    assert not torch.equal(same[0], draw("color,translation,cutout", x.shape, seed=1, step=6)(x, x)[1])
    assert not torch.equal(same[0], draw("color,translation,cutout", x.shape, seed=2, step=5)(x, x)[1])


def test_a_step_with_diffaugment_and_feature_matching(dataset, tmp_path):
    cfg = lambda: make_config("da", str(dataset), diffaugment="color,translation,cutout",  # noqa: E731
                              feature_matching=10.0, epochs=2, log_every=1, **TINY)
    runs = []
    for name in ("a", "b"):
        t = Trainer(cfg(), tmp_path / name, progress=False)
        runs.append([t.train_step(s) for s in range(2)])
    assert runs[0] == runs[1]  # deterministic
    assert runs[0][0]["G_fm"] > 0 and all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in runs[0])
    plain = Trainer(make_config("p", str(dataset), epochs=2, log_every=1, **TINY), tmp_path / "p", progress=False)
    assert "G_fm" not in plain.train_step(0) and plain.train_step(1)["D_real"] != runs[0][1]["D_real"]


def test_resume_is_exact_with_diffaugment(dataset, tmp_path):
    cfg = lambda: make_config("r", str(dataset), diffaugment="translation,cutout", feature_matching=1.0,  # noqa: E731
                              epochs=2, log_every=1, **{**TINY, "save_every": 2})
    a, b = resumed_and_uninterrupted_logs(cfg, tmp_path, stop_at=2)
    assert a and a == b


def test_bad_options_are_refused_before_training(dataset, tmp_path):
    with pytest.raises(ValueError, match="unknown op"):
        Trainer(make_config("x", str(dataset), diffaugment="zoom", **TINY), tmp_path, progress=False)
    with pytest.raises(ValueError, match="--feature-matching .*objective l1 trains none"):
        Trainer(make_config("x", str(dataset), objective="l1", feature_matching=1.0, **TINY), tmp_path, progress=False)


def test_command_line_flags_reach_the_config(dataset, capsys):
    import argparse

    from training.__main__ import add_train_args, config_from_args, main

    p = argparse.ArgumentParser()
    add_train_args(p)
    args = p.parse_args(["--name", "x", "--upsample", "resize", "--diffaugment", "cutout,color",
                         "--feature-matching", "10"])
    cfg = config_from_args(args, str(dataset))
    assert (cfg.model.generator.upsample, cfg.diffaugment, cfg.feature_matching) == ("resize", "color,cutout", 10.0)
    with pytest.raises(SystemExit) as e:
        main(["train", "--data", str(dataset), "--name", "x", "--diffaugment", "zoom"])
    assert e.value.code == 2 and "--diffaugment: DiffAugment policy: unknown op(s) zoom" in capsys.readouterr().err
