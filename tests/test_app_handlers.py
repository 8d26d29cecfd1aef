"""The studio's handlers, called directly (no server): drawing -> photo, uploads, rectangles, examples."""
from __future__ import annotations

import base64
import io
import os
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw

import models
from app import examples, handlers
from app.registry import Registry


@pytest.fixture(scope="module")
def registry(tiny_models):
    return Registry([tiny_models])


def drawing(size=(512, 512), kind="edges", hints=None) -> dict:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).line([(40, 40), (400, 300), (100, 450)], fill="black", width=4)
    return handlers.canvas_value(image, kind, hints=hints)


def decoded(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))


def test_registry_lists_models_with_cards(registry, tiny_models):
    assert dict((k, lbl) for lbl, k in registry.choices).keys() == {"edges2cats", "facades"}
    assert registry.entries["facades"].input_kind == "labels"
    card = registry.card("edges2cats")
    assert "ngf=4" in card and "random weights (test)" in card and "fid" in card
    assert registry.get("edges2cats") is registry.get("edges2cats")  # cached


def test_registry_runs_folder_named_by_run(tmp_path, tiny_models):
    import shutil
    shutil.copytree(tiny_models / "edges2cats", tmp_path / "my-cats" / "model")
    reg = Registry([tmp_path])
    assert list(reg.entries) == ["my-cats"]
    assert "yours" in reg.entries["my-cats"].label


def test_canvas_value_round_trips_a_png():
    image = Image.new("RGB", (512, 256), (1, 2, 3))
    value = handlers.canvas_value(image, "labels", brush=True, model="facades")
    assert value["kind"] == "labels" and value["brush"] and value["hints"] is None
    assert value["image"].startswith("data:image/png;base64,")
    assert np.array_equal(np.asarray(decoded(value["image"])), np.asarray(image))


def test_translate_keeps_aspect_and_size(registry):
    t = registry.get("edges2cats")
    photo = handlers.translate(t, drawing((512, 256)), seed=0, size=256)
    assert photo.mode == "RGB" and photo.size == (256, 128)
    assert handlers.translate(t, drawing(), seed=0, size=512).size == (512, 512)


def test_same_seed_same_photo_and_variations_differ(registry):
    t = registry.get("edges2cats")
    a = handlers.translate(t, drawing(), 3, 256)
    b = handlers.translate(t, drawing(), 3, 256)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    shots = handlers.variations(t, drawing(), 3, 256, count=3)
    assert [c for _, c in shots] == ["seed 4", "seed 5", "seed 6"]
    arrays = [np.asarray(im, dtype=np.int16) for im, _ in shots]
    assert np.abs(arrays[0] - arrays[1]).max() > 0


@pytest.mark.parametrize("value", [None, {}, {"image": ""}, "not a dict"])
def test_empty_canvas_is_a_clear_error(registry, value):
    with pytest.raises(models.BadImageError, match="canvas is empty"):
        handlers.translate(registry.get("edges2cats"), value, 0, 256)


def test_bad_data_urls_are_clear_errors(registry):
    t = registry.get("edges2cats")
    for url, message in (("data:image/png,rawbytes", "base64 data URL"),
                         ("data:image/png;base64,@@@", "not valid base64"),
                         ("data:image/png;base64,AAAA", "not a readable image")):
        with pytest.raises(models.BadImageError, match=message):
            handlers.translate(t, {"image": url}, 0, 256)


def test_huge_drawing_refused_before_decoding(registry):
    """A 12000x12000 PNG is 41 KB on disk; the header check refuses it without decoding."""
    big = Image.new("1", (12000, 12000), 1)
    with pytest.raises(models.BadImageError, match="too large"):
        handlers.translate(registry.get("facades"), handlers.canvas_value(big, "labels"), 0, 256)


def test_drawings_are_brought_to_canvas_size_first():
    image, hints = handlers.drawing(drawing((2048, 1024)), "edges")
    assert image.size == (512, 256) and hints is None


def test_labels_snap_at_model_size():
    image = Image.new("RGB", (512, 512), (10, 90, 250))  # near 'window'
    snapped, _ = handlers.model_input(handlers.canvas_value(image, "labels"), "labels", 256)
    assert snapped.size == (256, 256) and snapped.getpixel((0, 0)) == handlers.PALETTE[2]


