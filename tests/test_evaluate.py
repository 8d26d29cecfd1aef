"""Evaluation metrics, model cards and the translator's input handling."""
import dataclasses
import json

import numpy as np
import pytest
from helpers import make_dataset, make_model
from PIL import Image

import models
from models.shipped import SHIPPED
from training.card import write_card
from training.evaluate import (
    checkerboard_score,
    color_spread_ratio,
    evaluate,
    gradient_energy,
    intersection,
    lab_histograms,
    lab_mean_ab,
    mean_pairwise_intersection,
)


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    return make_model(root / "model", ngf=4, num_downs=6), make_dataset(root / "data", n_train=1, n_val=3)


def test_metric_building_blocks():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    flat = np.full((32, 32, 3), 128, np.uint8)
    assert gradient_energy(noisy) > 100 * gradient_energy(flat + 0) + 1e-9
    h = lab_histograms(noisy)
    assert intersection(h["a"], h["a"]) == pytest.approx(1.0)
    assert intersection(lab_histograms(flat)["L"], h["L"]) < 0.2


def test_real_pairs_reference_is_the_mean_over_distinct_pairs():
    red, blue = (np.full((8, 8, 3), c, np.uint8) for c in ([255, 0, 0], [0, 0, 255]))
    h = [lab_histograms(x) for x in (red, red, blue)]
    cross = np.mean([intersection(h[0][k], h[2][k]) for k in h[0]])
    # Pairs: red-red (1.0) once and red-blue twice, in both orders.
    assert mean_pairwise_intersection(h) == pytest.approx((1 + 2 * cross) / 3)
    assert cross < 0.7 and np.isnan(mean_pairwise_intersection(h[:1]))


def test_evaluate_writes_metrics_and_images(model_and_data, tmp_path):
    model, data = model_and_data
    result = evaluate(model, data, tmp_path, split="val", structure=False)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["summary"] == result["summary"] and saved["summary"]["pairs"] == 3
    for key in ("L1", "PSNR", "SSIM", "sharpness_ratio", "color_intersection", "color_intersection_pooled",
                "color_intersection_real_pairs", "color_spread_ratio", "checkerboard", "checkerboard_real"):
        assert np.isfinite(saved["summary"][key]), key
    assert 0 <= saved["summary"]["SSIM"] <= 1 and 0 <= saved["summary"]["color_intersection"] <= 1
    grids = sorted((tmp_path / "images").glob("*.png"))
    assert len(grids) == 3 and Image.open(grids[0]).size == (3 * 256, 256)


def test_evaluate_is_seeded(model_and_data, tmp_path):
    model, data = model_and_data
    a = evaluate(model, data, tmp_path / "a", structure=False, seed=1)["summary"]
    b = evaluate(model, data, tmp_path / "b", structure=False, seed=1)["summary"]
    assert a == b


def test_model_card(model_and_data, tmp_path):
    model, data = model_and_data
    evaluate(model, data, tmp_path / "eval", structure=False)
    config = models.load(model).config
    config.metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())["summary"]
    config.training = {"steps": 10, "epochs": 1.0, "device": "cpu", "wall_seconds": 36.0, "pairs": 1}
    card = write_card(SHIPPED["edges2shoes"], tmp_path, config, tmp_path / "eval").read_text()
    assert "# edges → shoes" in card and "PSNR" in card and "samples.jpg" in card
    assert "checkerboard score" in card and "spread of per-image mean colour" in card
    assert Image.open(tmp_path / "samples.jpg").size == (3 * 256, 3 * 256)
    # Re-rendered without an eval folder (ship --stages card): the sample sheet stays, and the
    # ablation, notes and fine-tuning history appear.
    (tmp_path / "ablation.md").write_text("| metric | l1 | l1+cgan |")
    (tmp_path / "SUMMARY.md").write_text("## Where it is weak\n\nBlurry at the edges.")
    (tmp_path / "NOTES.md").write_text("Session 1: ...")
    # The source's own history names its D's architecture: not where this run's D came from.
    config.training["init_from"] = {"model": "assets/models/edges2shoes", "steps": 5, "epochs": 0.5,
                                    "wall_seconds": 3600, "device": "cpu",
                                    "command": "python -m training ship edges2shoes",
                                    "discriminator": "70x70 PatchGAN, ndf 32"}
    card = write_card(SHIPPED["edges2shoes"], tmp_path, config).read_text()
    assert "samples.jpg" in card and "| metric | l1 | l1+cgan |" in card and "Blurry at the edges." in card
    assert "[NOTES.md](NOTES.md)" in card and "Session 1" not in card  # the history is linked, not repeated
    assert card.index("Blurry at the edges.") < card.index("samples.jpg") < card.index("## Training")
    assert "Started from `assets/models/edges2shoes` (fresh discriminator" in card and "1.00 h on cpu" in card
    config.training["init_from"]["discriminator_from"] = "runs/x/checkpoints/step_00000005"
    card = write_card(SHIPPED["edges2shoes"], tmp_path, config).read_text()
    assert "(discriminator from `runs/x/checkpoints/step_00000005` and fresh optimiser)" in card
    assert "hints" not in card  # a lines-only model has no hinted rows nor hint columns
    assert "upsampling by 4x4 stride-2 transposed conv (the paper)" in card
    config.metrics.update(hinted_L1=0.2, hinted_PSNR=18.5, hinted_color_intersection=0.87)
    config.generator = dataclasses.replace(config.generator, hints=True, upsample="resize")
    card = write_card(SHIPPED["edges2shoes"], tmp_path, config).read_text()
    assert "| PSNR with those hints, dB" in card and "| 18.50 |" in card
    assert "input | output | hints | output with hints | ground truth" in card
    assert "upsampling by resize-conv (nearest x2, 3x3 conv); takes colour hints" in card


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "I;16", "1", "CMYK"])
def test_translator_takes_any_mode(mode, model_and_data):
    translator = models.load(model_and_data[0])
    image = Image.new("RGB", (90, 50), "white")
    if mode == "I;16":
        image = Image.fromarray(np.full((50, 90), 40000, np.uint16))
    else:
        image = image.convert(mode)
    out = translator(image, seed=0, size=64)
    assert out.mode == "RGB" and out.size == (64, 36)  # aspect kept, long side = size


