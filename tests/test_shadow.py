"""The drawing's shadow (models.shadow) on tiny shapes the test draws: prototypes blend many maps, and the shadow
of half a shape lies on its other half."""
import numpy as np
from PIL import Image, ImageDraw

import models
from models import shadow


def shape(kind: str, size: int, jitter: int) -> np.ndarray:
    """A 256-px ink mask: a circle or a square outline, `size` px across, moved by `jitter`."""
    image = Image.new("L", (256, 256), 255)
    box = (128 - size // 2 + jitter, 128 - size // 2, 128 + size // 2 + jitter, 128 + size // 2)
    (ImageDraw.Draw(image).ellipse if kind == "circle" else ImageDraw.Draw(image).rectangle)(box, outline=0, width=2)
    return np.asarray(image) < 128


def training_set() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [shape(kind, int(rng.integers(120, 200)), int(rng.integers(-8, 9)))
            for kind in ("circle", "square") for _ in range(40)]


def test_prototypes_are_blends_of_many_maps():
    masks = training_set()
    prototypes = shadow.build(masks)
    assert prototypes.dtype == np.uint8 and prototypes.shape[1:] == (shadow.GRID, shadow.GRID)
    assert 1 < len(prototypes) <= len(masks) // shadow.MIN_MEMBERS
    grids = [(shadow.ink_grid(m) * 255).astype(np.uint8) for m in masks]
    for p in prototypes:  # no prototype is any one training map
        assert min(np.abs(p.astype(int) - g).mean() for g in grids) > 1


def test_the_shadow_of_half_a_shape_lies_on_its_other_half():
    prototypes = shadow.build(training_set())
    for kind in ("circle", "square"):
        full = shape(kind, 160, 0)
        drawn = full.copy()
        drawn[:, 128:] = False  # the left half is drawn
        guess = shadow.shadow(shadow.ink_grid(drawn), prototypes)
        hidden = shadow.ink_grid(full & ~drawn) > 0
        elsewhere = ~(shadow.ink_grid(full) > 0)
        elsewhere[:, : shadow.GRID // 2] = False
        assert guess[hidden].mean() > 3 * guess[elsewhere].mean(), kind
        other = "square" if kind == "circle" else "circle"  # and it is this shape's other half, not the other's
        theirs = shadow.ink_grid(shape(other, 160, 0)) > 0
        theirs &= ~hidden
        theirs[:, : shadow.GRID // 2] = False
        assert guess[hidden].mean() > guess[theirs].mean(), kind


def test_no_drawing_no_shadow():
    prototypes = shadow.build(training_set())
    assert not shadow.shadow(np.zeros((shadow.GRID, shadow.GRID), np.float32), prototypes).any()


def test_partial_pairs_keep_some_strokes_of_the_whole_map(tmp_path):
    from hed_edges.partials import build_partials

    src = tmp_path / "pairs" / "train"
    src.mkdir(parents=True)
    for i, kind in enumerate(("circle", "square")):
        edges = Image.fromarray(np.where(shape(kind, 100, 0) | shape(kind, 180, 0), 0, 255).astype(np.uint8))
        pair = Image.new("RGB", (512, 256), "white")
        pair.paste(edges.convert("RGB"), (0, 0))
        pair.save(src / f"{i}.jpg")
    (src / "broken.jpg").write_bytes(b"not an image")
    data = build_partials(tmp_path / "pairs", tmp_path / "partial", copies=2, progress=False)
    assert data["counts"]["train"] == 4 and [s["file"] for s in data["skipped"]] == ["train/broken.jpg"]
    first = {p.name: p.read_bytes() for p in (tmp_path / "partial" / "train").glob("*.png")}
    for path in (tmp_path / "partial" / "train").glob("*.png"):
        pair = np.asarray(Image.open(path).convert("L")) < 128
        partial, whole = pair[:, :256], pair[:, 256:]
        assert partial.any() and (partial & ~whole).sum() == 0 and partial.sum() < whole.sum()
        path.unlink()
    build_partials(tmp_path / "pairs", tmp_path / "partial", copies=2, progress=False)  # the same pairs again
    assert {p.name: p.read_bytes() for p in (tmp_path / "partial" / "train").glob("*.png")} == first


def test_a_run_of_lines_keeps_its_shadow_and_ships_it(tmp_path):
    """A retrained or shipped model gets a shadow: a run's model folder holds its data's prototypes, built once,
    and evaluate --step and copying the folder keep them."""
    from helpers import make_dataset, tiny

    from models.folder import SHADOW, copy_model
    from training.checkpoint import checkpoint_model
    from training.trainer import Trainer

    data = make_dataset(tmp_path / "pairs", n_train=12)
    t = Trainer(tiny("s", data, max_steps=2, keep_every=1, save_every=1), tmp_path / "run", progress=False)
    t.fit()
    folder = tmp_path / "run" / "model"
    prototypes = shadow.from_png(folder / SHADOW)
    assert prototypes.shape[1:] == (shadow.GRID, shadow.GRID) and prototypes.any()
    assert shadow.to_png(prototypes) == (folder / SHADOW).read_bytes()
    built = (folder / SHADOW).stat().st_mtime_ns
    t.export()
    assert (folder / SHADOW).stat().st_mtime_ns == built  # not rebuilt at every export
    step = checkpoint_model(tmp_path / "run", 2)
    assert (step / SHADOW).read_bytes() == (folder / SHADOW).read_bytes()
    shipped = copy_model(folder, tmp_path / "shipped", models.check_folder(folder))
    assert (shipped / SHADOW).read_bytes() == (folder / SHADOW).read_bytes()
    (data / "train" / "torn.jpg").write_bytes(b"\xff\xd8 a copy cut short")  # `ship --stages shadow` skips it
    assert len(shadow.edge_maps(data)) == 12


def test_l2_is_one_field_and_trains(tmp_path):
    """--l2 (the completion route's loss: lines are rare, so L1's median is a blank) trains G by the mean
    squared error alone with --objective l1 --lambda-l1 0."""
    import json

    from helpers import make_dataset, tiny

    from training.trainer import Trainer

    data = make_dataset(tmp_path / "pairs")
    t = Trainer(tiny("l2", data, objective="l1", lambda_l1=0.0, l2=1.0, max_steps=2, log_every=1), tmp_path / "run",
                progress=False)
    t.fit()
    logged = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all("G_l2" in r and "D_real" not in r for r in logged if "step" in r)
