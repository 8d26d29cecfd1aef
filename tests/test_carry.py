"""Model folders carry D and Adam (issue 28): the round trip, --init-from's default, the flag, folders without."""
import json

import pytest
import torch
from helpers import make_dataset, make_model, tiny
from safetensors import safe_open
from safetensors.torch import load_file

import models
from models.folder import DISCRIMINATOR, OPTIMIZERS, copy_carried, write_carried
from training.checkpoint import checkpoint_model
from training.config import ConfigError
from training.trainer import Trainer, run_training


@pytest.fixture(scope="module")
def source(dataset, tmp_path_factory):
    """A tiny run of 3 steps: its model folder, and its last checkpoint (full precision) for comparison."""
    run = tmp_path_factory.mktemp("src")
    run_training(tiny("src", dataset, save_every=3, keep_every=3, max_steps=3, log_every=1), run, resume=False)
    return run


def test_a_run_model_folder_carries_d_and_adam_in_half_precision(source):
    model, ckpt = source / "model", source / "checkpoints" / "step_00000003"
    d, full = load_file(model / DISCRIMINATOR), load_file(ckpt / DISCRIMINATOR)
    assert set(d) == set(full) and {v.dtype for v in d.values() if v.is_floating_point()} == {torch.float16}
    assert all(torch.allclose(d[k].float(), full[k].float(), rtol=1e-3, atol=1e-4) for k in d)
    moments = load_file(model / OPTIMIZERS)
    assert any(k.startswith("G.") for k in moments) and any(k.startswith("D.") for k in moments)
    assert {v.dtype for v in moments.values() if v.ndim} == {torch.bfloat16} and not any("rng" in k for k in moments)
    models.load(model)  # the studio still loads the generator alone


def _adam(trainer, name):
    return [s["exp_avg_sq"] for s in trainer.optimizers[name].state.values()]


def test_init_from_continues_with_the_folders_d_and_adam_by_default(dataset, source, tmp_path):
    cfg = tiny("ft", dataset, init_from=str(source / "model"), max_steps=1, log_every=1)
    t = run_training(cfg, tmp_path / "ft", resume=False)
    assert t.discriminator_from == str(source / "model")
    card = models.load(tmp_path / "ft" / "model").config.training["init_from"]
    assert card["discriminator_from"] == str(source / "model")
    # Before its one step, D was the source's: a second trainer stopped right after init shows it exactly.
    again = Trainer(tiny("again", dataset, init_from=str(source / "model")), tmp_path / "again", progress=False)
    again.init_discriminator()
    saved = load_file(source / "model" / DISCRIMINATOR)
    assert all(torch.equal(v, saved[k].to(v.dtype)) for k, v in again.D.state_dict().items())
    moments = load_file(source / "model" / OPTIMIZERS)
    for name in ("G", "D"):
        restored = _adam(again, name)
        assert restored and all(v.dtype == torch.float32 for v in restored)
        assert torch.equal(restored[0], moments[f"{name}.0.exp_avg_sq"].float())


def test_fresh_discriminator_flag_and_a_folder_without_d_start_afresh(dataset, source, tmp_path):
    fresh = Trainer(tiny("f", dataset, init_from=str(source / "model"), fresh_discriminator=True), tmp_path / "f",
                    progress=False)
    assert fresh.discriminator_from == ""
    saved = load_file(source / "model" / DISCRIMINATOR)
    assert not all(torch.equal(v, saved[k].to(v.dtype)) for k, v in fresh.D.state_dict().items())
    bare = tmp_path / "bare"
    generator, config = models.load_generator(source / "model")
    models.save_model(bare, generator, config)  # as the folders made before D was carried
    t = run_training(tiny("b", dataset, init_from=str(bare), max_steps=1, log_every=1), tmp_path / "b", resume=False)
    assert t.discriminator_from == "" and "discriminator_from" not in models.load(t.run_dir / "model").config.training[
        "init_from"]
    with pytest.raises(ConfigError, match="--fresh-discriminator: only with --init-from"):
        tiny("x", dataset, fresh_discriminator=True)