def test_translator_sizes_and_seeds(model_and_data):
    translator = models.load(model_and_data[0])
    image = Image.new("RGB", (64, 64), "white")
    assert translator(image, seed=0, size=128).size == (128, 128)
    assert np.array_equal(np.asarray(translator(image, seed=5, size=64)), np.asarray(translator(image, seed=5,
                                                                                                size=64)))
    assert not np.array_equal(np.asarray(translator(image, seed=5, size=64)), np.asarray(translator(image, seed=6,
                                                                                                    size=64)))
    with pytest.raises(ValueError, match="multiple of 64"):
        translator(image, size=100)


def test_bad_and_huge_images_are_refused(tmp_path):
    with pytest.raises(models.BadImageError, match="not a readable image"):
        models.open_image(b"definitely not an image", name="upload.png")
    big = tmp_path / "big.png"
    Image.new("L", (9000, 10), 0).save(big)
    with pytest.raises(models.BadImageError, match="too large"):
        models.open_image(big)


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(models.MissingWeightsError, match="python -m training train"):
        models.load(tmp_path)


def test_rescore_remeasures_the_shipped_model_but_keeps_its_weights(tmp_path, monkeypatch):
    from training import recipes

    monkeypatch.setattr(recipes, "ASSETS", tmp_path / "assets")
    model = make_model(tmp_path / "assets" / "facades", ngf=4, num_downs=6, input_kind="labels", name="facades")
    weights = (model / "model.safetensors").read_bytes()
    make_dataset(tmp_path / "data" / "facades", n_train=1, n_val=3)
    card = recipes.ship("facades", data_root=str(tmp_path / "data"), runs=str(tmp_path / "runs"), stages=("rescore",))
    metrics = json.loads((model / "config.json").read_text())["metrics"]
    assert metrics["pairs"] == 3 and 0 < metrics["color_intersection_real_pairs"] <= 1
    assert json.loads((model / "metrics.json").read_text()) == metrics
    assert "two different real photos" in card.read_text()
    assert (model / "model.safetensors").read_bytes() == weights


def test_ship_refuses_an_unknown_stage(capsys):
    from training.__main__ import main

    with pytest.raises(SystemExit, match="^2$"):
        main(["ship", "facades", "--stages", "evalute"])
    assert "unknown stage" in capsys.readouterr().err
    from training.recipes import StageError, ship

    with pytest.raises(StageError, match="evalute"):  # called from Python too
        ship("facades", stages=("evalute",))


def smooth_image(size: int = 256, seed: int = 0) -> np.ndarray:
    """A photo-like smooth image: blurred noise, colour gradients, no periodic texture."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    img = gaussian_filter(rng.normal(size=(size, size, 3)), sigma=(6, 6, 0))
    img = (img - img.min()) / np.ptp(img)
    return (img * 200 + 20).astype(np.uint8)


def test_checkerboard_score_finds_a_two_pixel_pattern():
    smooth = smooth_image()
    # What a stride-2 decoder leaves: every 2x2 cell gets the same uneven weighting.
    tile = np.tile(np.array([[6, -6], [-2, 2]], np.int16), (128, 128))[..., None]
    checker = np.clip(smooth.astype(np.int16) + tile, 0, 255).astype(np.uint8)
    assert abs(checkerboard_score(smooth)) < 0.2
    assert checkerboard_score(checker) > checkerboard_score(smooth) + 0.3
    assert abs(checkerboard_score(smooth[:192]) - checkerboard_score(smooth[:192, :192])) < 0.3  # non-square works


def test_color_spread_is_zero_for_one_palette_and_one_for_the_photos_own():
    photos = [np.full((16, 16, 3), c, np.uint8) for c in ([200, 40, 40], [40, 160, 60], [50, 60, 200], [220, 200, 40])]
    real = np.array([lab_mean_ab(p) for p in photos])
    same = np.array([lab_mean_ab(photos[0])] * 4)
    assert color_spread_ratio(same, real) == pytest.approx(0.0, abs=1e-6)
    assert color_spread_ratio(real, real) == pytest.approx(1.0)
    assert np.isnan(color_spread_ratio(real[:1], real[:1]))
