"""`retrain PHOTOS --name X` trains what the shipped edges models were trained with, unless --recipe paper."""
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from helpers import make_pair

from training.__main__ import main as training_cli

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
# Where each recipe flag lands in a run's train_config.json.
WHERE = {"--upsample": ("model", "generator", "upsample"), "--stroke-aug": ("data", "stroke_aug"),
         "--hints": ("data", "hints"), "--hint-radius": ("data", "hint_radius"),
         "--hint-length": ("data", "hint_length"), "--hint-recolour": ("data", "hint_recolour"),
         "--hint-fill": ("model", "generator", "hint_fill_mode"), "--palette": ("model", "generator", "palette")}


def shipped_line_models() -> list[dict]:
    configs = [json.loads(p.read_text()) for p in sorted(ASSETS.glob("*/config.json"))]
    return [c for c in configs if c["input_kind"] in ("edges", "sketch")]


def flags(command: str) -> dict:
    """A recorded command's options (its first run; a resumed run's later commands keep them), flag -> value."""
    tokens = shlex.split(command.split("; from step")[0])
    out = {}
    for i, token in enumerate(tokens):
        if token.startswith("--"):
            value = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("--") else True
            out[token] = value
    return out


def recipe_of(config: dict) -> dict:
    """A shipped model's recipe, flag -> value: the generator's options from its config (a fine-tune keeps
    its source's without naming them), the training data's from its command."""
    recipe = {k: v for k, v in flags(config["training"]["command"]).items() if WHERE.get(k, ("model",))[0] == "data"}
    for flag, path in WHERE.items():
        if path[0] == "model":
            recipe[flag] = config["generator"][path[-1]]
    return recipe


def shared_recipe() -> dict:
    """The recipe flags every shipped edges/sketch model was trained with, and their values."""
    recipes = [recipe_of(c) for c in shipped_line_models()]
    return {k: v for k, v in recipes[0].items() if all(r.get(k) == v for r in recipes)}


def lookup(config: dict, path: tuple):
    for key in path:
        config = config[key]
    return config


def retrain(tmp_path, *extra) -> dict:
    training_cli(["retrain", str(tmp_path / "photos"), "--name", extra[0], "--runs", str(tmp_path / "runs"),
                  "--datasets", str(tmp_path / "data"), "--detector", "canny", "--ngf", "4", "--ndf", "4",
                  "--max-steps", "1", "--device", "cpu", *extra[1:]])
    return json.loads((tmp_path / "runs" / extra[0] / "train_config.json").read_text())


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(40)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(40):
        make_pair(rng, 96).crop((96, 0, 192, 96)).save(folder / f"p{i:02d}.png")
    return folder


def test_retrain_defaults_to_the_shipped_recipe(photos, tmp_path):
    recipe = shared_recipe()
    assert len(shipped_line_models()) >= 4 and set(recipe) == set(WHERE), recipe  # the four agree on all of them
    config = retrain(tmp_path, "mine")
    for flag, value in recipe.items():
        got = lookup(config, WHERE[flag])
        assert got == (value if isinstance(value, bool) else type(got)(value)), (flag, got, value)
    assert config["preset"] == "compact" and all(c["training"]["preset"] == "compact" for c in shipped_line_models())
    assert config["model"]["generator"]["hint_fill"] is True
    assert (tmp_path / "data" / "mine" / "train").is_dir() and (tmp_path / "runs" / "mine" / "model").is_dir()
    # The plain paper recipe is one option away, and an option given still wins over the recipe's default.
    paper = retrain(tmp_path, "plain", "--hints", "3", "--recipe", "paper")
    assert paper["model"]["generator"]["upsample"] == "deconv" and paper["data"]["hints"] == 3
    assert not paper["data"]["stroke_aug"] and not paper["model"]["generator"]["palette"]
    assert paper["model"]["generator"]["hint_fill"] is False and paper["preset"] == "compact"


def test_retrain_help_groups_its_options(capsys):
    with pytest.raises(SystemExit, match="^0$"):
        training_cli(["retrain", "--help"])
    text = capsys.readouterr().out
    basic, recipe, advanced = (text.index(f"\n{g}:\n") for g in ("basic", "recipe", "advanced"))
    assert basic < text.index("--name NAME", basic) < recipe < text.index("--recipe {paper,shipped}", recipe) < advanced
    assert recipe < text.index("--hints N", recipe) < advanced < text.index("--lambda-l1", advanced)
