"""The five shipped models, each one command from raw data to `assets/models/NAME/`.

    python -m training ship edges2shoes [--shared ../shared/datasets] [--device cuda] [--epochs N]

Every stage resumes: the dataset build skips pairs on disk, training continues from
`runs/NAME/` checkpoints, and evaluation and export are cheap to redo.
"""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from models.config import ModelConfig
from models.files import atomic_write_bytes
from models.folder import CONFIG, SHADOW, check_folder, copy_carried, copy_model
from models.shipped import SHIPPED, ShippedModel

from .config import make_config
from .data import DataError
from .fetch import FETCHED, OFFICIAL

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
STAGES = ("prepare", "train", "evaluate", "export", "card", "rescore", "discriminator", "shadow")
D_STEPS = 1000  # `discriminator` stage: steps of D alone against the shipped generator


class StageError(ValueError):
    """A stage name `ship` does not know (a typo would otherwise do nothing)."""


# Named option sets for `retrain --recipe` (and the docs). shipped: the options the shipped edges models (shoes,
# handbags, cats, pokemon) were all trained with (their config.json "command"; shoes and pokemon add --stroke-thick,
# shoes --zoom-out and --distill); paper: the paper's recipe at the shipped width. Keys are TrainConfig options.
RECIPES = {
    "shipped": dict(preset="compact", upsample="resize", stroke_aug=True, hints=10, hint_radius=5, hint_length=24,
                    hint_recolour=0.5, hint_fill="harmonic", palette=True),
    "paper": dict(preset="compact"),
}
# What `ship` trains with beyond the options given: the shipped width, and checkpoints often enough to pick from.
SHIP_DEFAULTS = dict(preset="compact", save_every=250, sample_every=250, log_every=25, keep_every=1000)


def prepare(recipe: ShippedModel, shared: Path, data_root: Path, device: str, fetched: Path) -> Path:
    src, out = shared / recipe.source, data_root / recipe.name
    if not src.is_dir():
        return prepare_official(recipe, src, fetched / recipe.name, out)
    if recipe.prepare == "paired":
        from hed_edges.importers import import_paired

        import_paired(src, out, photo_side="left")
    elif recipe.prepare == "facades":
        from hed_edges.facades import import_facades

        import_facades(src, out)
    else:
        from hed_edges.build import build_dataset

        fit = "crop" if recipe.prepare == "build-crop" else "pad"
        build_dataset(src, out, size=256, split=(0.9, 0.1, 0.0), detector="hed", device=device,
                      fit=fit, workers=1 if device == "cpu" else 2)
    return out


def prepare_official(recipe: ShippedModel, src: Path, fetched: Path, out: Path) -> Path:
    """Without ../shared: the official set `python -m training fetch` put in FETCHED, turned so that the
    input is on the left (the official edges2* already have the edges there; facades is photo|labels)."""
    from hed_edges.importers import import_paired
    from hed_edges.pairs import EDGES2PHOTO, LABELS2FACADE

    if recipe.name not in OFFICIAL:
        raise DataError(f"{src}: not found; {recipe.name} is built from the photos there and has no official "
                        f"download (pass --shared DIR)")
    if not fetched.is_dir():
        out_flag = "" if fetched.parent == Path(FETCHED) else f" --out {shlex.quote(str(fetched.parent))}"
        raise DataError(f"{src}: not found, and no fetched copy in {fetched}: run "
                        f"`python -m training fetch {recipe.name}{out_flag}` first (or pass --shared DIR)")
    spec = OFFICIAL[recipe.name]
    import_paired(fetched, out, photo_side="left" if spec.left == "photo" else "right",
                  layout=LABELS2FACADE if spec.right == "labels" else EDGES2PHOTO)
    return out


