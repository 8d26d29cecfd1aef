"""Training: ablations, overfitting, exact resume, checkpoints and data errors, on tiny data."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_dataset, make_pair, resumed_and_uninterrupted_logs
from PIL import Image
from safetensors.torch import load_file

import models
from training.__main__ import main as training_cli
from training.config import OBJECTIVES, ScheduleError, TrainConfig, make_config
from training.data import DataError, PairDataset
from training.trainer import Trainer, run_training

REPO = Path(__file__).resolve().parents[1]
TINY = dict(ngf=4, ndf=4, num_downs=6, load_size=72, crop_size=64, save_every=10**6, sample_every=10**6)


def tiny(name, data, **kw):
    return make_config(name, str(data), **{**TINY, **kw})


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_objective_takes_a_step(objective, dataset, tmp_path):
    t = Trainer(tiny("t", dataset, objective=objective, log_every=1, max_steps=2), tmp_path, progress=False)
    assert (t.D is None) == (objective == "l1")
    if t.D is not None:
        assert t.D.cfg.conditional == objective.endswith("cgan")
    terms = t.fit()
    assert ("G_gan" in terms) == ("gan" in objective) and "G_l1" in terms


@pytest.mark.parametrize("arch,patch", [("encoder_decoder", 70), ("unet", 1), ("unet", 16), ("unet", 286)])
def test_architectures_and_patch_sizes_take_a_step(arch, patch, dataset, tmp_path):
    # The 286x286 ImageGAN has five stride-2 layers: it needs at least a 128 crop.
    size = dict(load_size=136, crop_size=128, num_downs=7) if patch == 286 else {}
    t = Trainer(tiny("t", dataset, arch=arch, patch=patch, log_every=1, max_steps=1, **size), tmp_path, progress=False)
    assert all(np.isfinite(v) for v in t.fit().values())


def test_instance_norm_option(dataset, tmp_path):
    t = Trainer(tiny("t", dataset, norm="instance", log_every=1, max_steps=1), tmp_path, progress=False)
    t.fit()
    assert type(t.G.enc2.norm).__name__ == "InstanceNorm2d"


def test_overfit_one_pair_halves_l1(tmp_path):
    data = tmp_path / "one"
    (data / "train").mkdir(parents=True)
    make_pair(np.random.default_rng(3)).save(data / "train" / "only.png")
    cfg = tiny("overfit", data, ngf=8, ndf=8, jitter=False, flip=False, log_every=10, max_steps=200, epochs=200)
    Trainer(cfg, tmp_path / "run", progress=False).fit()
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    first, last = log[0]["G_l1"], log[-1]["G_l1"]
    assert last <= 0.5 * first, (first, last)


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(dataset, tmp_path):
    cfg = lambda: tiny("r", dataset, epochs=3, log_every=1)  # noqa: E731
    a, b = resumed_and_uninterrupted_logs(cfg, tmp_path, stop_at=7)  # mid-epoch
    assert len(a) == len(b) == 18 and a == b


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint folder a running training has written (state.json is its last file)."""
    complete = sorted(p for p in folder.glob("step_*") if (p / "state.json").is_file())
    return complete[-1] if complete else None