class HintTranslator:
    """Stands in for a model that takes colour hints (`accepts_hints`, `hints=` keyword)."""

    accepts_hints = True
    config = SimpleNamespace(input_kind="edges")

    def __call__(self, image, hints=None, seed=0, size=256):
        self.seen = (image, hints)
        return Image.new("RGB", (size, size), hints.getpixel((5, 5))[:3] if hints else (0, 0, 0))


def hint_layer(size=(512, 512), colour=(200, 30, 40, 255)) -> str:
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).rectangle((0, 0, 60, 60), fill=colour)
    return handlers.data_url(layer)


def test_colour_hints_reach_models_that_take_them(registry):
    fake = HintTranslator()
    photo = handlers.translate(fake, drawing((1024, 512), hints=hint_layer((1024, 512))), 0, 256)
    image, hints = fake.seen
    assert hints.mode == "RGBA" and hints.size == image.size == (512, 256)
    assert photo.getpixel((0, 0)) == (200, 30, 40)
    handlers.translate(fake, drawing(hints=hint_layer(colour=(0, 0, 0, 0))), 0, 256)
    assert fake.seen[1] is None  # an empty hint layer is no hint
    with pytest.raises(models.BadImageError, match="transparency"):  # without alpha it would hint everywhere
        handlers.translate(fake, drawing(hints=handlers.data_url(Image.new("RGB", (8, 8), "red"))), 0, 256)
    # A model without hints simply ignores them.
    plain = handlers.translate(registry.get("edges2cats"), drawing(hints=hint_layer()), 0, 256)
    assert plain.size == (256, 256)


def test_a_thin_hint_stroke_survives_a_larger_hint_layer():
    """A 1-px stroke on a hint layer twice the drawing's size still reaches the model."""
    fake = HintTranslator()
    layer = Image.new("RGBA", (1024, 1024), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line((100, 0, 100, 1023), fill=(10, 200, 30, 255), width=1)
    handlers.translate(fake, drawing(hints=handlers.data_url(layer)), 0, 256)
    alpha = np.asarray(fake.seen[1].getchannel("A"))
    assert fake.seen[1].size == (512, 512) and (alpha[:, 50] > 0).all()


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "1"])
def test_upload_map_any_mode_and_size(tmp_path, mode):
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).rectangle((20, 20, 200, 100), outline="black", width=3)
    image = image.convert("I;16") if mode == "I;16" else image.convert(mode)
    path = tmp_path / "map.png"
    image.save(path)
    loaded = handlers.load_map(path, "edges")
    assert loaded.mode == "RGB" and loaded.size == (512, 205)


def test_upload_label_map_stays_categorical(tmp_path):
    image = examples.facade().resize((333, 333), Image.BILINEAR)  # blended colours on purpose
    image.save(tmp_path / "labels.png")
    loaded = handlers.load_map(tmp_path / "labels.png", "labels")
    assert {c for _, c in loaded.getcolors(4096)} <= set(handlers.PALETTE)