@pytest.mark.parametrize("change", [dict(ndf=8), dict(hints=4)])  # D wider, or seeing hint channels
def test_a_carried_d_that_does_not_fit_is_an_error_naming_the_way_out(change, dataset, source, tmp_path):
    t = Trainer(tiny("w", dataset, init_from=str(source / "model"), **change), tmp_path / "w", progress=False)
    with pytest.raises(ConfigError, match="differs from this run's.*--fresh-discriminator"):
        t.init_discriminator()
    assert Trainer(tiny("f", dataset, init_from=str(source / "model"), fresh_discriminator=True, **change),
                   tmp_path / "f", progress=False).discriminator_from == ""


def test_partial_adam_fit_keeps_what_fits(dataset, source, tmp_path, capsys):
    """A folder whose G Adam is gone (e.g. a D-only warm-up) still gives D's Adam; the note names G."""
    folder = tmp_path / "partial"
    generator, config = models.load_generator(source / "model")
    models.save_model(folder, generator, config)
    copy_carried(source / "model", folder)
    moments = load_file(folder / OPTIMIZERS)
    with safe_open(folder / OPTIMIZERS, framework="pt") as f:
        meta = json.loads(f.metadata()["optimizers"])
    write_carried(folder, load_file(folder / DISCRIMINATOR), {k: v for k, v in moments.items() if k.startswith("D.")},
                  {"D": meta["D"]})
    t = Trainer(tiny("p", dataset, init_from=str(folder)), tmp_path / "p", progress=False)
    t.init_discriminator()
    assert "Adam state for G" in capsys.readouterr().err and not _adam(t, "G") and _adam(t, "D")


def test_a_mean_of_checkpoints_and_a_shipped_copy_carry_the_last_steps_d(dataset, source, tmp_path):
    out = checkpoint_model(source, 3, tmp_path / "mean")
    last = load_file(source / "checkpoints" / "step_00000003" / DISCRIMINATOR)
    assert all(torch.equal(v, last[k].half() if v.is_floating_point() else last[k])
               for k, v in load_file(out / DISCRIMINATOR).items())
    dest = tmp_path / "shipped"
    dest.mkdir()
    (dest / DISCRIMINATOR).write_bytes(b"stale")
    copy_carried(out, dest)
    assert (dest / DISCRIMINATOR).read_bytes() == (out / DISCRIMINATOR).read_bytes()
    bare = tmp_path / "bare"
    bare.mkdir()
    copy_carried(bare, dest)  # a source without D must not leave the old model's D beside new weights
    assert not (dest / DISCRIMINATOR).exists() and not (dest / OPTIMIZERS).exists()


def test_ship_discriminator_stage_gives_a_shipped_generator_a_d_and_leaves_its_weights(tmp_path, monkeypatch):
    from training import recipes

    monkeypatch.setattr(recipes, "ASSETS", tmp_path / "assets")
    model = make_model(tmp_path / "assets" / "edges2shoes", ngf=4, num_downs=6, name="edges2shoes")
    weights = (model / "model.safetensors").read_bytes()
    make_dataset(tmp_path / "data" / "edges2shoes", n_train=2, n_val=1)
    card = recipes.ship("edges2shoes", data_root=str(tmp_path / "data"), runs=str(tmp_path / "runs"),
                        stages=("discriminator",), options={"d_warmup": 2, "ndf": 4, "device": "cpu"})
    assert (model / "model.safetensors").read_bytes() == weights  # G frozen, and its file untouched
    moments = load_file(model / OPTIMIZERS)
    assert (model / DISCRIMINATOR).is_file() and moments and all(k.startswith("D.") for k in moments)
    carried = json.loads((model / "config.json").read_text())["training"]["discriminator_carried"]
    assert carried["steps"] == 2 and "trained 2 steps alone against this generator" in card.read_text()
    # The next fine-tune from the folder continues with that D.
    t = Trainer(tiny("next", tmp_path / "data" / "edges2shoes", ndf=4, init_from=str(model)), tmp_path / "next",
                progress=False)
    assert t.discriminator_from == str(model)