def test_kill_9_then_resume(dataset, tmp_path):
    """A real kill -9 mid-run loses at most the steps since the last checkpoint."""
    cmd = [sys.executable, "-m", "training", "train", "--data", str(dataset), "--name", "k", "--runs", str(tmp_path),
           "--ngf", "4", "--ndf", "4", "--epochs", "400", "--save-every", "3", "--log-every", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # num_downs/crop are not CLI flags: the real 256 crop with ngf 4 is still fast.
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "k" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and (latest_checkpoint(ckpts) is None or latest_checkpoint(ckpts).name <
    "step_00000006"):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = latest_checkpoint(ckpts)
    assert saved is not None, "no checkpoint was written before the kill"
    saved_step = json.loads((saved / "state.json").read_text())["step"]
    assert not list(ckpts.glob(".tmp_*")) or saved.exists()
    out = subprocess.run(cmd[:-8] + ["--resume", "--max-steps", str(saved_step + 2)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resuming {tmp_path / 'k'} at step {saved_step}" in out.stdout
    steps = [json.loads(line)["step"] for line in (tmp_path / "k" / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, saved_step + 3))  # no gap, no duplicate
    # The saved config came back without retyping flags.
    assert TrainConfig.from_file(tmp_path / "k" / "train_config.json").model.generator.ngf == 4


def test_rerun_without_resume_refuses(dataset, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "train_config.json").write_text("{}")
    out = subprocess.run([sys.executable, "-m", "training", "train", "--data", str(dataset), "--name", "x",
                          "--runs", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode != 0 and "--resume" in out.stderr


def test_checkpoint_loads_from_its_folder_alone(dataset, tmp_path):
    cfg = tiny("portable", dataset, input_kind="sketch", max_steps=2, log_every=1)
    Trainer(cfg, tmp_path / "run", progress=False).fit()
    folder = tmp_path / "run" / "model"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "discriminator.safetensors",
                                                        "model.safetensors", "optimizers.safetensors", "shadow.png"]
    translator = models.load(folder)
    assert translator.config.name == "portable" and translator.config.input_kind == "sketch"
    assert translator.config.generator.num_downs == 6 and translator.config.training["steps"] == 2
    assert "python -m training" in translator.config.training["command"] or translator.config.training["command"] == ""
    assert translator(Image.new("RGB", (64, 64), "white"), seed=0, size=64).size == (64, 64)
    for run_file in ("train_config.json", "log.jsonl", "loss.png"):
        assert (tmp_path / "run" / run_file).is_file()


def test_init_from_fine_tunes_a_model_and_records_its_history(dataset, tmp_path):
    Trainer(tiny("base", dataset, max_steps=2, log_every=1), tmp_path / "base", progress=False).fit()
    source, _ = models.load_generator(tmp_path / "base" / "model")
    cfg = tiny("tuned", dataset, max_steps=1, log_every=1, init_from=str(tmp_path / "base" / "model"))
    fresh = Trainer(cfg, tmp_path / "unused", progress=False)
    fresh.init_generator()
    for name, value in source.state_dict().items():
        assert torch.equal(fresh.G.state_dict()[name], value), name
    run_training(cfg, tmp_path / "tuned", resume=False)
    tuned = models.load(tmp_path / "tuned" / "model").config.training
    assert tuned["steps"] == 1
    assert tuned["init_from"]["model"] == cfg.init_from and tuned["init_from"]["steps"] == 2
    # Without widths on the command line, the source model's generator is used as it is.
    adopted = make_config("x", str(dataset), init_from=cfg.init_from, load_size=72, crop_size=64)
    assert adopted.model.generator == source.cfg
    # Resuming continues from the run's checkpoint, not from the source model again.
    run_training(cfg, tmp_path / "tuned", resume=True, max_steps=2)
    assert models.load(tmp_path / "tuned" / "model").config.training["init_from"]["steps"] == 2


def test_init_from_a_different_architecture_is_refused(dataset, tmp_path):
    Trainer(tiny("base", dataset, ngf=8, max_steps=1), tmp_path / "base", progress=False).fit()
    with pytest.raises(ValueError, match="--init-from"):
        run_training(tiny("narrow", dataset, ngf=4, init_from=str(tmp_path / "base" / "model")), tmp_path / "n", False)
    with pytest.raises(ValueError, match="--init-from"):
        run_training(tiny("deep", dataset, num_downs=7, init_from=str(tmp_path / "base" / "model")), tmp_path / "d",
                     False)


@pytest.mark.parametrize("upsample,arch", [("deconv", "unet"), ("resize", "unet"), ("subpixel", "unet"),
                                          ("resize", "encoder_decoder")])
def test_a_wider_generator_starts_as_the_narrow_one_and_trains(dataset, tmp_path, upsample, arch):
    """--init-from with a larger --ngf (item 5, capacity): the same output at step 0, new channels that learn."""
    base = tmp_path / "base"
    Trainer(tiny("base", dataset, upsample=upsample, arch=arch, hints=3, max_steps=2, log_every=1), base,
            progress=False).fit()
    cfg = tiny("wide", dataset, ngf=6, upsample=upsample, arch=arch, hints=3, palette=True,
               init_from=str(base / "model"), max_steps=2, log_every=1)
    t = Trainer(cfg, tmp_path / "wide", progress=False)
    t.init_generator()
    narrow, _ = models.load_generator(base / "model")
    x = torch.rand(2, t.G.cfg.condition_channels, 64, 64) * 2 - 1  # the source's inputs, nothing more
    ones = lambda g: [torch.ones(s[1:]) for s in g.dropout_shapes(64, 64)]  # noqa: E731 (dropout kept off)
    with torch.no_grad():
        wide_in = torch.cat([x, torch.zeros(2, t.G.enc1.conv.weight.shape[1] - x.shape[1], 64, 64)], dim=1)
        assert torch.allclose(t.G.net(wide_in, ones(t.G)), narrow.net(x, ones(narrow)), atol=1e-5)
    assert t.G.enc2.conv.weight.shape[0] == 12 and t.G.enc2.conv.weight[8:].abs().sum() > 0
    before = t.G.enc3.conv.weight[:16, 8:].clone()  # old channels' weights on the new inputs: zero, but they learn
    assert before.abs().sum() == 0
    t.fit()
    assert t.G.enc3.conv.weight[:16, 8:].abs().sum() > 0


def test_sample_grids_are_written(dataset, tmp_path):
    cfg = tiny("s", dataset, max_steps=2, sample_every=2, log_every=1)
    Trainer(cfg, tmp_path, progress=False).fit()
    grid = Image.open(tmp_path / "samples" / "step_00000002.jpg")
    assert grid.size == (3 * 64, 2 * 64)  # input | output | target, one row per val pair


def test_linear_decay(dataset, tmp_path):
    t = Trainer(tiny("d", dataset, epochs=4, decay_epochs=2), tmp_path, progress=False)
    per = t.steps_per_epoch
    assert t.lr_at(0) == t.lr_at(2 * per - 1) == 2e-4
    assert t.lr_at(2 * per) == pytest.approx(2e-4 * 2 / 3) and t.lr_at(3 * per) == pytest.approx(2e-4 / 3)


def test_resume_can_anneal_a_run(dataset, tmp_path, capsys):
    """A run meant to be long can be cut short and decayed on resume; the card's command says so."""
    run_training(tiny("a", dataset, epochs=20, decay_epochs=0, max_steps=3, command="first"), tmp_path, False)
    t = run_training(tiny("a", dataset, command="second"), tmp_path, True, epochs=4, max_steps=0, decay_epochs=2)
    assert (t.cfg.epochs, t.cfg.decay_epochs) == (4, 2) and t.step == 4 * t.steps_per_epoch
    assert t.lr_at(t.step - 1) == pytest.approx(2e-4 / 3)
    saved = TrainConfig.from_file(tmp_path / "train_config.json")
    assert saved.decay_epochs == 2 and saved.command == "first; from step 3: second"
    assert json.loads((tmp_path / "model" / "config.json").read_text())["training"]["command"] == saved.command
    cli = ["train", "--data", str(dataset), "--runs", str(tmp_path.parent), "--name", tmp_path.name, "--resume",
           "--epochs", "4", "--decay-epochs", "5"]
    with pytest.raises(SystemExit, match="^2$"):
        training_cli(cli)
    assert "error: --decay-epochs 5 is longer than the run" in capsys.readouterr().err
    with pytest.raises(ScheduleError):  # a new run is checked too
        Trainer(tiny("b", dataset, epochs=2, decay_epochs=3), tmp_path / "b", progress=False)


def test_direction_btoa_swaps_halves(dataset):
    cfg = make_config("x", str(dataset), jitter=False, flip=False, crop_size=64, num_downs=6).data
    ab = PairDataset(dataset, cfg, "val", train=False, progress=False)
    cfg.direction = "BtoA"
    ba = PairDataset(dataset, cfg, "val", train=False, progress=False)
    assert np.array_equal(ab.inputs.numpy(), ba.targets.numpy())


def test_corrupt_file_is_named(dataset, tmp_path):
    bad = make_dataset(tmp_path / "bad", n_train=2, n_val=0)
    (bad / "train" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        PairDataset(bad, make_config("x", str(bad)).data, progress=False)


def test_wrong_size_is_named(tmp_path):
    (tmp_path / "train").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / "train" / "square.png")
    with pytest.raises(DataError, match="square.png.*twice as wide"):
        PairDataset(tmp_path, make_config("x", str(tmp_path)).data, progress=False)


def test_empty_folder_is_clear(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match="no images found"):
        PairDataset(tmp_path, make_config("x", str(tmp_path)).data, progress=False)


def test_crop_must_fit_the_unet():
    with pytest.raises(ValueError, match="multiple of"):
        make_config("x", "d", crop_size=100)


def test_retrain_photos_to_model_in_one_command(tmp_path, monkeypatch):
    """A folder of photos (with a corrupt one) -> edge dataset -> trained model the app finds."""
    from training.__main__ import main

    rng = np.random.default_rng(5)
    photos = tmp_path / "photos" / "nested"
    photos.mkdir(parents=True)
    for i in range(4):
        make_pair(rng, 96).crop((96, 0, 192, 96)).save(photos / f"p{i}.png")
    (photos / "corrupt.jpg").write_bytes(b"nope")
    monkeypatch.chdir(tmp_path)
    main(["retrain", str(tmp_path / "photos"), "--name", "mine", "--detector", "canny", "--ngf", "4", "--ndf", "4",
          "--max-steps", "2", "--log-every", "1"])
    assert models.find_models(tmp_path / "runs") == [tmp_path / "runs" / "mine" / "model"]
    built = json.loads((tmp_path / "data" / "mine" / "dataset.json").read_text())
    assert any("corrupt.jpg" in str(s) for s in built["skipped"])


def test_a_kept_checkpoint_can_be_evaluated(dataset, tmp_path, capsys):
    cfg = tiny("steps", dataset, save_every=2, keep_every=2, max_steps=4, log_every=2)
    run_training(cfg, tmp_path / "steps", resume=False)
    training_cli(["evaluate", "--model", str(tmp_path / "steps"), "--step", "2", "--data", str(dataset),
                  "--no-structure"])
    model = tmp_path / "steps" / "checkpoints" / "step_00000002" / "model"
    assert json.loads((model / "eval_val" / "metrics.json").read_text())["summary"]["pairs"] == 2
    final, early = models.load(tmp_path / "steps" / "model"), models.load(model)
    assert early.config.training["steps"] == 2 and early.config.generator == final.config.generator
    # The run's whole record at that step, so a kept checkpoint can be shipped with an honest card.
    assert early.config.training["pairs"] == final.config.training["pairs"]
    assert early.config.training["epochs"] == round(2 / final.config.training["pairs"], 2)  # batch size 1
    assert 0 < early.config.training["wall_seconds"] <= final.config.training["wall_seconds"]
    assert any(not torch.equal(a, b) for a, b in zip(early.generator.state_dict().values(),
                                                      final.generator.state_dict().values()))
    with pytest.raises(SystemExit, match="^2$"):
        training_cli(["evaluate", "--model", str(tmp_path / "steps"), "--step", "3", "--data", str(dataset)])
    assert "keeps steps: 2, 4" in capsys.readouterr().err
    # Several steps: the mean of their weights, with the steps in its record.
    training_cli(["evaluate", "--model", str(tmp_path / "steps"), "--step", "2,4", "--data", str(dataset),
                  "--no-structure"])
    mean = models.load(tmp_path / "steps" / "checkpoints" / "mean_2_4" / "model")
    assert mean.config.training["averaged_steps"] == [2, 4] and mean.config.training["steps"] == 4
    for key, value in mean.generator.state_dict().items():
        if value.is_floating_point():
            expected = (early.generator.state_dict()[key] + final.generator.state_dict()[key]) / 2
            assert torch.allclose(value, expected, atol=1e-6), key
    with pytest.raises(SystemExit, match="^2$"):
        training_cli(["evaluate", "--model", str(tmp_path / "steps"), "--step", "2,2", "--data", str(dataset)])


def test_extending_a_finished_run_keeps_the_step_it_finished_at(dataset, tmp_path):
    """The step a run's model folder came from survives a --resume that extends the run (a mean may need it)."""
    cfg = tiny("ext", dataset, save_every=1, keep_every=2, max_steps=3, log_every=1)
    run_training(cfg, tmp_path / "ext", resume=False)
    run_training(cfg, tmp_path / "ext", resume=True, max_steps=5)
    kept = sorted(p.name for p in (tmp_path / "ext" / "checkpoints").glob("step_*"))
    assert kept == ["step_00000002", "step_00000003", "step_00000004", "step_00000005"]


def test_a_mean_can_span_the_run_a_continuation_started_from(dataset, tmp_path, capsys):
    """`--also RUN:N`: the steps of the run this one continued (--init-from one of its checkpoints) join the
    mean, with this run's D and its record; a different generator or a lone --also is refused."""
    first = tmp_path / "first"
    run_training(tiny("first", dataset, save_every=2, keep_every=2, max_steps=4, log_every=2), first, resume=False)
    second = tmp_path / "second"
    run_training(tiny("second", dataset, save_every=2, keep_every=2, max_steps=2, log_every=2, batch_size=2,
                      init_from=str(first / "model")), second, resume=False)
    training_cli(["evaluate", "--model", str(second), "--step", "2", "--also", f"{first}:2,4", "--data",
                  str(dataset), "--no-structure"])
    out = second / "checkpoints" / f"step_00000002+{tmp_path.name}-first_2_4" / "model"
    mean = models.load(out)
    assert mean.config.training["averaged_also"] == [{"run": str(first), "steps": [2, 4]}]
    states = [load_file(run / "checkpoints" / f"step_{s:08d}" / "generator.safetensors")
              for run, s in ((first, 2), (first, 4), (second, 2))]
    for key, value in mean.generator.named_parameters():
        assert torch.allclose(value, sum(s[key] for s in states) / 3, atol=1e-6), key
    last_d = load_file(second / "checkpoints" / "step_00000002" / "discriminator.safetensors")
    assert all(torch.equal(v, last_d[k].half() if v.is_floating_point() else last_d[k])
               for k, v in load_file(out / "discriminator.safetensors").items())
    other = tmp_path / "other"
    run_training(tiny("other", dataset, ngf=8, save_every=2, keep_every=2, max_steps=2, log_every=2), other,
                 resume=False)
    for argv, message in ((["--step", "2", "--also", f"{other}:2"], "generator differs"),
                          (["--also", f"{first}:2"], "--also needs --step"),
                          (["--step", "2", "--also", f"{first}:3"], "keeps steps: 2, 4")):
        with pytest.raises(SystemExit, match="^2$"):
            training_cli(["evaluate", "--model", str(second), "--data", str(dataset), *argv])
        assert message in capsys.readouterr().err


def test_ship_takes_the_recipe_options(tmp_path, monkeypatch):
    """`ship NAME --hints 10 --upsample resize ...` starts its new run with them."""
    from training import trainer
    from training.__main__ import main

    seen = {}
    monkeypatch.setattr(trainer, "run_training", lambda cfg, *a, **k: seen.setdefault("cfg", cfg))
    main(["ship", "edges2shoes", "--stages", "train", "--datasets", str(tmp_path), "--runs", str(tmp_path),
          "--hints", "10", "--stroke-aug", "--upsample", "resize", "--diffaugment", "translation",
          "--feature-matching", "2"])
    cfg = seen["cfg"]
    assert (cfg.data.hints, cfg.data.stroke_aug, cfg.model.generator.upsample) == (10, True, "resize")
    assert cfg.model.generator.hints and (cfg.diffaugment, cfg.feature_matching) == ("translation", 2.0)
    assert cfg.command.startswith("python -m training ship")


def test_a_fine_tune_can_start_its_discriminator_from_the_source_run(dataset, tmp_path, capsys):
    src = tiny("src", dataset, save_every=2, keep_every=2, max_steps=2, log_every=1)
    run_training(src, tmp_path / "src", resume=False)
    ckpt = tmp_path / "src" / "checkpoints" / "step_00000002"
    cfg = tiny("ft", dataset, init_from=str(tmp_path / "src" / "model"), init_discriminator=str(ckpt), max_steps=1,
               log_every=1)
    t = Trainer(cfg, tmp_path / "ft", progress=False)
    t.init_discriminator()
    saved = load_file(ckpt / "discriminator.safetensors")
    assert all(torch.equal(v, saved[k]) for k, v in t.D.state_dict().items())
    t.init_generator()
    assert models.load(t.export()).config.training["init_from"]["discriminator_from"] == str(ckpt)  # the card tells it
    with pytest.raises(ValueError, match="differs from this run's"):  # another D width
        Trainer(tiny("w", dataset, ndf=8, init_discriminator=str(ckpt)), tmp_path / "w",
                progress=False).init_discriminator()
    bare = models.save_model(tmp_path / "bare", t.G, models.load(t.export()).config)  # a folder without a D
    with pytest.raises(SystemExit, match="^2$"):
        training_cli(["train", "--name", "x", "--runs", str(tmp_path / "runs"), "--data", str(dataset), "--ngf", "4",
                      "--ndf", "4", "--max-steps", "1", "--init-from", str(tmp_path / "src" / "model"),
                      "--init-discriminator", str(bare)])
    assert "no discriminator.safetensors" in capsys.readouterr().err


def test_d_warmup_trains_the_discriminator_alone_first(dataset, tmp_path):
    t = Trainer(tiny("warm", dataset, d_warmup=2, log_every=1), tmp_path, progress=False)
    g0 = {k: v.clone() for k, v in t.G.state_dict().items()}
    d0 = {k: v.clone() for k, v in t.D.state_dict().items()}

    def moved(net, before):
        return any(not torch.equal(v, before[k]) for k, v in net.state_dict().items() if v.is_floating_point()
                   and "running" not in k)
    terms = [t.train_step(step) for step in range(2)]
    assert all(set(x) == {"D_real", "D_fake"} for x in terms)  # no generator terms: G was not trained
    assert moved(t.D, d0) and not moved(t.G, g0)
    assert {"G_gan", "G_l1"} <= set(t.train_step(2)) and moved(t.G, g0)
    with pytest.raises(ValueError, match="--d-warmup"):
        tiny("l1", dataset, objective="l1", d_warmup=5)
