"""Every bad value a user can type ends with exit code 2 and one line saying what is wrong."""
import errno
import os

import numpy as np
import pytest
import torch
from helpers import make_dataset, make_model, make_pair

from hed_edges.__main__ import main as hed_cli
from training.__main__ import main as training_cli


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = make_dataset(root / "pairs", n_train=2, n_val=1, size=32)
    (root / "empty").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "a.jpg").write_bytes(b"not a jpeg")
    (root / "nopairs" / "train").mkdir(parents=True)  # a split folder without a pair in it
    (root / "badpairs" / "train").mkdir(parents=True)
    (root / "badpairs" / "train" / "a.jpg").write_bytes(b"not a jpeg")
    make_pair(np.random.default_rng(0), 32).save(root / "photo.png")
    (make_model(root / "badmodel", num_downs=5) / "config.json").write_text('{"generator": 5}')
    return {"DATA": str(data), "ROOT": str(root), "MISSING": str(root / "missing"),
            "EMPTY": str(root / "empty"), "BROKEN": str(root / "broken"), "PHOTO": str(root / "photo.png"),
            "NOPAIRS": str(root / "nopairs"), "BADPAIRS": str(root / "badpairs"),
            "BADMODEL": str(root / "badmodel")}


TRAIN = "train --data DATA --runs ROOT/runs --name x"
# (command line, what the one error line must say)
TRAINING = [
    (f"{TRAIN} --batch-size 0", "--batch-size: expected a whole number of at least 1, got 0"),
    (f"{TRAIN} --save-every 0", "--save-every"),
    (f"{TRAIN} --log-every 0", "--log-every"),
    (f"{TRAIN} --sample-every 0", "--sample-every"),
    (f"{TRAIN} --keep-every -1", "--keep-every"),
    (f"{TRAIN} --epochs 0", "--epochs"),
    (f"{TRAIN} --epochs -3", "--epochs: expected a whole number of at least 1, got -3"),
    (f"{TRAIN} --epochs two", "--epochs: expected a whole number of at least 1, got 'two'"),
    (f"{TRAIN} --max-steps -1", "--max-steps"),
    (f"{TRAIN} --decay-epochs -2", "--decay-epochs"),
    (f"{TRAIN} --lr 0", "--lr: expected a number above 0, got 0"),
    (f"{TRAIN} --lr nan", "--lr"),
    (f"{TRAIN} --lambda-l1 -1", "--lambda-l1"),
    (f"{TRAIN} --ngf 0", "--ngf"),
    (f"{TRAIN} --seed -1", "--seed"),
    (f"{TRAIN} --patch 5", "--patch: invalid choice"),
    (f"{TRAIN} --device gpu", "--device: 'gpu' is not a device"),
    (f"{TRAIN} --init-from MISSING", "--init-from: ROOT/missing: not a model folder"),
    (f"{TRAIN} --init-from BADMODEL", "--init-from: ROOT/badmodel: config.json: generator must be"),
    ("train --data MISSING --runs ROOT/runs --name x", "--data: ROOT/missing: no such folder"),
    (f"{TRAIN} --epochs 2 --decay-epochs 3", "error: --decay-epochs 3 is longer than the run (2 epochs)"),
    (f"{TRAIN} --batch-size 5", "error: DATA: 2 training pairs is fewer than one batch"),
    ("retrain MISSING --name x", "photos: ROOT/missing: no such folder"),
    ("retrain EMPTY --name x --detector canny", "error: ROOT/empty: no photos found"),
    ("evaluate --model ROOT --data DATA --limit -1", "--limit"),
    ("evaluate --model ROOT --data DATA --step -1", "--step"),
    ("evaluate --model BADMODEL --data DATA", "error: ROOT/badmodel: config.json: generator must be"),
    ("ship facades --epochs 0", "--epochs"),
    ("ship facades --batch-size 0", "--batch-size"),
    ("ship facades --eval-limit -5", "--eval-limit"),
]
if not torch.cuda.is_available():
    TRAINING.append((f"{TRAIN} --device cuda", "--device: cuda: torch sees no CUDA device"))
