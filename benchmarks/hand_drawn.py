"""What a line model makes of a drawing as a person draws it: few lines, a thick pen, filled eyes.

    python benchmarks/hand_drawn.py --model assets/models/edges2shoes [--widths 3,6,12] [--seeds 4]
        [--colour "#c81e1e"] [--thin-lines] [--sheet out.png]

The val edges are dense HED lines; a person draws a few closed outlines with a 3-12 px pen (on the
studio's 512 px canvas). Three fixed drawings (a high-top shoe with a two-line sole, a handbag with a
handle, a round creature with ears and filled eyes) are drawn at each pen width and translated at
256 px with several seeds (palette models: each seed draws the object's colour, or `--colour` gives
it, as "Paint it this colour" does in the studio). Printed per drawing and width:
- spill: the share of the ground (pixels farther than 8 px from the drawn shape, outlines filled)
  that the output stains (any channel below 200): the smear below a sole, a cloud above a shoe.
  Shoes, handbags and pokemon were trained on objects on white, so a clean drawing should leave the
  ground white; 0 is best. (Not for cats: listing photos have a room behind the cat.)
- fill: the share of the shape's interior that is painted (not near-white): an object, not a sketch.
- faces (cat drawings: a face filling the frame, a whole sitting cat): the share of outputs in which
  OpenCV's cat-face detector finds a face, beside whether it finds one in the drawing itself (it fires
  on a thick drawn face alone, so on drawings it is a weak signal: look at the sheet).
The sheet shows drawing | one output per seed, a row per drawing and width: look at it before
believing either number.
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

import models
from app.handlers import parse_colour
from hed_edges.catfaces import has_face

CANVAS, SIZE = 512, 256
GROUND_MARGIN = 8  # px at SIZE: a rim this wide around the shape may be shadow or antialiasing
STAIN, PAINT = 200, 235  # channel levels: stained ground, painted interior


def shoe(d: ImageDraw.ImageDraw, w: int) -> None:
    d.line([(120, 120), (200, 110), (230, 260), (330, 300), (420, 330), (440, 380), (430, 410), (90, 410),
            (80, 300), (120, 120)], fill="black", width=w, joint="curve")
    d.line([(85, 385), (435, 385)], fill="black", width=w)  # the second sole line
    d.line([(160, 170), (210, 160)], fill="black", width=w)
    d.line([(170, 220), (220, 210)], fill="black", width=w)


def handbag(d: ImageDraw.ImageDraw, w: int) -> None:
    d.polygon([(110, 220), (402, 220), (430, 420), (82, 420)], outline="black", width=w)
    d.arc([180, 120, 332, 320], 180, 360, fill="black", width=w)  # the handle, ends on the top line
    d.line([(110, 270), (402, 270)], fill="black", width=w)  # the flap
    d.ellipse([246, 280, 266, 300], fill="black")  # the clasp


def creature(d: ImageDraw.ImageDraw, w: int) -> None:
    d.ellipse([136, 176, 376, 416], outline="black", width=w)
    d.line([(170, 220), (150, 100), (220, 185)], fill="black", width=w, joint="curve")
    d.line([(292, 185), (360, 100), (342, 220)], fill="black", width=w, joint="curve")
    d.ellipse([200, 260, 225, 285], fill="black")  # filled eyes
    d.ellipse([287, 260, 312, 285], fill="black")
    d.arc([225, 300, 287, 340], 20, 160, fill="black", width=w)


def cat_face(d: ImageDraw.ImageDraw, w: int) -> None:
    """What a person draws in an edges2cats demo: a face filling the frame, ears, eyes, nose, whiskers."""
    d.ellipse([96, 140, 416, 440], outline="black", width=w)
    d.line([(118, 230), (130, 70), (220, 150)], fill="black", width=w, joint="curve")
    d.line([(292, 150), (382, 70), (394, 230)], fill="black", width=w, joint="curve")
    for cx in (196, 316):
        d.ellipse([cx - 34, 250, cx + 34, 300], outline="black", width=w)
        d.ellipse([cx - 9, 255, cx + 9, 295], fill="black")
    d.polygon([(238, 330), (274, 330), (256, 352)], outline="black", width=w)
    d.arc([212, 340, 256, 384], 0, 180, fill="black", width=w)
    d.arc([256, 340, 300, 384], 0, 180, fill="black", width=w)
    for y, dy in ((345, -14), (362, 0), (379, 14)):
        d.line([(200, y), (110, y + dy)], fill="black", width=max(1, w // 2))
        d.line([(312, y), (402, y + dy)], fill="black", width=max(1, w // 2))


def sitting_cat(d: ImageDraw.ImageDraw, w: int) -> None:
    """A whole cat sitting, seen from the front: head, ears, body, front legs, tail."""
    d.ellipse([186, 70, 326, 200], outline="black", width=w)
    d.line([(196, 120), (196, 40), (240, 78)], fill="black", width=w, joint="curve")
    d.line([(272, 78), (316, 40), (316, 120)], fill="black", width=w, joint="curve")
    d.ellipse([220, 118, 240, 138], fill="black")
    d.ellipse([272, 118, 292, 138], fill="black")
    d.polygon([(248, 152), (264, 152), (256, 162)], outline="black", width=w)
    d.line([(200, 180), (150, 300), (140, 440), (372, 440), (362, 300), (312, 180)], fill="black", width=w,
           joint="curve")
    d.line([(226, 300), (220, 440)], fill="black", width=w)  # front legs
    d.line([(286, 300), (292, 440)], fill="black", width=w)
    d.line([(372, 430), (440, 420), (460, 340), (430, 280)], fill="black", width=w, joint="curve")  # tail


DRAWINGS = {"shoe": shoe, "handbag": handbag, "creature": creature, "cat_face": cat_face, "sitting_cat": sitting_cat}
CAT_DRAWINGS = ("cat_face", "sitting_cat")


def rgb(text: str) -> tuple[int, int, int]:
    try:
        return parse_colour(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def drawing(name: str, width: int) -> Image.Image:
    image = Image.new("RGB", (CANVAS, CANVAS), "white")
    DRAWINGS[name](ImageDraw.Draw(image), width)
    return image


def shape_mask(name: str) -> np.ndarray:
    """The drawn object at SIZE, the same for every pen: its lines drawn 12 px wide (a thin pen's
    outline breaks up at SIZE) with every closed outline filled."""
    ink = np.asarray(drawing(name, 12).convert("L").resize((SIZE, SIZE), Image.BOX)) < 128
    return ndimage.binary_fill_holes(ink)


def scores(output: Image.Image, shape: np.ndarray) -> tuple[float, float]:
    pixels = np.asarray(output.convert("RGB"))
    ground = ~ndimage.binary_dilation(shape, iterations=GROUND_MARGIN)
    inside = ndimage.binary_erosion(shape, iterations=2)
    spill = float((pixels[ground].min(axis=1) < STAIN).mean())
    fill = float((pixels[inside].min(axis=1) < PAINT).mean()) if inside.any() else float("nan")
    return spill, fill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--drawings", default=",".join(DRAWINGS), help=f"comma-separated, from {', '.join(DRAWINGS)}")
    parser.add_argument("--widths", default="3,6,12", help="pen widths in px on the 512 px canvas")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--colour", type=rgb, help="#rrggbb: the object's colour (palette models), not drawn by seed")
    parser.add_argument("--thin-lines", action="store_true", help="thin the strokes first (models.strokes)")
    parser.add_argument("--sheet", help="PNG: drawing | one output per seed, a row per drawing and width")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    translator = models.load(args.model)
    names = args.drawings.split(",")
    unknown = set(names) - set(DRAWINGS)
    if unknown:
        parser.error(f"unknown drawing(s) {', '.join(sorted(unknown))}; choose from {', '.join(DRAWINGS)}")
    widths = [int(w) for w in args.widths.split(",")]
    rows, table = [], []
    for name in names:
        shape = shape_mask(name)
        for width in widths:
            image = drawing(name, width)
            outs = [translator(image, seed=s, size=SIZE, thin_lines=args.thin_lines, colour=args.colour or "auto")
                    for s in range(args.seeds)]
            spill, fill = zip(*(scores(o, shape) for o in outs))
            faces = (f"{statistics.mean(has_face(o) for o in outs):.2f} (drawing: {'yes' if has_face(image) else 'no'})"
                     if name in CAT_DRAWINGS else "")
            table.append((name, width, statistics.mean(spill), statistics.mean(fill), faces))
            rows.append([image.resize((SIZE, SIZE), Image.BOX)] + outs)
    colour = f", colour #{bytes(args.colour).hex()}" if args.colour else ""
    print(f"{args.model}{' (lines thinned)' if args.thin_lines else ''}{colour}, {args.seeds} seeds")
    print("| drawing | pen px (512 canvas) | spill (0 best) | fill | cat faces found |\n|---|---|---|---|---|")
    for name, width, spill, fill, faces in table:
        print(f"| {name} | {width} | {spill:.3f} | {fill:.2f} | {faces} |")
    print(f"| all | | {statistics.mean(t[2] for t in table):.3f} | {statistics.mean(t[3] for t in table):.2f} | |")
    if args.sheet:
        grid = [np.concatenate([np.asarray(tile) for tile in row], axis=1) for row in rows]
        Image.fromarray(np.concatenate(grid, axis=0)).save(args.sheet)
        print(f"sheet: {args.sheet}")


if __name__ == "__main__":
    main()