def ship(name: str, shared: str = "../shared/datasets", data_root: str = "data", runs: str = "runs",
         stages: tuple[str, ...] = ("prepare", "train", "evaluate", "export"), eval_limit: int = 0,
         fetched: str = FETCHED, options: dict | None = None) -> Path:
    """`options`: TrainConfig options (make_config's names) for a new run, over SHIP_DEFAULTS and the model's
    epochs; a resumed run keeps the ones it was started with, but `epochs`, `decay_epochs` and `max_steps`
    extend or re-schedule it."""
    from .evaluate import evaluate
    from .trainer import run_training

    unknown = set(stages) - set(STAGES)
    if unknown:
        raise StageError(f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {', '.join(STAGES)}")
    recipe = SHIPPED[name]
    options = dict(options or {})
    data = Path(data_root) / name
    run_dir = Path(runs) / name
    command = "python -m training ship " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["ship"] else [name])
    device = options.get("device", "auto")
    if "prepare" in stages:
        prepare(recipe, Path(shared), Path(data_root), "cuda" if device.startswith("cuda") else "cpu", Path(fetched))
    if "train" in stages:
        cfg = make_config(name, str(data), **{**SHIP_DEFAULTS, "input_kind": recipe.input_kind,
                                              "epochs": recipe.epochs, "decay_epochs": recipe.decay_epochs,
                                              **options, "command": command})
        run_training(cfg, run_dir, (run_dir / "train_config.json").is_file(), epochs=options.get("epochs"),
                     max_steps=options.get("max_steps"), decay_epochs=options.get("decay_epochs"))
    model = run_dir / "model"
    if "evaluate" in stages:
        evaluate(model, data, model / "eval_val", split="val", device="cpu", limit=eval_limit)
    if "export" in stages:
        return export(recipe, model)
    if "card" in stages:  # re-render the shipped card after editing its NOTES.md or adding an ablation
        from .card import write_card

        return write_card(recipe, ASSETS / name, ModelConfig.from_file(ASSETS / name / CONFIG))
    if "rescore" in stages:  # re-measure the shipped model after a change to the metrics; weights untouched
        return rescore(recipe, data, Path(runs) / "shipped" / name / "eval_val", eval_limit)
    if "discriminator" in stages:
        return train_discriminator(recipe, data, Path(runs) / "discriminator" / name, command, options)
    if "shadow" in stages:  # (re)build the shipped model's shadow from its data's train edge maps
        from models import shadow

        from .card import write_card

        maps = shadow.edge_maps(data)
        if not maps:
            raise DataError(f"{data}: no train pairs to build {name}'s shadow from")
        atomic_write_bytes(ASSETS / name / SHADOW, shadow.to_png(shadow.build(maps)))
        return write_card(recipe, ASSETS / name, ModelConfig.from_file(ASSETS / name / CONFIG))
    return model


def train_discriminator(recipe: ShippedModel, data: Path, run_dir: Path, command: str, options: dict) -> Path:
    """A D for a shipped generator whose own was lost: D alone (G frozen, `--d-warmup` = the whole run) on
    the recipe's data and options, then D and its Adam state go into assets/models/NAME beside the
    unchanged generator, so the next fine-tune continues with a D that knows this G."""
    from .card import write_card
    from .trainer import run_training

    dest = ASSETS / recipe.name
    steps = options.get("d_warmup") or D_STEPS
    # `epochs` = steps: at least one step an epoch, so max_steps ends the run whatever the set's size.
    cfg = make_config(recipe.name, str(data), **{
        **{k: v for k, v in options.items() if k not in ("preset", "fresh_discriminator", "init_discriminator")},
        "input_kind": recipe.input_kind, "epochs": steps, "decay_epochs": 0, "max_steps": steps, "d_warmup": steps,
        "save_every": 250, "sample_every": 10**9, "log_every": 25, "keep_every": 0, "command": command,
        "init_from": str(dest), "fresh_discriminator": True})
    trainer = run_training(cfg, run_dir, (run_dir / "train_config.json").is_file(), epochs=steps, max_steps=steps)
    copy_carried(run_dir / "model", dest)
    config = ModelConfig.from_file(dest / CONFIG)
    config.training["discriminator_carried"] = {"steps": trainer.step, "command": command,
                                                "wall_seconds": round(trainer.wall, 1)}
    atomic_write_bytes(dest / CONFIG, config.to_json().encode())
    return write_card(recipe, dest, config)


def rescore(recipe: ShippedModel, data: Path, out: Path, eval_limit: int) -> Path:
    from .card import write_card
    from .evaluate import evaluate

    dest = ASSETS / recipe.name
    config = ModelConfig.from_file(dest / CONFIG)
    config.metrics = evaluate(dest, data, out, split="val", device="cpu", limit=eval_limit)["summary"]
    atomic_write_bytes(dest / CONFIG, config.to_json().encode())
    return write_card(recipe, dest, config)


def export(recipe: ShippedModel, model: Path) -> Path:
    """Copy the run's model into assets/models/NAME with its metrics, sample grid and card. The weights are
    copied as stored (a float16 folder stays float16)."""
    from .card import write_card

    dest = ASSETS / recipe.name
    config = check_folder(model)
    metrics_file = model / "eval_val" / "metrics.json"
    if metrics_file.is_file():
        config.metrics = json.loads(metrics_file.read_text())["summary"]
    copy_model(model, dest, config)
    write_card(recipe, dest, config, model / "eval_val")
    return dest
