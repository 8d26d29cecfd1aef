"""Every way an input image can be odd: the size check runs on the header, errors are one line."""
from __future__ import annotations

import base64
import io
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

import models
from models import images


def png_claiming(w: int, h: int) -> bytes:
    """A valid greyscale PNG of w x h zeros: tiny on disk, w*h bytes once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (w + 1)
    idat = b"".join(compressor.compress(row) for _ in range(h)) + compressor.flush()
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "\n" not in text and len(text) < 200, text
    return text


@pytest.mark.parametrize("w, h", [(12000, 12000), (20000, 20000)])
def test_bomb_refused_from_the_header_with_our_message(w, h, tmp_path):
    data = png_claiming(w, h)
    assert len(data) < 1_000_000
    (tmp_path / "bomb.png").write_bytes(data)
    for source in (data, tmp_path / "bomb.png"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Pillow's own bomb warning must not surface either
            start = time.perf_counter()
            with pytest.raises(models.BadImageError, match="too large") as e:
                models.open_image(source, name="bomb.png")
        assert time.perf_counter() - start < 0.5  # nothing decoded
        assert one_line(e).startswith("bomb.png: ") and "8192 px" in str(e.value)


@pytest.mark.parametrize("w, h", [(10000, 10), (8000, 10), (10, 8000), (900, 100), (100, 900)])
def test_extreme_aspect_ratios_are_refused(w, h):
    with pytest.raises(models.BadImageError, match=r"too (large|long and thin)") as e:
        models.open_image(encode(Image.new("L", (w, h))), name="strip.png")
    assert "8:1" in one_line(e)


@pytest.mark.parametrize("w, h", [(800, 100), (100, 800), (1, 1), (8, 1)])
def test_limits_are_inclusive(w, h):
    assert models.open_image(encode(Image.new("L", (w, h)))).size == (w, h)


def test_check_size_takes_a_size_and_is_the_same_check():
    models.check_size((8192, 1024))
    with pytest.raises(models.BadImageError, match="too large"):
        models.check_size((8193, 1024))
    with pytest.raises(models.BadImageError, match="too large"):
        models.check_size((8000, 6000), "photo")  # 48 MP
    with pytest.raises(models.BadImageError, match="empty image"):
        models.check_size((0, 10))
    with pytest.raises(models.BadImageError, match="long and thin"):
        models.check_size(Image.new("L", (90, 10)))


@pytest.mark.parametrize("data, why", [
    (b"", "empty file"),
    (b"just some text, not a picture\n", "unknown format"),
])
def test_empty_and_text_files(tmp_path, data, why):
    (tmp_path / "x.png").write_bytes(data)
    for source in (data, tmp_path / "x.png"):
        with pytest.raises(models.BadImageError, match=f"not a readable image \\({why}\\)") as e:
            models.open_image(source, name="x.png")
        one_line(e)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_truncated_files(fmt):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = encode(noise.convert("P") if fmt == "GIF" else noise, fmt)
    with pytest.raises(models.BadImageError, match="not a readable image") as e:
        models.open_image(data[: len(data) // 2], name="cut")
    one_line(e)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(models.BadImageError, match="file not found"):
        models.open_image(tmp_path / "nope.png", name="nope.png")
    with pytest.raises(models.BadImageError, match="a folder, not an image"):
        models.open_image(tmp_path, name="here")
    with pytest.raises(models.BadImageError, match=r"^upload: can't be opened \(File name too long\)$"):
        models.open_image("A" * 5000, name="upload")  # e.g. base64 without its data: prefix


def test_data_urls():
    image = Image.new("RGB", (12, 7), (10, 200, 30))
    url = "data:image/png;base64," + base64.b64encode(encode(image)).decode()
    got = models.open_image(url)
    assert got.size == (12, 7) and got.convert("RGB").getpixel((3, 3)) == (10, 200, 30)
    bomb = "data:image/png;base64," + base64.b64encode(png_claiming(9000, 9000)).decode()
    with pytest.raises(models.BadImageError, match="drawing: 9000x9000 is too large"):
        models.open_image(bomb, name="drawing")
    for bad, why in (("data:image/png,%89PNG", "only base64"),
                     ("data:image/png;base64,@@@", "not valid base64"),
                     ("data:image/png;base64,ü", "not valid base64"),
                     ("data:text/plain;base64," + base64.b64encode(b"hello").decode(), "unknown format")):
        with pytest.raises(models.BadImageError, match=why) as e:
            models.open_image(bad)
        one_line(e)


def test_oversized_data_url_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_DATA_URL_BYTES", 1000)
    url = "data:image/png;base64," + "A" * 2000
    monkeypatch.setattr(images.base64, "b64decode", lambda *a, **k: pytest.fail("decoded anyway"))
    with pytest.raises(models.BadImageError, match="larger than"):
        models.open_image(url)


def every_mode() -> list[tuple[str, str, Image.Image]]:
    """(mode, format, image): one small image per mode a file can open in, in a format that keeps it."""
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 255, (6, 10), dtype=np.uint8)
    rgba = rng.integers(0, 255, (6, 10, 4), dtype=np.uint8)
    palette = Image.fromarray(rgba[..., :3]).convert("P")
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    return [
        ("1", "PNG", Image.fromarray(grey > 128)),
        ("L", "PNG", Image.fromarray(grey)),
        ("LA", "PNG", Image.fromarray(rgba[..., :2], "LA")),
        ("P", "PNG", palette),
        ("P+transparency", "PNG", transparent),
        ("PA", "TIFF", Image.fromarray(rgba[..., :2], "LA").convert("PA")),
        ("RGB", "PNG", Image.fromarray(rgba[..., :3])),
        ("RGBA", "PNG", Image.fromarray(rgba, "RGBA")),
        ("CMYK", "JPEG", Image.fromarray(rgba, "RGBA").convert("CMYK")),
        ("CMYK", "TIFF", Image.fromarray(rgba, "RGBA").convert("CMYK")),
        ("LAB", "TIFF", Image.fromarray(rgba[..., :3]).convert("LAB")),
        ("I;16", "PNG", Image.fromarray((grey.astype(np.uint16) * 257), "I;16")),
        ("I;16", "TIFF", Image.fromarray(grey.astype(np.uint16) * 257)),
        ("I", "TIFF", Image.fromarray(grey.astype(np.int32) * 1000 - 50_000)),
        ("F", "TIFF", Image.fromarray(np.where(grey > 250, np.nan, grey / 255.0).astype(np.float32))),
    ]


@pytest.mark.parametrize("mode, fmt, image", every_mode(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_mode_opens_and_converts(mode, fmt, image):
    opened = models.open_image(encode(image, fmt), name=f"{mode}.{fmt.lower()}")
    assert opened.mode == mode.split("+")[0]
    rgb = models.to_rgb(opened)
    assert rgb.mode == "RGB" and rgb.size == (10, 6)
    arr = np.asarray(rgb)
    assert arr.std() > 0  # content survived the conversion (not a blank or clipped page)


def test_16_bit_and_float_are_rescaled_not_clipped():
    ramp16 = Image.fromarray(np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8), "I;16")
    arr = np.asarray(models.to_rgb(ramp16))[..., 0]
    assert arr.min() == 0 and arr.max() == 255
    ramp_f = Image.fromarray(np.linspace(-3, 5, 64, dtype=np.float32).reshape(8, 8))
    arr = np.asarray(models.to_rgb(ramp_f))[..., 0]
    assert arr.min() == 0 and arr.max() == 255 and len(np.unique(arr)) > 30


def test_pil_images_are_checked_too():
    with pytest.raises(models.BadImageError, match="long and thin"):
        models.open_image(Image.new("L", (900, 10)), name="canvas")
