"""Each training option is one config field, and each shipped model one row of models.shipped: the command lines
are generated from the fields, every command the shipped models were trained with still parses to the config it
gave before (tests/golden/train_configs.json, written by the hand-made CLI), and every title comes from one table."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import shlex
from pathlib import Path

import pytest

import training.__main__ as cli
import training.trainer
from models.cli import options_table
from models.config import option
from models.shipped import SHIPPED
from training.config import OPTIONS, DataConfig, TrainConfig
from training.recipes import RECIPES, SHIP_DEFAULTS

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "train_configs.json"
TRAINING_DOC = REPO / "docs" / "training.md"


class Captured(Exception):
    """Raised by the stand-in for run_training, so nothing trains or writes."""


def shipped_commands() -> list[str]:
    """Every `train` / `ship` command in the shipped configs' histories, with its own run folder's name
    (`--init-from runs/...` points at the shipped folder of the same model: a stand-in that exists)."""
    commands = []
    for config in sorted((REPO / "assets" / "models").glob("*/config.json")):
        for found in re.findall(r'"command": "(python -m training [^"]*)"', config.read_text()):
            for part in found.split(";"):
                command = part[part.find("python -m training"):].strip()
                if command.split()[3:4] in (["train"], ["ship"]):
                    commands.append(re.sub(r"--init-from runs/\S+", f"--init-from assets/models/{config.parent.name}",
                                           command))
    return sorted(set(commands))


def captured_config(command: str, monkeypatch, tmp_path: Path) -> dict:
    """The TrainConfig the CLI builds for `command`, run in a folder where its data and model folders exist, or
    its refusal (an old command whose --init-from folder has since gained inputs it does not pass)."""
    argv = shlex.split(command)[3:]
    monkeypatch.chdir(tmp_path)
    if not (tmp_path / "assets").exists():
        (tmp_path / "assets").symlink_to(REPO / "assets")
    for i, arg in enumerate(argv[:-1]):
        if arg == "--data":
            (tmp_path / argv[i + 1]).mkdir(parents=True, exist_ok=True)

    def capture(cfg, *args, **kwargs):
        raise Captured(cfg)

    monkeypatch.setattr(cli, "run_training", capture)
    monkeypatch.setattr(training.trainer, "run_training", capture)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            cli.main(argv)
    except Captured as caught:
        data = dataclasses.asdict(caught.args[0])
    except SystemExit:
        return {"refused": stderr.getvalue()}
    else:
        raise AssertionError(f"{command}: nothing trained")
    data.pop("command")
    return json.loads(json.dumps(data).replace(str(REPO), "REPO"))  # the same on any clone


# TrainConfig / DataConfig fields that are not options, and why.
NOT_OPTIONS = {"name": "--name, or ship's NAME", "root": "--data", "model": "nested", "discriminator": "nested",
               "data": "nested", "command": "the command line itself", "init_history": "copied from --init-from"}


@pytest.mark.parametrize("command", ["train", "retrain", "ship"])
def test_every_option_field_is_in_the_help(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    for name, (_, f, _) in OPTIONS.items():
        flag = ("--no-" if f.default is True else "--") + name.replace("_", "-")
        assert re.search(rf"{flag}\b", out), (command, flag)
    for cls in (TrainConfig, DataConfig):
        for f in dataclasses.fields(cls):
            assert f.name in OPTIONS or f.name in NOT_OPTIONS, f"{cls.__name__}.{f.name}: neither option nor listed"


def test_a_new_field_is_a_new_option(monkeypatch, capsys):
    """Adding an option = adding a field: the parsers and make_config take it with no other edit."""
    @dataclasses.dataclass
    class Extended(TrainConfig):
        warmup_steps: int = option(0, help="a new option, declared once")

    monkeypatch.setattr(cli, "TrainConfig", Extended)
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--warmup-steps" in capsys.readouterr().out


@pytest.mark.parametrize("group", ["basic", "recipe", "advanced"])
def test_docs_list_every_option_as_declared(group):
    table = options_table(TrainConfig, group)
    assert table in TRAINING_DOC.read_text(), f"docs/training.md's {group} table should read:\n{table}"


def test_docs_give_the_shipped_recipe():
    assert shlex.join(cli.recipe_flags(RECIPES["shipped"])) in " ".join(TRAINING_DOC.read_text().split())


def test_recipe_keys_are_option_fields():
    for recipe in [*RECIPES.values(), SHIP_DEFAULTS]:
        assert set(recipe) <= set(OPTIONS), set(recipe) - set(OPTIONS)


def test_retrain_trains_the_shipped_recipe(monkeypatch, tmp_path):
    """`retrain`'s defaults are RECIPES["shipped"], whatever the photo folder."""
    photos = tmp_path / "photos"
    photos.mkdir()
    monkeypatch.setattr("hed_edges.build.build_dataset", lambda *a, **k: None)
    config = captured_config(f"python -m training retrain {photos} --name mine", monkeypatch, tmp_path)
    flat = {**config["model"]["generator"], **config, **config["data"]}  # hints: the count, not the switch
    for key, value in RECIPES["shipped"].items():
        assert flat[key] == (bool(value) if key == "hint_fill" else value), key
    assert flat["hint_fill_mode"] == RECIPES["shipped"]["hint_fill"]


def test_titles_come_from_one_table(tmp_path):
    """The studio's picker and the static page show models.shipped's titles, in its order; the README's models
    table is checked against the same table in test_docs."""
    from app.registry import Registry, default_roots

    registry = Registry(default_roots())
    shipped = [e for e in registry.entries.values() if e.folder.parent.name == "models"]
    assert [(e.key, e.label) for e in shipped] == [(name, m.title) for name, m in SHIPPED.items()]


def test_every_shipped_command_is_covered():
    """A newly shipped model's command is added by `python tests/test_options.py` (it records what today's CLI
    gives for every command, so run it only when the CLI has not changed what the old commands give)."""
    assert sorted(json.loads(GOLDEN.read_text())) == shipped_commands(), "re-record: python tests/test_options.py"


def beside(config: dict, golden: dict, defaults: dict) -> dict:
    """`config` less the fields added since `golden` was recorded, where they hold their defaults (a new option
    left out changes nothing)."""
    out = {}
    for key, value in config.items():
        if key not in golden:
            assert value == defaults.get(key), f"new field {key}: {value!r} where it was not given"
        elif isinstance(value, dict) and isinstance(golden[key], dict) and isinstance(defaults.get(key), dict):
            out[key] = beside(value, golden[key], defaults[key])
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("command", shipped_commands())
def test_shipped_command_parses_as_before(command, monkeypatch, tmp_path):
    golden = json.loads(GOLDEN.read_text())[command]
    config = captured_config(command, monkeypatch, tmp_path)
    if "refused" not in config:
        config = beside(config, golden, json.loads(json.dumps(dataclasses.asdict(TrainConfig()))))
    assert config == golden


if __name__ == "__main__":  # write the golden file (only with the CLI it was first written by)
    with pytest.MonkeyPatch.context() as mp:
        import tempfile
        golden = {}
        for command in shipped_commands():
            with tempfile.TemporaryDirectory() as tmp:
                golden[command] = captured_config(command, mp, Path(tmp))
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
