"""The studio page: model picker, drawing canvas, live photo, variations, uploads, model card."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import gradio as gr

import models
from app import examples, handlers
from app.registry import HOW_TO_GET_MODELS, Registry
from hed_edges.facades import FACADE_LABELS

TITLE = "pix2pix studio"
INTRO = (
    "# pix2pix studio\n"
    "Draw on the left, get a picture on the right — it updates as you draw. "
    "Image-to-image translation with conditional GANs "
    "([Isola et al. 2017](https://arxiv.org/abs/1611.07004)), running on your machine."
)
THEME = gr.themes.Soft(primary_hue="orange")
CSS = """
#palette {display: flex; flex-wrap: wrap; gap: 6px;}
#palette span {display: inline-flex; align-items: center; gap: 4px; font-size: 0.85em;}
#palette i {width: 14px; height: 14px; border-radius: 3px; border: 1px solid #8884; display: inline-block;}
"""
SIZES = [("256 × 256", 256), ("512 × 512 (slower)", 512)]
VARIATIONS = 4


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def brush_for(kind: str) -> gr.Brush:
    """Black pen for edges and sketches; the CMP label colours (window first) for label maps."""
    if kind == "labels":
        colours = [hex_colour(c) for _, c in FACADE_LABELS]
        return gr.Brush(colors=colours, default_color=colours[2], color_mode="fixed", default_size=14)
    return gr.Brush(colors=["#000000"], default_color="#000000", color_mode="fixed", default_size=3)


def palette_html() -> str:
    swatches = "".join(f'<span><i style="background:{hex_colour(c)}"></i>{name}</span>' for name, c in FACADE_LABELS)
    return f'<div id="palette">{swatches}</div>'


def page_errors(fn):
    """Turn the errors people can cause into a message in the page; the server keeps running."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (models.BadImageError, models.MissingWeightsError) as e:
            raise gr.Error(str(e), print_exception=False) from e

    return wrapper


