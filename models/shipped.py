"""The five shipped models, in one table: what the studio's picker and the static page call them, in their
order, and what `python -m training ship NAME` builds each from (training.recipes)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShippedModel:
    name: str  # its folder: assets/models/NAME
    title: str  # what people read: the picker, the README, the card
    source: str  # folder in ../shared/datasets
    prepare: str  # "paired" | "facades" | "build-crop" | "build-pad"
    input_kind: str
    epochs: int  # `ship`'s first run from scratch
    decay_epochs: int
    about: str  # the card's data line


SHIPPED = {m.name: m for m in [  # the picker's order: the studio opens on the first
    ShippedModel("edges2cats", "edges → cats", "cats", "build-crop", "edges", 100, 50,
                 "Cat photos (cat_breeds listing photos), centre-cropped (what `ship` builds), and since v7 the cat "
                 "heads in them (`hed_edges build --heads cat`, see NOTES.md); edges by this project's HED pipeline. "
                 "The figures are on whole val photos."),
    ShippedModel("edges2shoes", "edges → shoes", "edges2shoes", "paired", "edges", 60, 30,
                 "UT Zappos50K shoe photos with the pix2pix HED edges (1000 train / 100 val subset)."),
    ShippedModel("edges2handbags", "edges → handbags", "edges2handbags", "paired", "edges", 60, 30,
                 "Amazon handbag photos with the pix2pix HED edges (1000 train / 100 val subset)."),
    ShippedModel("facades", "facade labels → photo", "facades", "facades", "labels", 200, 100,
                 "CMP Facade Database base set: 12-class label maps and rectified facade photos."),
    ShippedModel("sketch2pokemon", "sketch → pokémon", "pokemon", "build-pad", "sketch", 150, 75,
                 "Official pokemon artwork composited on white and padded square; edges by this project's HED "
                 "pipeline."),
]}
