"""Startup survives any model folder: each bad one is named and skipped, loading errors are ours."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import models
from app.registry import Registry
from models.config import ConfigError, GeneratorConfig, ModelConfig


def config_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def with_generator(folder: Path, **changes) -> dict[str, str]:
    config = config_of(folder)
    config["generator"].update(changes)
    return {"config.json": json.dumps(config)}


def with_top(folder: Path, **changes) -> dict[str, str]:
    return {"config.json": json.dumps({**config_of(folder), **changes})}


def broken_folders(good: Path) -> dict[str, tuple[object, str]]:
    """name -> (how to break a copy of `good`, a fragment the one-line reason must contain)."""
    weights = load_file(good / "model.safetensors")
    renamed = {k.replace("enc", "encoder"): v for k, v in weights.items()}
    as_ints = {k: v.to(torch.int32) for k, v in weights.items()}
    raw = (good / "model.safetensors").read_bytes()
    return {
        "bad-json": ({"config.json": "{not json"}, "config.json: not valid JSON"),
        "json-list": ({"config.json": "[]"}, "config.json: must be a JSON object, got []"),
        "json-null": ({"config.json": "null"}, "must be a JSON object, got null"),
        "json-string": ({"config.json": '"x"'}, 'must be a JSON object, got "x"'),
        "ngf-string": (with_generator(good, ngf="4"), 'generator.ngf must be an integer, got "4"'),
        "ngf-zero": (with_generator(good, ngf=0), "generator.ngf must be in 1..512, got 0"),
        "ngf-negative": (with_generator(good, ngf=-4), "generator.ngf must be in 1..512"),
        "ngf-huge": (with_generator(good, ngf=10**6), "generator.ngf must be in 1..512"),
        "ngf-bool": (with_generator(good, ngf=True), "generator.ngf must be an integer, got true"),
        "dropout-2": (with_generator(good, dropout=2), "generator.dropout must be in 0..1"),
        "channels-0": (with_generator(good, in_channels=0), "generator.in_channels must be in 1..16"),
        "num-downs-3": (with_generator(good, num_downs=3), "generator.num_downs must be in 5..10"),
        "norm-unknown": (with_generator(good, norm="group"), "generator.norm must be one of"),
        "generator-list": (with_top(good, generator=[]), "generator must be a JSON object"),
        "pad-colour": (with_top(good, pad_color=[1, 2]), "pad_color must have 3 items"),
        "unknown-key": (with_top(good, colour=1), "config.json: unknown keys ['colour']"),
        "unknown-nested-key": (with_generator(good, width=3), "generator: unknown keys ['width']"),
        "not-utf8": ({"config.json": b"\xff\xfe{}"}, "config.json: not"),
        "config-is-a-folder": ({"config.json": None}, "config.json is not a file"),
        "weights-are-a-folder": ({"model.safetensors": None}, "model.safetensors is not a file"),
        "no-weights": ({"model.safetensors": False}, "no model.safetensors"),
        "no-config": ({"config.json": False}, "no config.json"),
        "truncated-weights": ({"model.safetensors": raw[: len(raw) // 2]}, "truncated or corrupt"),
        "garbage-weights": ({"model.safetensors": b"\x00garbage" * 100}, "truncated or corrupt"),
        "empty-weights": ({"model.safetensors": b""}, "truncated or corrupt"),
        "pickle-weights": ({"model.safetensors": weights}, "a PyTorch pickle, which is never loaded"),
        "wider-config": (with_generator(good, ngf=8), "the config needs 8x3x4x4"),
        "widest-config": (with_generator(good, ngf=512), "doesn't fit config.json"),
        "hints-config": (with_generator(good, hints=True), "doesn't fit config.json"),
        "renamed-tensors": ({"safetensors": renamed}, "missing enc1.conv.weight, enc1.conv.bias"),
        "int-tensors": ({"safetensors": as_ints}, "has dtype I32"),
    }


def make_folder(folder: Path, good: Path, change: dict) -> None:
    shutil.copytree(good, folder)
    for name, value in change.items():
        path = folder / name
        if name == "safetensors":
            save_file(value, folder / "model.safetensors")
        elif isinstance(value, dict):
            torch.save(value, path)
        elif value is None:
            path.unlink()
            path.mkdir()
        elif value is False:
            path.unlink()
        else:
            path.write_bytes(value.encode() if isinstance(value, str) else value)


@pytest.fixture(scope="module")
def zoo(tiny_models, tmp_path_factory):
    """A models folder: the two tiny good models beside one broken copy per kind of breakage."""
    root = tmp_path_factory.mktemp("zoo")
    for name in ("edges2cats", "facades"):
        shutil.copytree(tiny_models / name, root / name)
    cases = broken_folders(tiny_models / "edges2cats")
    for name, (change, _) in cases.items():
        make_folder(root / name, tiny_models / "edges2cats", change)
    return root, cases


def test_registry_lists_the_good_and_names_each_skipped_one(zoo, capsys):
    root, cases = zoo
    registry = Registry([root])
    assert list(registry.entries) == ["edges2cats", "facades"]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(cases)  # one line per bad folder, nothing else
    for name, (_, why) in cases.items():
        [line] = [ln for ln in lines if f"{root / name}:" in ln]
        assert why in line and line.startswith("pix2pix studio: skipped model folder"), line
    assert {p.name for p in registry.skipped} == set(cases)


def test_find_models_walks_the_same_folders_the_registry_checks(zoo):
    """One walk: folders holding both files plainly; with broken=True, every folder holding either."""
    root, cases = zoo
    plain = {p.name for p in models.find_models(root)}
    half = {"no-weights", "no-config", "config-is-a-folder", "weights-are-a-folder"}
    assert plain.isdisjoint(half)
    every = {p.name for p in models.find_models(root, broken=True)}
    assert every == plain | half == {"edges2cats", "facades", *cases}


def test_load_raises_our_one_line_error_for_each(zoo):
    root, cases = zoo
    for name, (_, why) in cases.items():
        with pytest.raises(models.ModelError) as e:
            models.load(root / name)
        text = str(e.value)
        assert text.startswith(f"{root / name}: ") and why in text and "\n" not in text, text
        assert "Error" not in text and "deserializ" not in text, text  # no library exception text


def test_missing_weights_keep_their_type_and_say_how_to_get_them(zoo):
    root, _ = zoo
    with pytest.raises(models.MissingWeightsError, match="python -m training train"):
        models.load(root / "no-weights")
    with pytest.raises(FileNotFoundError):  # callers catching the old base class still work
        models.load(root / "no-config")


@pytest.mark.parametrize("ngf", [10**6, 512])
def test_huge_width_refused_fast_without_allocating(zoo, ngf):
    root, _ = zoo
    folder = root / ("ngf-huge" if ngf > 512 else "widest-config")
    start = time.perf_counter()
    with pytest.raises(models.BadModelError):
        models.check_folder(folder)
    # ngf 512 would be ~3.5 G parameters (14 GB) if built for real; the meta device builds shapes only.
    assert time.perf_counter() - start < 1.0


def test_good_folders_load_float32_and_float16(tiny_models, tmp_path):
    config = models.check_folder(tiny_models / "edges2cats")
    assert config.generator.ngf == 4
    translator = models.load(tiny_models / "edges2cats")
    assert translator.config == config
    half = models.save_model(tmp_path / "half", translator.generator, config, dtype=torch.float16)
    assert models.load(half).config == config


def test_card_is_read_only_from_inside_the_folder(tiny_models, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the folder")
    folder = tmp_path / "linked"
    shutil.copytree(tiny_models / "edges2cats", folder)
    (folder / "README.md").symlink_to(secret)
    registry = Registry([tmp_path])
    card = registry.card("linked")
    assert "outside the folder" not in card and "ngf=4" in card  # the card built from config.json
    assert models.load(folder).card == ""


def test_card_is_capped_and_a_fifo_does_not_hang(tiny_models, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(tiny_models / "edges2cats", folder)
    (folder / "README.md").write_text("# big\n" + "x" * (models.folder.MAX_CARD_BYTES * 2))
    card = models.read_card(folder)
    assert len(card) < models.folder.MAX_CARD_BYTES + 100 and card.endswith("(card cut at 256 KB)*")
    (folder / "README.md").unlink()
    os.mkfifo(folder / "README.md")
    assert models.read_card(folder) == ""


FIELDS = [f.name for f in dataclasses.fields(ModelConfig) if f.name not in ("training", "metrics")] + [
    f"generator.{f.name}" for f in dataclasses.fields(GeneratorConfig)]


@pytest.mark.parametrize("key", FIELDS)
def test_every_config_field_is_checked_from_its_annotation(key):
    """New fields are checked without edits: a value of the wrong shape fails, naming the key."""
    outer, _, inner = key.partition(".")
    data = {outer: {inner: [[]]}} if inner else {outer: [[]]}
    with pytest.raises(ConfigError, match=f"^{key}"):
        ModelConfig.from_dict(data)


def test_json_shaped_values_come_back_typed():
    config = ModelConfig.from_dict({"pad_color": [0, 0, 170], "generator": {"dropout": 0, "ngf": 8}})
    assert config.pad_color == (0, 0, 170) and config.generator.dropout == 0.0
    assert isinstance(config.generator.dropout, float)
    assert ModelConfig.from_dict(json.loads(ModelConfig().to_json())) == ModelConfig()


def test_shipped_configs_still_validate():
    shipped = Path(__file__).resolve().parents[1] / "assets" / "models"
    for folder in models.find_models(shipped):
        assert models.check_folder(folder).name == folder.name
