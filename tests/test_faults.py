"""Faults a long run meets (a kill mid-prune or mid-export, a torn log, truncated or garbage files, a full
or read-only disk): each run resumes from its last good checkpoint with the log of an uninterrupted run."""
import errno
import json
import os
import re
import shutil

import pytest
from helpers import make_dataset

import models
from models.files import CheckpointError
from training.__main__ import main as training_cli
from training.checkpoint import resume_checkpoint
from training.config import RunConfigError, make_config
from training.trainer import RunWriteError, Trainer, run_training

# 4 pairs, batch 1: 8 steps; checkpoints at 2, 4 (kept), 6, 8 (kept). Faults strike after step 6.
TINY = dict(ngf=4, ndf=4, num_downs=5, load_size=36, crop_size=32, sample_every=10**6,
            epochs=2, log_every=1, save_every=2, keep_every=4)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("pairs"), n_train=4, size=32)


def cfg(data):
    return make_config("f", str(data), **TINY)


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory):
    """The log of the run without faults."""
    run = tmp_path_factory.mktemp("reference")
    Trainer(cfg(dataset), run, progress=False).fit()
    return (run / "log.jsonl").read_text()


def stopped_at(dataset, run, step=6):
    """A run that stopped right after its step-`step` checkpoint, as a kill just after it would leave it."""
    t = Trainer(cfg(dataset), run, progress=False)
    save = t.save
    t.save = lambda: (save(), setattr(t, "_stop", t.step >= step))  # as SIGTERM's handler stops it
    t.fit()
    return run / "checkpoints"


def resume(dataset, run, capsys):
    """Resume to the end; return the step it resumed at and the lines it printed on stderr."""
    capsys.readouterr()
    run_training(cfg(dataset), run, resume=True)
    out = capsys.readouterr()
    assert "(step 8/8)" in out.out
    step = int(out.out.split(" at step ")[1].split()[0]) if " at step " in out.out else 0
    return step, [line for line in out.err.splitlines() if line.startswith(("skipping", "ignoring"))]


def leftovers(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob(".*"))


def test_a_half_pruned_folder_does_not_stop_saving(dataset, reference, tmp_path, capsys):
    ckpts = stopped_at(dataset, tmp_path)
    half = ckpts / "step_00000002"  # a kill while pruning it: state.json already gone
    half.mkdir()
    shutil.copy(ckpts / "step_00000006" / "generator.safetensors", half)
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 6 and (tmp_path / "log.jsonl").read_text() == reference
    assert sorted(p.name for p in ckpts.glob("step_*")) == ["step_00000004", "step_00000008"]


def test_a_torn_log_line_is_dropped(dataset, reference, tmp_path, capsys):
    stopped_at(dataset, tmp_path)
    lines = reference.splitlines(keepends=True)
    with open(tmp_path / "log.jsonl", "a") as log:  # step 7 logged, then a kill mid-line at step 8
        log.write(lines[6] + lines[7][:17])
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 6 and err == []
    assert (tmp_path / "log.jsonl").read_text() == reference


def test_resuming_without_a_checkpoint_starts_over_without_duplicates(dataset, reference, tmp_path, capsys):
    t = Trainer(cfg(dataset), tmp_path, progress=False)
    t.total_steps = 2
    t.save = lambda: None  # killed at step 2, before any checkpoint
    t.fit()
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 2
    (tmp_path / "loss.png").write_bytes(b"a plot of steps 1-2")
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 0 and (tmp_path / "log.jsonl").read_text() == reference
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"  # redrawn, from the one log


@pytest.mark.parametrize("fault", ["truncated generator", "garbage state", "missing optimizers"])
def test_an_unreadable_checkpoint_falls_back_to_the_previous_one(fault, dataset, reference, tmp_path, capsys):
    newest = stopped_at(dataset, tmp_path) / "step_00000006"
    if fault == "truncated generator":  # e.g. copied by a tool that was interrupted
        bad = newest / "generator.safetensors"
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    elif fault == "garbage state":
        bad = newest / "state.json"
        bad.write_text('{"step": 6, "optim')
    else:
        bad = newest / "optimizers.safetensors"
        bad.unlink()
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 4 and (tmp_path / "log.jsonl").read_text() == reference
    assert len(err) == 1 and err[0].startswith("skipping checkpoint step_00000006: ") and str(bad) in err[0]


def test_a_garbage_latest_pointer_is_ignored_with_a_line(dataset, reference, tmp_path, capsys):
    pointer = stopped_at(dataset, tmp_path) / "latest.json"
    pointer.write_bytes(b"\x00\x00garbage")
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 6 and (tmp_path / "log.jsonl").read_text() == reference
    assert len(err) == 1 and err[0].startswith(f"ignoring {pointer}")
    assert json.loads(pointer.read_text())["dir"] == "step_00000008"


def test_no_readable_checkpoint_is_an_error_not_a_fresh_start(dataset, tmp_path):
    ckpts = stopped_at(dataset, tmp_path, step=4)
    for state in ckpts.glob("step_*/state.json"):
        state.write_text("[]")
    t = Trainer(cfg(dataset), tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="step_00000004/state.json: not a checkpoint state"):
        resume_checkpoint(ckpts, t.G, t.D, t.optimizers)


