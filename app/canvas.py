"""The drawing canvas: a gr.HTML component with our own template, style and script (canvas.*).

Its value is a canvas value (see app.handlers): PNG data URLs travel inside the event payload,
so a stroke costs one small request and no file upload.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from hed_edges.facades import FACADE_LABELS

HERE = Path(__file__).resolve().parent


def label_swatches() -> list[list[str]]:
    """[name, "#rrggbb"] for each facade label: the canvas's label buttons."""
    return [[name, "#{:02x}{:02x}{:02x}".format(*rgb)] for name, rgb in FACADE_LABELS]


class Canvas(gr.HTML):
    """Pen, eraser, label boxes and a colour-hint brush over a plain <canvas>; undo/redo."""

    def __init__(self, value: dict | None = None, **kwargs: Any):
        super().__init__(
            value,
            html_template=(HERE / "canvas.html").read_text(encoding="utf-8"),
            css_template=(HERE / "canvas.css").read_text(encoding="utf-8"),
            js_on_load=(HERE / "canvas.js").read_text(encoding="utf-8"),
            labels=label_swatches(),
            **kwargs,
        )

    def api_info(self) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "the drawing: {'image': PNG data URL, 'hints': PNG data URL of the colour hints "
                           "or null}",
            "properties": {"image": {"type": "string"},
                           "hints": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        }

    def example_payload(self) -> Any:
        return {"image": "data:image/png;base64,...", "hints": None}

    def example_value(self) -> Any:
        return self.example_payload()