HED = [
    ("build MISSING ROOT/out", "photos: ROOT/missing: no such folder"),
    ("build PHOTO ROOT/out", "photos: ROOT/photo.png: no such folder"),
    ("build BROKEN ROOT/out --detector canny --workers 1",
     "error: ROOT/out: no pairs made; 1 of 1 photos skipped (first: a.jpg"),
    ("build EMPTY ROOT/out --detector canny", "error: ROOT/empty: no photos found"),
    ("build DATA ROOT/out --size 0", "--size"),
    ("build DATA ROOT/out --split a,b", "--split"),
    ("build DATA ROOT/out --split 0.9,-0.1", "--split"),
    ("build DATA ROOT/out --workers 0", "--workers"),
    ("build DATA ROOT/out --limit 0", "--limit"),
    ("build DATA ROOT/out --detector sobel", "--detector: invalid choice"),
    ("extract MISSING", "image: ROOT/missing: no such file"),
    ("extract PHOTO --size -1", "--size"),
    ("import-paired MISSING ROOT/out --photo-side left", "src: ROOT/missing: no such folder"),
    ("import-facades EMPTY ROOT/out --val-fraction 1.5", "--val-fraction"),
    # an import that makes nothing fails, as a build does
    ("import-paired NOPAIRS ROOT/imported --photo-side left",
     "error: ROOT/nopairs: no pair images in train/"),
    ("import-paired BADPAIRS ROOT/imported --photo-side left",
     "error: ROOT/imported: no pairs made; 1 of 1 pairs skipped (first: train/a.jpg"),
    ("import-facades EMPTY ROOT/facades", "error: ROOT/empty: no facade photos"),
    ("import-facades BROKEN ROOT/facades",
     "error: ROOT/facades: no pairs made; 1 of 1 photos skipped (first: a.jpg: no label map a.png"),
]


def fill(line, places):
    words = line.split()
    for key in ("MISSING", "EMPTY", "BROKEN", "PHOTO", "NOPAIRS", "BADPAIRS", "BADMODEL", "DATA", "ROOT"):
        words = [w.replace(key, places[key]) for w in words]
    return words


def error_of(cli, argv, capsys):
    """The exit code and what was printed on stderr."""
    capsys.readouterr()
    try:
        code = cli(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("cli,line,says", [(training_cli, *case) for case in TRAINING]
                         + [(hed_cli, *case) for case in HED],
                         ids=[f"training {c[0]}" for c in TRAINING] + [f"hed_edges {c[0]}" for c in HED])
def test_a_bad_value_is_one_line_and_exit_2(cli, line, says, places, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, err = error_of(cli, fill(line, places), capsys)
    assert code == 2 and "Traceback" not in err, err
    if says.startswith("error: "):  # found once the data is read, which may draw a progress bar first
        last = err.rstrip("\n").splitlines()[-1]
        assert last.startswith(" ".join(fill(says, places))), err
    else:  # argparse's, at parse time
        assert err.count("\n") == 1 and ": error: argument " in err, err
        assert " ".join(fill(says, places)) in err


def test_a_full_or_read_only_disk_is_one_line_naming_the_path(places, capsys, monkeypatch):
    """Not a bad value (exit 1, not 2), but no traceback either."""
    out = f"{places['PHOTO']}/out"  # under a file: mkdir fails as on a read-only folder
    code, err = error_of(hed_cli, ["build", places["DATA"], out, "--detector", "canny"], capsys)
    assert (code, err) == (1, f"error: cannot write {out}: Not a directory\n")

    def full(image, path):  # PIL writes into an open file: the OSError names no file
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("hed_edges.importers.save_atomic", full)
    out = f"{places['ROOT']}/full"
    code, err = error_of(hed_cli, ["import-paired", places["DATA"], out, "--photo-side", "left"], capsys)
    assert code == 1 and err.splitlines()[-1] == f"error: cannot write {out}: No space left on device", err
