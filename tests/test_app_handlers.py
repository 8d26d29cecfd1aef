"""The studio's handlers, called directly (no server): drawing -> photo, uploads, rectangles, examples."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

import models
from app import examples, handlers
from app.registry import Registry


@pytest.fixture(scope="module")
def registry(tiny_models):
    return Registry([tiny_models])


def drawing(size=(512, 512)) -> dict:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).line([(40, 40), (400, 300), (100, 450)], fill="black", width=4)
    return handlers.editor_value(image)


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


def test_translate_keeps_aspect_and_size(registry):
    t = registry.get("edges2cats")
    model_in, photo = handlers.translate(t, drawing((512, 256)), seed=0, size=256)
    assert photo.mode == "RGB" and photo.size == (256, 128)
    assert model_in.size == (512, 256)
    _, big = handlers.translate(t, drawing(), seed=0, size=512)
    assert big.size == (512, 512)


def test_same_seed_same_photo_and_variations_differ(registry):
    t = registry.get("edges2cats")
    a = handlers.translate(t, drawing(), 3, 256)[1]
    b = handlers.translate(t, drawing(), 3, 256)[1]
    assert np.array_equal(np.asarray(a), np.asarray(b))
    shots = handlers.variations(t, drawing(), 3, 256, count=3)
    assert [c for _, c in shots] == ["seed 4", "seed 5", "seed 6"]
    arrays = [np.asarray(im, dtype=np.int16) for im, _ in shots]
    assert np.abs(arrays[0] - arrays[1]).max() > 0


def test_strokes_in_layers_are_composited(registry):
    layer = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line([(0, 0), (511, 511)], fill=(0, 0, 0, 255), width=6)
    value = {"background": Image.new("RGB", (512, 512), "white"), "layers": [layer], "composite": None}
    image = handlers.model_input(value, "edges")
    assert image.getpixel((256, 256)) == (0, 0, 0) and image.getpixel((500, 10)) == (255, 255, 255)


def test_empty_canvas_is_a_clear_error(registry):
    with pytest.raises(models.BadImageError, match="canvas is empty"):
        handlers.translate(registry.get("edges2cats"), None, 0, 256)


def test_labels_snap_to_palette():
    image = Image.new("RGB", (8, 8), (10, 90, 250))  # near 'window'
    snapped = handlers.model_input(handlers.editor_value(image), "labels")
    assert snapped.getpixel((0, 0)) == handlers.PALETTE[2]


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "1"])
def test_upload_map_any_mode_and_size(tmp_path, mode):
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).rectangle((20, 20, 200, 100), outline="black", width=3)
    image = image.convert("I;16") if mode == "I;16" else image.convert(mode)
    path = tmp_path / "map.png"
    image.save(path)
    value = handlers.load_map(path, "edges")
    assert value["background"].mode == "RGB" and value["background"].size == (512, 205)


def test_upload_label_map_stays_categorical(tmp_path):
    image = examples.facade().resize((333, 333), Image.BILINEAR)  # blended colours on purpose
    image.save(tmp_path / "labels.png")
    bg = handlers.load_map(tmp_path / "labels.png", "labels")["background"]
    assert {c for _, c in bg.getcolors(4096)} <= set(handlers.PALETTE)


def test_unreadable_and_huge_uploads_are_clear_errors(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(models.BadImageError, match="junk.png: not a readable image"):
        handlers.load_map(tmp_path / "junk.png", "edges")
    Image.new("L", (9000, 10), 255).save(tmp_path / "wide.png")
    with pytest.raises(models.BadImageError, match="too large"):
        handlers.load_map(tmp_path / "wide.png", "edges")
    with pytest.raises(models.BadImageError, match="too large"):
        handlers.photo_to_edges(tmp_path / "wide.png")


def test_photo_to_edges_puts_edges_in_editor(tmp_path, monkeypatch):
    import hed_edges

    calls = {}

    def fake_extract(image, size=256, detector="auto", device="cpu"):
        calls["size"] = size
        return Image.new("L", (size, size // 2), 255)

    monkeypatch.setattr(hed_edges, "extract_edges", fake_extract)
    Image.new("RGB", (640, 320), (120, 80, 40)).save(tmp_path / "photo.jpg")
    value = handlers.photo_to_edges(tmp_path / "photo.jpg")
    assert calls["size"] == handlers.CANVAS
    assert value["background"].mode == "RGB" and value["layers"] == []


def test_rectangles_fill_stroke_boxes_in_label_colours():
    window = handlers.PALETTE[2]
    layer = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.line([(100, 100), (200, 100), (200, 180), (100, 180), (100, 100)], fill=window + (255,), width=5)
    big = handlers.PALETTE[1]  # a facade box drawn after, larger: goes underneath
    d.line([(50, 50), (300, 50), (300, 300)], fill=big + (255,), width=5)
    value = {"background": handlers.blank("labels")["background"], "layers": [layer], "composite": None}
    out = handlers.rectangles(value, "labels")["background"]
    assert out.getpixel((150, 140)) == window  # inside the window outline: filled
    assert out.getpixel((250, 250)) == big
    assert out.getpixel((400, 400)) == handlers.PALETTE[0]


def test_examples_match_committed_pngs():
    for name, draw in examples.DRAWINGS.items():
        committed = Image.open(examples.FOLDER / f"{name}.png").convert("RGB")
        assert np.array_equal(np.asarray(committed), np.asarray(draw())), f"run python -m app.examples ({name})"
    assert examples.example_for("my-run", "labels").getpixel((0, 0)) == handlers.PALETTE[0]


def test_save_png_is_content_addressed(tmp_path):
    img = Image.new("RGB", (4, 4), "red")
    assert handlers.save_png(img, tmp_path, "photo") == handlers.save_png(img.copy(), tmp_path, "photo")
    assert len(list(tmp_path.iterdir())) == 1