def test_a_garbage_train_config_is_named(dataset, tmp_path, capsys):
    stopped_at(dataset, tmp_path / "f", step=2)
    (tmp_path / "f" / "train_config.json").write_text("{not json")
    with pytest.raises(RunConfigError, match="train_config.json: not a readable training config"):
        run_training(cfg(dataset), tmp_path / "f", resume=True)
    capsys.readouterr()
    with pytest.raises(SystemExit, match="^2$"):
        training_cli(["train", "--data", str(dataset), "--runs", str(tmp_path), "--name", "f", "--resume"])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "train_config.json" in err[0]


# Writes of the step-6 save, in order: generator, discriminator, optimizers, state.json (in the temp folder),
# latest.json, then the export's model.safetensors and config.json.
@pytest.mark.parametrize("nth,code,resumes_at", [
    (1, errno.ENOSPC, 4), (4, errno.EROFS, 4), (5, errno.ENOSPC, 6), (6, errno.ENOSPC, 6),
    (7, errno.EACCES, 6),
])
def test_a_full_or_read_only_disk_loses_nothing_saved(nth, code, resumes_at, dataset, reference, tmp_path,
                                                      capsys, monkeypatch):
    real_fsync, writes = os.fsync, []  # counted from the step-6 save on

    def fsync(fd):  # every atomic write ends with one fsync: a full disk shows up there at the latest
        if writes:
            writes.append(fd)
            if len(writes) - 1 == nth:
                raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    real_save = Trainer.save

    def save(self):
        if self.step == 6:
            writes.append("armed")
        real_save(self)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Trainer, "save", save)
    named = f"cannot write {re.escape(str(tmp_path))}/.*: {os.strerror(code)}"
    with pytest.raises(RunWriteError, match=named):
        run_training(cfg(dataset), tmp_path, resume=False)
    monkeypatch.undo()
    ckpts = tmp_path / "checkpoints"
    assert leftovers(tmp_path) == []  # no temp folder, no temp file
    latest = json.loads((ckpts / "latest.json").read_text())["dir"]
    assert latest == ("step_00000006" if nth > 5 else "step_00000004")
    t = Trainer(cfg(dataset), tmp_path, progress=False)
    assert resume_checkpoint(ckpts, t.G, t.D, t.optimizers)[0]["step"] == resumes_at
    assert models.load_generator(tmp_path / "model")[1].training["steps"] in (4, 6)  # the export still loads
    step, err = resume(dataset, tmp_path, capsys)
    assert step == resumes_at and err == [] and (tmp_path / "log.jsonl").read_text() == reference


def test_the_cli_names_the_file_a_full_disk_stopped(dataset, tmp_path, capsys, monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(SystemExit) as stop:
        training_cli(["train", "--data", str(dataset), "--runs", str(tmp_path), "--name", "full",
                      "--ngf", "4", "--ndf", "4", "--max-steps", "1"])
    assert stop.value.code == f"error: cannot write {tmp_path / 'full' / 'train_config.json'}: " \
                              f"No space left on device; the checkpoints saved before are intact " \
                              f"(free some space, then --resume)"


def test_a_full_disk_while_logging_names_the_log_and_the_torn_line_is_dropped(dataset, reference, tmp_path,
                                                                              capsys, monkeypatch):
    log, real_open = tmp_path / "log.jsonl", open

    class Full:  # the step-3 line: the disk fills after a few bytes of it
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, text):
            self.file.write(text[:10])
            self.file.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() raises it: no filename

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return Full(f) if file == log and "a" in mode and log.read_text().count("\n") == 2 else f

    monkeypatch.setattr("training.trainer.open", fake_open, raising=False)
    with pytest.raises(RunWriteError, match=f"^cannot write {re.escape(str(log))}: No space left on device;"):
        run_training(cfg(dataset), tmp_path, resume=False)
    monkeypatch.undo()
    assert log.read_text().endswith('\n{"step": 3')
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 2 and err == [] and log.read_text() == reference


def test_temps_of_a_kill_mid_write_are_cleaned_on_the_next_start(dataset, reference, tmp_path, capsys):
    ckpts = stopped_at(dataset, tmp_path)
    torn = [tmp_path / "model" / ".model.safetensors.k2j4x9qa.tmp",  # a kill during export
            tmp_path / ".log.jsonl.0x8fk2ab.tmp", ckpts / ".latest.json.m3n8b1zz.tmp",
            ckpts / ".tmp_step_00000008" / "generator.safetensors"]  # a kill during a save
    for path in torn:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"torn")
    step, err = resume(dataset, tmp_path, capsys)
    assert step == 6 and (tmp_path / "log.jsonl").read_text() == reference
    assert leftovers(tmp_path) == []


def evaluate_step_4(dataset, run, capsys):
    """The stderr lines of `evaluate --step 4` on RUN, which must stop with exit code 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit, match="^2$"):
        training_cli(["evaluate", "--model", str(run), "--step", "4", "--data", str(dataset),
                      "--no-structure"])
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("fault", ["garbage", "missing"])
def test_evaluating_a_step_of_a_run_without_a_readable_config_is_one_line(fault, dataset, tmp_path, capsys):
    stopped_at(dataset, tmp_path, step=4)
    config = tmp_path / "train_config.json"
    config.write_text("{not json") if fault == "garbage" else config.unlink()
    err = evaluate_step_4(dataset, tmp_path, capsys)
    assert len(err) == 1 and err[0].startswith(f"error: {config}: "), err


def test_evaluating_a_truncated_kept_checkpoint_is_one_line(dataset, tmp_path, capsys):
    weights = stopped_at(dataset, tmp_path, step=4) / "step_00000004" / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    err = evaluate_step_4(dataset, tmp_path, capsys)
    assert len(err) == 1 and err[0].startswith(f"error: {weights}: unreadable"), err
