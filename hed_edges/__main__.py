"""python -m hed_edges {build,extract,import-paired,import-facades}: see --help of each."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from models.cli import Parser, device, existing_dir, existing_file, fraction, non_negative_int, positive_int
from models.images import BadImageError

from .pairs import parse_split


def split_ratios(text: str) -> tuple[float, ...]:
    try:
        return parse_split(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m hed_edges", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="a folder of photos -> edges|photo pairs in train/val/test (resumable)")
    b.add_argument("photos", type=existing_dir,
                   help="folder of photos (nested, mixed formats; RGBA composited on white)")
    b.add_argument("out", help="output folder: train/, val/, test/ and dataset.json")
    b.add_argument("--size", type=positive_int, default=256, help="pair half size in px (default 256)")
    b.add_argument("--split", type=split_ratios, default="0.9,0.05,0.05",
                   help="train,val,test ratios (default 0.9,0.05,0.05)")
    b.add_argument("--detector", choices=("auto", "hed", "canny"), default="auto",
                   help="auto = HED when its weights are installed, else Canny with a warning")
    b.add_argument("--device", type=device, default="cpu", help="cpu (2 worker processes) or cuda (batched)")
    b.add_argument("--workers", type=positive_int, default=2, help="CPU worker processes (default 2)")
    b.add_argument("--batch-size", type=positive_int, default=16,
                   help="images per HED forward on CUDA (default 16)")
    b.add_argument("--fit", choices=("crop", "pad"), default="crop",
                   help="make photos square by centre-cropping (default) or padding with white")
    b.add_argument("--format", choices=("jpg", "png"), default="jpg", help="pair file format (default jpg)")
    b.add_argument("--heads", choices=("cat",),
                   help="crop each photo to the largest cat head OpenCV's cat-face detector finds; photos "
                        "without one are skipped and counted as no_face in dataset.json")
    b.add_argument("--limit", type=positive_int,
                   help="make at most this many new pairs, then stop (resume later)")

    e = sub.add_parser("extract", help="edges of one image (black 1-px lines on white)")
    e.add_argument("image", type=existing_file)
    e.add_argument("-o", "--out", help="output file (default: <image>_edges.png beside the input)")
    e.add_argument("--size", type=non_negative_int, default=256,
                   help="long side of the result; 0 keeps the input size")
    e.add_argument("--detector", choices=("auto", "hed", "canny"), default="auto")
    e.add_argument("--device", type=device, default="cpu")

    p = sub.add_parser("import-paired", help="side-by-side photo|edges pairs -> edges|photo (AtoB)")
    p.add_argument("src", type=existing_dir,
                   help="folder with train/ and val/ (and optionally test/) of side-by-side pairs")
    p.add_argument("out", help="output folder")
    p.add_argument("--photo-side", choices=("left", "right"), required=True,
                   help="where the photo is in the source pairs (left for the shared edges2shoes/handbags)")

    f = sub.add_parser("import-facades", help="CMP facades photo + palette label map -> label|photo pairs")
    f.add_argument("src", type=existing_dir, help="folder of cmp_*.jpg photos and cmp_*.png label maps")
    f.add_argument("out", help="output folder: train/, val/ and dataset.json")
    f.add_argument("--size", type=positive_int, default=256, help="pair half size in px (default 256)")
    f.add_argument("--val-fraction", type=fraction, default=0.1, help="share of pairs in val/ (default 0.1)")

    pa = sub.add_parser("partials", help="edges|photo pairs -> partial drawing|whole edge map pairs (the shadow's "
                                        "completion route; resumable)")
    pa.add_argument("src", type=existing_dir, help="a pairs folder whose left halves are edge maps")
    pa.add_argument("out", help="output folder: the same splits, COPIES pairs per map, and dataset.json")
    pa.add_argument("--copies", type=positive_int, default=3, help="partial drawings per edge map (default 3)")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    import torch

    # Two threads on an idle machine; OMP_NUM_THREADS=1 beside other jobs (two OpenMP threads that wait for a
    # busy core ran one build 5x slower than one thread on the same machine).
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 0) or min(2, os.cpu_count() or 1))
    try:
        if args.command == "build":
            from .build import build_dataset

            data = build_dataset(args.photos, args.out, size=args.size, split=args.split,
                                 detector=args.detector, device=args.device, workers=args.workers,
                                 batch_size=args.batch_size, fit=args.fit, fmt=args.format, limit=args.limit,
                                 heads=args.heads)
            report(data, args.out)
        elif args.command == "extract":
            from .detect import extract_edges

            image = Path(args.image)
            out = Path(args.out) if args.out else image.with_name(image.stem + "_edges.png")
            edges = extract_edges(image, size=args.size or None, detector=args.detector, device=args.device)
            edges.save(out)
            print(out)
        elif args.command == "import-paired":
            from .importers import import_paired

            report(import_paired(args.src, args.out, photo_side=args.photo_side), args.out)
        elif args.command == "partials":
            from .partials import build_partials

            report(build_partials(args.src, args.out, copies=args.copies), args.out)
        else:
            from .facades import import_facades

            data = import_facades(args.src, args.out, size=args.size, val_fraction=args.val_fraction)
            report(data, args.out)
    except (BadImageError, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk or a read-only folder: the machine, not the values given
        print(f"error: cannot write {err.filename or args.out}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0


def report(data: dict, out: str) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in data["counts"].items())
    no_face = f", {data['no_face']} with no cat face" if data.get("no_face") else ""
    print(f"{out}: {counts}; {len(data['skipped'])} skipped{no_face} (see {Path(out) / 'dataset.json'})")


if __name__ == "__main__":
    sys.exit(main())
