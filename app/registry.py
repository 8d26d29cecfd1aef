"""Which models the studio offers: discovered once at start, loaded on first use, then cached.

Every folder is checked at start (config validated and matched against the weights' header,
nothing allocated): the good ones are listed; each bad one, weights missing included, is
skipped with one line on stderr naming it and why, and kept in `Registry.skipped` (folder -> why).
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import models
from models.shipped import SHIPPED as SHIPPED_MODELS

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "assets" / "models"
RUNS = REPO / "runs"

HOW_TO_GET_MODELS = """\
### No model found

The studio looks for model folders (`model.safetensors` + `config.json`) in
`assets/models/`, `runs/` and every `--models-dir`.

- **Shipped models** live in `assets/models/<name>/`: restore them with `git checkout -- assets/models`.
- **Train your own**, e.g. `python -m training train --name my-cats --data data/edges2cats`,
  then restart the studio: `runs/my-cats/model/` is picked up automatically.
- **Use a folder elsewhere**: `python app.py --models-dir /path/to/models`.
"""


@dataclass(frozen=True)
class Entry:
    """One model the picker offers: `key` is what the API takes, `label` what people read."""

    key: str
    label: str
    folder: Path
    config: models.ModelConfig

    @property
    def input_kind(self) -> str:
        return self.config.input_kind


def label_for(name: str, kind: str, shipped: bool) -> str:
    """'edges2cats' -> 'edges → cats'; other folders are named as they are, with their input kind."""
    if shipped and name in SHIPPED_MODELS:
        return SHIPPED_MODELS[name].title
    return f"{name} ({kind}, {'shipped' if shipped else 'yours'})"


class Registry:
    """Model entries from the given roots, with a thread-safe cache of loaded translators."""

    def __init__(self, roots: list[Path], device: str = "cpu", backend: str = "torch"):
        self.device = device
        self.backend = backend  # "onnx": the U-Net in onnxruntime (models.Translator)
        self.entries: dict[str, Entry] = {}
        self.skipped: dict[Path, str] = {}  # folder -> why (the page doesn't show it; stderr has it)
        for root in roots:
            shipped = Path(root).resolve() == SHIPPED
            folders = models.find_models(root, broken=True)  # broken ones too: each is named when skipped
            if shipped:  # the order the issue lists them in, unknown names last
                order = list(SHIPPED_MODELS)
                folders.sort(key=lambda f: order.index(f.name) if f.name in order else len(order))
            for folder in folders:
                self._add(folder, shipped)
        self._cache: dict[str, models.Translator] = {}
        self._lock = threading.Lock()

    def _add(self, folder: Path, shipped: bool) -> None:
        if any(e.folder.resolve() == folder.resolve() for e in self.entries.values()):
            return
        try:
            config = models.check_folder(folder)
        except models.ModelError as e:
            self.skipped[folder] = str(e)
            print(f"pix2pix studio: skipped model folder {e}", file=sys.stderr, flush=True)
            return
        # runs/NAME/model -> NAME
        name = folder.parent.name if folder.name == "model" else folder.name
        key, n = name, 2
        while key in self.entries:
            key, n = f"{name}-{n}", n + 1
        label = label_for(name, config.input_kind, shipped) + ("" if key == name else f" #{n - 1}")
        self.entries[key] = Entry(key, label, folder, config)

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(e.label, e.key) for e in self.entries.values()]

    def get(self, key: str) -> models.Translator:
        """The loaded translator for `key`; raises KeyError, or models.ModelError if the folder
        changed since start."""
        entry = self.entries[key]
        with self._lock:
            if key not in self._cache:
                self._cache[key] = models.load(entry.folder, device=self.device, backend=self.backend)
            return self._cache[key]

    def card(self, key: str) -> str:
        """Markdown for the model card: the folder's README.md, else one built from config.json."""
        entry = self.entries[key]
        return models.read_card(entry.folder) or card_from_config(entry)


def card_from_config(entry: Entry) -> str:
    """A card for folders without README.md: what it eats, how it was built, data, metrics."""
    config = entry.config
    g = config.generator
    lines = [
        f"### {entry.label}",
        f"`{entry.folder}`",
        "",
        f"- **input**: {config.input_kind}",
        f"- **generator**: {g.arch}, ngf={g.ngf}, {g.norm} norm, dropout {g.dropout}",
    ]
    for title, data in (("training", config.training), ("metrics", config.metrics)):
        if data:
            lines.append(f"- **{title}**: " + ", ".join(f"{k}={v}" for k, v in data.items()))
    return "\n".join(lines)


def default_roots(extra: list[str] | None = None) -> list[Path]:
    return [SHIPPED, RUNS, *(Path(p) for p in extra or [])]
