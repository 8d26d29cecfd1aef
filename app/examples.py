"""Starting drawings, one per model, drawn by code so the project ships no third-party images.

`python -m app.examples` rewrites the PNGs under assets/examples/; the drawings are
deterministic, so the files only change when this code does (a test checks they match).
"""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

from hed_edges.facades import FACADE_LABELS

SIZE = 512
INK = 0
LINE = 3  # 1.5 px after the 512 -> 256 resize, close to HED's thin edges
FOLDER = Path(__file__).resolve().parent.parent / "assets" / "examples"
LABEL = dict(FACADE_LABELS)


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (SIZE, SIZE), 255)
    return image, ImageDraw.Draw(image)


def cat() -> Image.Image:
    """A cat face: round head, pointed ears, almond eyes, nose, mouth and whiskers."""
    image, d = canvas()
    d.ellipse((96, 136, 416, 436), outline=INK, width=LINE)
    d.line([(120, 220), (132, 70), (220, 146)], fill=INK, width=LINE, joint="curve")
    d.line([(292, 146), (380, 70), (392, 220)], fill=INK, width=LINE, joint="curve")
    d.line([(146, 196), (150, 112), (196, 158)], fill=INK, width=LINE)
    d.line([(316, 158), (362, 112), (366, 196)], fill=INK, width=LINE)
    for cx in (196, 316):
        d.ellipse((cx - 34, 246, cx + 34, 290), outline=INK, width=LINE)
        d.ellipse((cx - 9, 250, cx + 9, 286), fill=INK)
    d.polygon([(240, 322), (272, 322), (256, 342)], outline=INK, fill=INK)
    d.arc((212, 326, 256, 370), 0, 150, fill=INK, width=LINE)
    d.arc((256, 326, 300, 370), 30, 180, fill=INK, width=LINE)
    for dy in (-12, 4, 20):
        d.line([(216, 336 + dy // 2), (120, 326 + dy)], fill=INK, width=2)
        d.line([(296, 336 + dy // 2), (392, 326 + dy)], fill=INK, width=2)
    return image.convert("RGB")


def shoe() -> Image.Image:
    """A sneaker in profile: sole, toe cap, collar, laces and a side stripe."""
    image, d = canvas()
    sole = [(40, 360), (60, 392), (440, 392), (472, 372), (470, 350)]
    d.line(sole, fill=INK, width=LINE, joint="curve")
    upper = [(40, 360), (50, 300), (70, 196), (150, 190), (200, 230), (290, 270), (400, 296),
             (452, 314), (470, 350), (40, 360)]
    d.line(upper, fill=INK, width=LINE, joint="curve")
    d.line([(60, 342), (462, 342)], fill=INK, width=2)
    d.line([(70, 196), (110, 210), (150, 190)], fill=INK, width=LINE)
    for i in range(5):
        x = 180 + i * 26
        d.line([(x, 222 + i * 11), (x + 30, 250 + i * 11)], fill=INK, width=LINE)
    d.line([(120, 320), (230, 250), (330, 320)], fill=INK, width=LINE, joint="curve")
    return image.convert("RGB")


def handbag() -> Image.Image:
    """A handbag: trapezoid body, arched handle, flap and clasp."""
    image, d = canvas()
    d.polygon([(120, 200), (392, 200), (440, 440), (72, 440)], outline=INK, width=LINE)
    d.arc((170, 60, 342, 300), 180, 360, fill=INK, width=LINE)
    d.arc((190, 84, 322, 290), 180, 360, fill=INK, width=2)
    d.line([(120, 200), (256, 300), (392, 200)], fill=INK, width=LINE)
    d.rectangle((240, 292, 272, 324), outline=INK, width=LINE)
    d.line([(90, 400), (422, 400)], fill=INK, width=2)
    return image.convert("RGB")


def facade() -> Image.Image:
    """A CMP label layout: facade with cornice, three storeys of windows with sills and
    blinds, a balcony, pillars and a shop front with a door."""
    image = Image.new("RGB", (SIZE, SIZE), LABEL["background"])
    d = ImageDraw.Draw(image)
    d.rectangle((32, 40, 480, 512), fill=LABEL["facade"])
    d.rectangle((32, 40, 480, 70), fill=LABEL["cornice"])
    d.rectangle((32, 360, 480, 372), fill=LABEL["molding"])
    for row, top in enumerate((96, 186, 276)):
        for left in (70, 180, 290, 400):
            d.rectangle((left, top, left + 52, top + 60), fill=LABEL["window"])
            d.rectangle((left - 6, top + 60, left + 58, top + 68), fill=LABEL["sill"])
            if row == 0:
                d.rectangle((left, top, left + 52, top + 14), fill=LABEL["blind"])
    d.rectangle((160, 256, 352, 272), fill=LABEL["balcony"])
    d.rectangle((40, 372, 62, 512), fill=LABEL["pillar"])
    d.rectangle((450, 372, 472, 512), fill=LABEL["pillar"])
    d.rectangle((80, 392, 220, 490), fill=LABEL["shop"])
    d.rectangle((292, 392, 432, 490), fill=LABEL["shop"])
    d.rectangle((232, 392, 280, 512), fill=LABEL["door"])
    d.ellipse((236, 320, 276, 352), fill=LABEL["deco"])
    return image


def pokemon() -> Image.Image:
    """A round creature: blob body, long ears, big eyes, cheeks, small feet and a zigzag tail."""
    image, d = canvas()
    blob = [(256 + 150 * math.cos(t) * (1 + 0.06 * math.sin(3 * t)),
             300 + 130 * math.sin(t) * (1 + 0.05 * math.cos(2 * t)))
            for t in (i * 2 * math.pi / 90 for i in range(91))]
    d.line(blob, fill=INK, width=LINE, joint="curve")
    d.line([(170, 200), (120, 60), (210, 176)], fill=INK, width=LINE, joint="curve")
    d.line([(302, 176), (392, 60), (342, 200)], fill=INK, width=LINE, joint="curve")
    for cx in (206, 306):
        d.ellipse((cx - 22, 254, cx + 22, 300), outline=INK, width=LINE)
        d.ellipse((cx - 6, 262, cx + 10, 282), fill=INK)
        d.ellipse((cx - 70 if cx < 256 else cx + 34, 312, cx - 34 if cx < 256 else cx + 70, 340),
                  outline=INK, width=2)
    d.arc((236, 310, 276, 346), 20, 160, fill=INK, width=LINE)
    d.line([(404, 330), (450, 300), (430, 270), (480, 236), (462, 206), (500, 180)],
           fill=INK, width=LINE)
    for cx in (190, 322):
        d.arc((cx - 34, 410, cx + 34, 452), 180, 360, fill=INK, width=LINE)
    return image.convert("RGB")


DRAWINGS = {"edges2cats": cat, "edges2shoes": shoe, "edges2handbags": handbag,
            "facades": facade, "sketch2pokemon": pokemon}
BY_KIND = {"edges": cat, "image": cat, "labels": facade, "sketch": pokemon}


def example_for(name: str, input_kind: str) -> Image.Image:
    """The drawing for a shipped model by name, otherwise one that fits its input kind."""
    return (DRAWINGS.get(name) or BY_KIND.get(input_kind, cat))()


def write_all(folder: Path = FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in DRAWINGS.items():
        path = folder / f"{name}.png"
        draw().save(path, optimize=True)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(p)