def test_unreadable_and_huge_uploads_are_clear_errors(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(models.BadImageError, match="junk.png: not a readable image"):
        handlers.load_map(tmp_path / "junk.png", "edges")
    Image.new("L", (9000, 10), 255).save(tmp_path / "wide.png")
    with pytest.raises(models.BadImageError, match="too large"):
        handlers.load_map(tmp_path / "wide.png", "edges")
    with pytest.raises(models.BadImageError, match="too large"):
        handlers.photo_to_edges(tmp_path / "wide.png")
    with pytest.raises(models.BadImageError, match="no image"):
        handlers.load_map(None, "edges")


def test_photo_to_edges_gives_a_canvas_sized_drawing(tmp_path, monkeypatch):
    import hed_edges

    calls = {}

    def fake_extract(image, size=256, detector="auto", device="cpu"):
        calls["size"], calls["seen"] = size, image.size
        return Image.new("L", (size, size // 2), 255)

    monkeypatch.setattr(hed_edges, "extract_edges", fake_extract)
    Image.new("RGB", (4000, 2000), (120, 80, 40)).save(tmp_path / "photo.jpg")
    edges = handlers.photo_to_edges(tmp_path / "photo.jpg")
    assert calls["size"] == handlers.CANVAS and max(calls["seen"]) <= 2 * handlers.CANVAS
    assert edges.mode == "RGB" and edges.size == (512, 256)


def test_rectangles_fill_painted_regions_in_label_colours():
    window, facade, background = handlers.PALETTE[2], handlers.PALETTE[1], handlers.PALETTE[0]
    image = Image.new("RGB", (512, 512), background)
    d = ImageDraw.Draw(image)
    d.line([(50, 50), (300, 50), (300, 300)], fill=facade, width=5)  # a facade corner: box underneath
    d.line([(100, 100), (200, 100), (200, 180), (100, 180), (100, 100)], fill=window, width=5)
    out = handlers.rectangles(handlers.canvas_value(image, "labels"))
    assert out.getpixel((150, 140)) == window  # inside the window outline: filled
    assert out.getpixel((250, 250)) == facade
    assert out.getpixel((400, 400)) == background


def test_examples_match_committed_pngs():
    for name, draw in examples.DRAWINGS.items():
        committed = Image.open(examples.FOLDER / f"{name}.png").convert("RGB")
        assert np.array_equal(np.asarray(committed), np.asarray(draw())), f"run python -m app.examples ({name})"
    assert examples.example_for("my-run", "labels").getpixel((0, 0)) == handlers.PALETTE[0]


def test_save_drawing_is_content_addressed(tmp_path):
    value = drawing()
    path = handlers.save_drawing(value, tmp_path)
    assert path == handlers.save_drawing(dict(value), tmp_path) and len(list(tmp_path.iterdir())) == 1
    assert Image.open(path).size == (512, 512)
    assert handlers.save_drawing({"image": "data:image/jpeg;base64,AAAA"}, tmp_path) is None


def test_answers_are_published_whole_without_an_fsync(tmp_path, monkeypatch):
    """Many answers a second: renamed into place complete (no torn file), but not forced to disk."""
    monkeypatch.setattr(os, "fsync", lambda fd: pytest.fail("an answer was fsynced"))
    path = handlers.publish(b"photo bytes", tmp_path, "photo.png")
    assert path.read_bytes() == b"photo bytes" and path == handlers.publish(b"photo bytes", tmp_path, "photo.png")
    assert [p.name for p in path.parent.iterdir()] == ["photo.png"]  # no temp file left beside it


@pytest.mark.parametrize("text, rgb", [("#c0392b", (192, 57, 43)), ("#FFF", (255, 255, 255)),
                                       (" rgba(10, 20.4, 255, 0.5) ", (10, 20, 255)), ("rgb(0,0,0)", (0, 0, 0))])
def test_parse_colour(text, rgb):
    assert handlers.parse_colour(text) == rgb


@pytest.mark.parametrize("text", ["", "red", "#12345", "#gggggg", "rgb(1, 2)", "rgb(0, 0, 300)", None])
def test_parse_colour_refuses_non_colours(text):
    with pytest.raises(ValueError, match="not a colour"):
        handlers.parse_colour(text)


def test_overall_colour_reaches_palette_models(tmp_path, registry):
    """The studio's colour row: a chosen colour paints a palette model's picture (the same one every
    time), none draws one by the seed; a model without a palette ignores it."""
    import torch

    torch.manual_seed(0)
    gen = models.GeneratorConfig(ngf=4, hints=True, palette=True)
    models.save_model(tmp_path / "p", models.Generator(gen), models.ModelConfig(name="p", generator=gen))
    t = models.load(tmp_path / "p")
    red, blue = (np.asarray(handlers.translate(t, drawing(), 0, 256, c), np.float32) for c in
                 ((255, 0, 0), (0, 0, 255)))
    assert np.abs(red - blue).mean() > 0.5
    assert np.array_equal(red, np.asarray(handlers.translate(t, drawing(), 0, 256, (255, 0, 0)), np.float32))
    drawn = np.asarray(handlers.translate(t, drawing(), 0, 256), np.float32)
    assert np.abs(drawn - red).mean() > 0.5
    shots = handlers.variations(t, drawing(), 0, 256, count=2, colour=(255, 0, 0))
    assert len(shots) == 2
    plain = registry.get("edges2cats")
    assert np.array_equal(np.asarray(handlers.translate(plain, drawing(), 0, 256, (255, 0, 0))),
                          np.asarray(handlers.translate(plain, drawing(), 0, 256)))