def build(registry: Registry) -> gr.Blocks:
    """The gr.Blocks page for the models in `registry` (a how-to page when there are none)."""
    downloads = Path(tempfile.mkdtemp(prefix="pix2pix-studio-"))

    def translator(key: str | None) -> models.Translator:
        if not key or key not in registry.entries:
            raise gr.Error(f"Unknown model {key!r}. " + ("Pick one from the list." if registry.entries
                                                          else "No model is installed; see the page for how to get one."))
        return registry.get(key)

    def kind_of(key: str | None) -> str:
        entry = registry.entries.get(key or "")
        return entry.input_kind if entry else "edges"

    def example(key: str | None) -> dict:
        return handlers.editor_value(examples.example_for(key or "", kind_of(key)))

    @page_errors
    def translate(key, value, seed, size):
        """The photo, plus (input, photo) kept server-side for the download buttons."""
        model_in, photo = handlers.translate(translator(key), value, seed or 0, size)
        return photo, (model_in, photo)

    def save_pair(pair):
        """PNG files for the download buttons, written after the photo is shown."""
        model_in, photo = pair
        return handlers.save_png(model_in, downloads, "input"), handlers.save_png(photo, downloads, "photo")

    @page_errors
    def more(key, value, seed, size):
        return handlers.variations(translator(key), value, seed or 0, size, VARIATIONS)

    @page_errors
    def upload_map(path, key):
        return handlers.load_map(path, kind_of(key))

    @page_errors
    def upload_photo(path):
        gr.Info("Extracting edges from your photo…")
        return handlers.photo_to_edges(path)

    def select(key, previous_kind):
        """New model: its card and brush; a new starting drawing only if the input kind changed."""
        kind = kind_of(key)
        card = registry.card(key) if key in registry.entries else HOW_TO_GET_MODELS
        drawing = {"value": example(key)} if kind != previous_kind else {}
        labels = kind == "labels"
        return (gr.update(brush=brush_for(kind), **drawing), card,
                gr.HTML(visible=labels), gr.Button(visible=labels), kind)

    first = next(iter(registry.entries), None)
    first_kind = kind_of(first)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO)
        if not registry.entries:
            gr.Markdown(HOW_TO_GET_MODELS, elem_id="no-models")
        kind_state = gr.State(first_kind)
        with gr.Row(equal_height=True):
            picker = gr.Dropdown(registry.choices, value=first, label="Model", scale=3, elem_id="model")
            size = gr.Radio(SIZES, value=256, label="Output size", scale=2)
            seed = gr.Number(0, precision=0, minimum=0, label="Seed (dropout noise)", scale=1)
        with gr.Row():
            with gr.Column():
                editor = gr.ImageEditor(
                    value=example(first), label="Your drawing", image_mode="RGBA", type="pil", format="png",
                    sources=(), transforms=(), layers=False, canvas_size=(handlers.CANVAS, handlers.CANVAS),
                    brush=brush_for(first_kind), eraser=gr.Eraser(default_size=16), height=600, elem_id="editor",
                )
                palette = gr.HTML(palette_html(), visible=first_kind == "labels", label="Labels")
                with gr.Row(equal_height=True):
                    go = gr.Button("Translate", variant="primary", min_width=80, elem_id="translate")
                    rects = gr.Button("▭ Strokes → boxes", visible=first_kind == "labels", min_width=80, elem_id="rectangles")
                    clear = gr.Button("Clear", min_width=80, elem_id="clear")
                    start = gr.Button("Example", min_width=80, elem_id="example")
                with gr.Row():
                    map_upload = gr.UploadButton("Upload edge / label map", file_types=["image"], elem_id="upload-map")
                    photo_upload = gr.UploadButton("Photo → edges", file_types=["image"], elem_id="upload-photo")
            with gr.Column():
                photo = gr.Image(label="Photo", type="pil", format="png", interactive=False, elem_id="photo",
                                 height=600)
                with gr.Row():
                    get_in = gr.DownloadButton("⬇ Input PNG", elem_id="download-input")
                    get_out = gr.DownloadButton("⬇ Photo PNG", elem_id="download-photo")
                    again = gr.Button("More variations", elem_id="more")
                gallery = gr.Gallery(label="Variations (same drawing, different dropout noise)", columns=VARIATIONS,
                                     height="auto", format="png", elem_id="variations")
        with gr.Accordion("Model card", open=False):
            card = gr.Markdown(registry.card(first) if first else HOW_TO_GET_MODELS, elem_id="card")

        pair = gr.State()
        run = dict(fn=translate, inputs=[picker, editor, seed, size], outputs=[photo, pair],
                   concurrency_id="model", concurrency_limit=1, show_progress="minimal")

        def translating(event, **kwargs):
            """Translate on `event`; the download files follow, off the stroke-to-photo path."""
            event(**run, **kwargs).success(save_pair, pair, [get_in, get_out], api_visibility="private",
                                           show_progress="hidden")

        translating(go.click, api_name="translate")
        # Live update on every stroke: only the latest drawing is computed, pending older ones dropped.
        for live in (editor.input, seed.change, size.change):
            translating(live, trigger_mode="always_last", api_visibility="private")
        translating(picker.change(select, [picker, kind_state], [editor, card, palette, rects, kind_state],
                                  api_name="select_model").then, api_visibility="private")
        again.click(more, [picker, editor, seed, size], gallery, api_name="variations",
                    concurrency_id="model", concurrency_limit=1)
        # Canvas changes made by a handler are not documented to fire the canvas's own events,
        # so these translate explicitly.
        for event, fn, inputs, name in (
            (clear.click, lambda key: handlers.blank(kind_of(key)), picker, "clear"),
            (start.click, example, picker, "example"),
            (rects.click, lambda value, key: handlers.rectangles(value, kind_of(key)), [editor, picker], "rectangles"),
            (map_upload.upload, upload_map, [map_upload, picker], "upload_map"),
            (photo_upload.upload, upload_photo, photo_upload, "upload_photo"),
        ):
            translating(event(fn, inputs, editor, api_name=name).success, api_visibility="private")
        if first:
            translating(demo.load, api_visibility="private")
    return demo
