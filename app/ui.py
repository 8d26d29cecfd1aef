"""The studio page: model picker, drawing canvas, live photo, variations, uploads, model card."""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

import models
from app import examples, handlers
from app.canvas import Canvas
from app.registry import HOW_TO_GET_MODELS, Registry

TITLE = "pix2pix studio"
INTRO = (
    "# pix2pix studio\n"
    "Draw on the left, get a picture on the right — it updates each time you lift the pen. "
    "Image-to-image translation with conditional GANs "
    "([Isola et al. 2017](https://arxiv.org/abs/1611.07004)), running on your machine."
)
THEME = gr.themes.Soft(primary_hue="orange")
# Show the photo as large as the drawing, whatever its pixel size (Gradio keeps small images small).
CSS = """
#photo img {width: 100%; height: 100%; object-fit: contain;}
"""
SIZES = [("256 × 256", 256), ("512 × 512 (slower)", 512)]
DEFAULT_COLOUR = "#c0392b"
log = logging.getLogger(__name__)


def page_errors(action: str):
    """Errors people can cause become their message in the page; anything else a short one of
    ours (the traceback goes to the server log). The server keeps running either way."""

    def wrap(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except (models.BadImageError, models.ModelError) as e:
                raise gr.Error(str(e), print_exception=False) from e
            except Exception as e:
                log.exception("%s failed", action)
                message = f"Could not {action}; the server log has the details."
                raise gr.Error(message, print_exception=False) from e

        return wrapper

    return wrap


def checked(seed, size) -> tuple[int, int]:
    if size not in (256, 512):
        raise gr.Error("Output size must be 256 or 512.", print_exception=False)
    if not isinstance(seed, (int, float)) or not 0 <= seed <= handlers.MAX_SEED:
        raise gr.Error(f"Seed must be a whole number from 0 to {handlers.MAX_SEED}.", print_exception=False)
    return int(seed), int(size)


def chosen(use: bool, colour: str | None) -> tuple[int, int, int] | None:
    """The overall colour asked for, or None: the seed draws one."""
    if not use:
        return None
    try:
        return handlers.parse_colour(colour)
    except ValueError as e:
        raise gr.Error(str(e), print_exception=False) from e


class Callbacks:
    """What the page's events call, apart from the page's layout (`build`): each takes the event's inputs and
    returns its outputs, with the registry of models and the folder the answers are written to."""

    def __init__(self, registry: Registry):
        self.registry = registry
        # Answers and drawings are written here, complete, before Gradio sees their names (handlers.publish);
        # inside Gradio's cache folder, so it serves them without a copy and its delete_cache ages them.
        self.files_dir = Path(get_upload_folder()) / "studio"

    def translator(self, key: str | None) -> models.Translator:
        if not isinstance(key, str) or key not in self.registry.entries:
            hint = ("Pick one from the list." if self.registry.entries
                    else "No model is installed; see the page for how to get one.")
            raise gr.Error(f"Unknown model {key!r}. {hint}", print_exception=False)
        return self.registry.get(key)

    def kind_of(self, key: str | None) -> str:
        entry = self.registry.entries.get(key) if isinstance(key, str) else None
        return entry.input_kind if entry else "edges"

    def takes(self, key: str | None, what: str) -> bool:
        """Whether the model has `what` ("accepts_hints": colour hints, "has_palette": one overall colour);
        a model whose weights are missing has neither."""
        try:
            return bool(getattr(self.translator(key), what, False))
        except (gr.Error, models.ModelError):
            return False

    def brush_of(self, key: str | None) -> bool:
        return self.takes(key, "accepts_hints")

    def palette_of(self, key: str | None) -> bool:
        return self.takes(key, "has_palette")

    def value(self, key, image, hints=None) -> dict:
        return handlers.canvas_value(image, self.kind_of(key), self.brush_of(key), key or "", hints)

    def example(self, key):
        return self.value(key, examples.example_for(key or "", self.kind_of(key)))

    @page_errors("translate the drawing")
    def translate(self, key, drawing, seed, size, use_colour=False, colour=DEFAULT_COLOUR):
        seed, size = checked(seed, size)
        photo = handlers.translate(self.translator(key), drawing, seed, size, chosen(use_colour, colour))
        return str(handlers.save_photo(photo, self.files_dir))

    def recolour(self, key, drawing, seed, size, use_colour, colour):
        """A colour picked repaints only while it is in use; picking ticks the box, which repaints."""
        return self.translate(key, drawing, seed, size, use_colour, colour) if use_colour else gr.skip()

    def files(self, drawing, photo_path):
        """The download buttons' files, after the photo is shown: the drawing's own PNG and the
        photo file already written (nothing full-size is kept per session)."""
        return handlers.save_drawing(drawing, self.files_dir), photo_path

    @page_errors("make variations")
    def more(self, key, drawing, seed, size, use_colour=False, colour=DEFAULT_COLOUR):
        seed, size = checked(seed, size)
        shots = handlers.variations(self.translator(key), drawing, seed, size, handlers.VARIATIONS, chosen(use_colour,
                                                                                                      colour))
        return [(str(handlers.save_photo(shot, self.files_dir)), caption) for shot, caption in shots]

    @page_errors("load the map")
    def upload_map(self, path, key):
        return self.value(key, handlers.load_map(path, self.kind_of(key)))

    @page_errors("find edges in the photo")
    def upload_photo(self, path, key):
        gr.Info("Finding the edges in your photo…")
        return self.value(key, handlers.photo_to_edges(path))

    @page_errors("turn the strokes into boxes")
    def rectangles(self, drawing, key):
        return self.value(key, handlers.rectangles(drawing), drawing.get("hints"))  # hints stay as they were

    def select(self, key, drawing):
        """New model: its card and tools (the colour row for palette models); a new starting drawing
        only if the input kind changed."""
        kind = self.kind_of(key)
        card = self.registry.card(key) if key in self.registry.entries else HOW_TO_GET_MODELS
        same = isinstance(drawing, dict) and drawing.get("kind") == kind and drawing.get("image")
        if same:
            brush = self.brush_of(key)
            new = dict(drawing, brush=brush, model=key or "", hints=drawing.get("hints") if brush else None)
        else:
            new = self.example(key)
        return new, card, gr.Button(visible=kind == "labels"), gr.Row(visible=self.palette_of(key))



def build(registry: Registry, workers: int = 1) -> gr.Blocks:
    """The gr.Blocks page for the models in `registry` (a how-to page when there are none);
    `workers` model calls run at once."""
    on = Callbacks(registry)
    first = next(iter(registry.entries), None)
    first_kind = on.kind_of(first)
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600)) as demo:
        gr.Markdown(INTRO)
        if not registry.entries:
            gr.Markdown(HOW_TO_GET_MODELS, elem_id="no-models")
        with gr.Row(equal_height=True):
            picker = gr.Dropdown(registry.choices, value=first, label="Model", scale=3, elem_id="model")
            size = gr.Radio(SIZES, value=256, label="Output size", scale=2)
            seed = gr.Number(0, precision=0, minimum=0, maximum=handlers.MAX_SEED,
                             label="Seed (noise and drawn colours)",
                             scale=1)
        with gr.Row():
            with gr.Column():
                canvas = Canvas(on.example(first) if first else None, elem_id="canvas")
                with gr.Row(equal_height=True):
                    go = gr.Button("Translate", variant="primary", min_width=80, elem_id="translate")
                    rects = gr.Button("▭ Strokes → boxes", visible=first_kind == "labels", min_width=80,
                                      elem_id="rectangles")
                    start = gr.Button("Example", min_width=80, elem_id="example")
                with gr.Row(equal_height=True, visible=on.palette_of(first), elem_id="colour-row") as colour_row:
                    use_colour = gr.Checkbox(False, label="Paint it this colour (else the seed draws one)",
                                             scale=3, elem_id="use-colour")
                    colour = gr.ColorPicker(DEFAULT_COLOUR, label="Overall colour", scale=1, elem_id="colour")
                with gr.Row():
                    map_upload = gr.UploadButton("Upload edge / label map", file_types=["image"],
                                                 type="filepath", elem_id="upload-map")
                    photo_upload = gr.UploadButton("Photo → edges", file_types=["image"], type="filepath",
                                                   elem_id="upload-photo")
            with gr.Column():
                photo = gr.Image(label="Photo", type="filepath", format="png", interactive=False,
                                 elem_id="photo", height=560, buttons=[])
                with gr.Row():
                    get_in = gr.DownloadButton("⬇ Drawing PNG", elem_id="download-input")
                    get_out = gr.DownloadButton("⬇ Photo PNG", elem_id="download-photo")
                    again = gr.Button("More variations", elem_id="more")
                gallery = gr.Gallery(label="Variations (same drawing, other seeds)",
                                     columns=handlers.VARIATIONS, height="auto", format="png", elem_id="variations")
        with gr.Accordion("Model card", open=False):
            card = gr.Markdown(registry.card(first) if first else HOW_TO_GET_MODELS, elem_id="card")

        work = dict(concurrency_id="model", concurrency_limit=workers)
        run = dict(fn=on.translate, inputs=[picker, canvas, seed, size, use_colour, colour], outputs=photo,
                   show_progress="minimal", **work)

        def translating(event, **kwargs):
            """Translate on `event`; the download files follow, off the stroke-to-photo path."""
            event(**{**run, **kwargs}).success(on.files, [canvas, photo], [get_in, get_out],
                                               api_visibility="private", show_progress="hidden")

        translating(go.click, api_name="translate")
        # Every change of the drawing (a stroke, undo, an upload, an example, a model switch) translates
        # once; only the latest is computed, pending older ones are dropped.
        for live in (canvas.change, seed.change, size.change, use_colour.change):
            translating(live, trigger_mode="always_last", api_visibility="private")
        translating(colour.change, fn=on.recolour, trigger_mode="always_last", api_visibility="private")
        colour.input(lambda: True, None, use_colour, api_visibility="private", show_progress="hidden")
        # Like the events below, no status tracker on the canvas (it would cover it and take its clicks).
        picker.change(on.select, [picker, canvas], [canvas, card, rects, colour_row], api_name="select_model",
                      show_progress="hidden")
        again.click(on.more, [picker, canvas, seed, size, use_colour, colour], gallery, api_name="variations", **work)
        for event, fn, inputs, name in (
            (start.click, page_errors("load the example")(on.example), picker, "example"),
            (rects.click, on.rectangles, [canvas, picker], "rectangles"),
            (map_upload.upload, on.upload_map, [map_upload, picker], "upload_map"),
            (photo_upload.upload, on.upload_photo, [photo_upload, picker], "upload_photo"),
        ):
            # No status tracker on the canvas: after an error it would cover the canvas (and take its
            # clicks) until dismissed; the message comes as a toast, "finding edges" as gr.Info.
            event(fn, inputs, canvas, api_name=name, show_progress="hidden", **work)
        if first:
            translating(demo.load, api_visibility="private")
    return demo
