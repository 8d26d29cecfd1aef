"""The five shipped models: present, within the size budget, documented, and drawing on CPU."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import models
from app.examples import FOLDER as EXAMPLES
from models.shipped import SHIPPED

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
MiB = 2**20


def test_every_recipe_is_shipped_within_the_budget():
    assert sorted(p.name for p in models.find_models(ASSETS)) == sorted(SHIPPED)
    sizes = {name: (ASSETS / name / "model.safetensors").stat().st_size for name in SHIPPED}
    assert max(sizes.values()) <= 16 * MiB, sizes
    assert sum(sizes.values()) <= 100 * MiB, sizes


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_card_records_how_it_was_made_and_how_good_it_is(name):
    folder = ASSETS / name
    config = json.loads((folder / "config.json").read_text())
    training = config["training"]
    assert training["command"].startswith("python -m training") and training["steps"] > 0
    assert {"device", "epochs", "wall_seconds"} <= training.keys()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == config["metrics"]
    card = (folder / "README.md").read_text()
    assert training["command"] in card and "samples.jpg" in card and "Where it is weak" in card
    assert f"{metrics['color_intersection']:.3f}" in card
    # input | output | ground truth; a hint model adds its hints and the hinted output before the truth
    columns = 5 if config["generator"].get("hints") else 3
    assert Image.open(folder / "samples.jpg").size[0] == columns * 256


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_example_drawing_gives_a_coloured_photo_on_cpu(name):
    translator = models.load(ASSETS / name, device="cpu")
    chromas = []
    # A palette model draws its colour from the seed, and a black or grey bag is a fair draw: colour on
    # one of four seeds, and every one a real picture.
    for seed in range(4):
        photo = np.asarray(translator(Image.open(EXAMPLES / f"{name}.png"), seed=seed), dtype=np.float32)
        assert photo.shape == (256, 256, 3)
        # Not a blank page or grey blur: real contrast, an object drawn, and colour on it.
        obj = photo.mean(axis=2) < 230
        chroma = np.abs(photo - photo.mean(axis=2, keepdims=True)).mean(axis=2)
        assert photo.std() > 20 and obj.mean() > 0.1
        chromas.append(chroma[obj].mean())
    assert max(chromas) > 3, chromas
