"""CMP Facade labels: names and the colours pix2pix's facades set uses (label value v -> LABELS[v-1])."""
from __future__ import annotations

FACADE_LABELS: list[tuple[str, tuple[int, int, int]]] = [
    ("background", (0, 0, 170)),
    ("facade", (0, 0, 255)),
    ("window", (0, 85, 255)),
    ("door", (0, 170, 255)),
    ("cornice", (0, 255, 255)),
    ("sill", (85, 255, 170)),
    ("balcony", (170, 255, 85)),
    ("blind", (255, 255, 0)),
    ("deco", (255, 170, 0)),
    ("molding", (255, 85, 0)),
    ("pillar", (255, 0, 0)),
    ("shop", (170, 0, 0)),
]
