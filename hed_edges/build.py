"""A folder of photos -> pix2pix edges|photo pairs in train/val/test, resumable and parallel."""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from models.images import BadImageError, open_image, to_rgb

from .catfaces import head_crop
from .detect import edge_masks, resolve_detector
from .net import ensure_weights
from .pairs import (
    EDGES2PHOTO,
    IMAGE_SUFFIXES,
    MANIFEST,
    NothingBuiltError,
    count_pairs,
    read_manifest,
    remove_stale_temps,
    require_pairs,
    save_atomic,
    side_by_side,
    split_of,
    square,
    write_json_atomic,
)
from .postprocess import to_image

MANIFEST_EVERY = 50  # results between manifest rewrites: bounds what a crash loses from the skip report
NO_FACE = "no cat face found"  # the skip reason `heads="cat"` gives; dataset.json counts them as no_face


class NoFaceError(ValueError):
    """A photo in which the head detector finds nothing (skipped, and counted in dataset.json)."""


@dataclass(frozen=True)
class Job:
    rel: str  # path relative to the photo folder, '/'-separated: the split and the name derive from it
    src: Path
    out: Path


def plan(photos_dir: Path, out_dir: Path, ratios: tuple[float, ...], fmt: str) -> list[Job]:
    """Every image file under photos_dir (nested; out_dir excluded), each with its split and output path.
    Names flatten the relative path ('a/b/c.jpg' -> 'a__b__c'); same stems with other formats get the
    extension appended so nothing is overwritten."""
    out_dir = out_dir.resolve()
    files = sorted(
        p for p in photos_dir.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and out_dir not in p.resolve().parents
    )
    rels = [p.relative_to(photos_dir).as_posix() for p in files]
    stems = [rel.rsplit(".", 1)[0].replace("/", "__") for rel in rels]
    seen: dict[str, int] = {}
    for s in stems:
        seen[s] = seen.get(s, 0) + 1
    jobs = []
    for path, rel, stem in zip(files, rels, stems):
        name = stem if seen[stem] == 1 else f"{stem}_{path.suffix[1:].lower()}"
        jobs.append(Job(rel, path, out_dir / split_of(rel, ratios) / f"{name}.{fmt}"))
    return jobs


def load_photo(job: Job, size: int, fit: str, heads: str | None = None) -> Image.Image:
    photo = to_rgb(open_image(job.src, name=job.rel))
    if heads == "cat":
        photo = head_crop(photo)
        if photo is None:
            raise NoFaceError(f"{job.rel}: {NO_FACE}")
    return square(photo, size, fit)


def write_pair(job: Job, photo: Image.Image, mask) -> None:
    save_atomic(side_by_side(to_image(mask), photo), job.out)


def process_one(job: Job, size: int, fit: str, detector: str, heads: str | None = None) -> tuple[str, str | None]:
    """One photo -> one pair file (CPU workers). Returns (rel, reason it was skipped or None)."""
    try:
        photo = load_photo(job, size, fit, heads)
        write_pair(job, photo, edge_masks([photo], None, detector)[0])
        return job.rel, None
    except (BadImageError, NoFaceError) as e:
        return job.rel, str(e)
    except Exception as e:  # one odd file must not stop a long build; it is reported in dataset.json
        return job.rel, f"{job.rel}: {type(e).__name__}: {e}"


def _worker_init() -> None:
    torch.set_num_threads(1)  # one thread per process: the processes already use every core


def run_cpu(jobs: list[Job], size: int, fit: str, detector: str, workers: int,
            heads: str | None = None) -> Iterator[tuple[str, str | None]]:
    work = partial(process_one, size=size, fit=fit, detector=detector, heads=heads)
    if workers <= 1 or len(jobs) < 2:
        yield from map(work, jobs)
        return
    # spawn, not fork: forking a process that has torch's thread pools running can deadlock the children
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_worker_init) as pool:
        yield from pool.imap_unordered(work, jobs, chunksize=2)


def run_batched(jobs: list[Job], size: int, fit: str, detector: str, device: str, batch_size: int,
                heads: str | None = None) -> Iterator[tuple[str, str | None]]:
    """GPU: decode with threads, one HED forward per batch, postprocess on the CPU."""
    def load(job: Job):
        try:
            return job, load_photo(job, size, fit, heads), None
        except (BadImageError, NoFaceError) as e:
            return job, None, str(e)

    with ThreadPoolExecutor(4) as decoder:
        for start in range(0, len(jobs), batch_size):
            loaded = list(decoder.map(load, jobs[start:start + batch_size]))
            good = [(job, photo) for job, photo, _ in loaded if photo is not None]
            yield from ((job.rel, err) for job, _, err in loaded if err is not None)
            if good:
                masks = edge_masks([photo for _, photo in good], None, detector, device)
                for (job, photo), mask in zip(good, masks):
                    write_pair(job, photo, mask)
                    yield job.rel, None


def build_dataset(photos_dir: str | Path, out_dir: str | Path, size: int = 256,
                  split: Iterable[float] = (0.9, 0.05, 0.05), detector: str = "auto", device: str = "cpu",
                  workers: int = 2, batch_size: int = 16, fit: str = "crop", fmt: str = "jpg",
                  limit: int | None = None, progress: bool = True, heads: str | None = None) -> dict:
    """Build OUT_DIR/{train,val,test}/<name>.<fmt> pairs (left edges, right photo) and OUT_DIR/dataset.json.

    Re-running resumes: pairs already on disk are kept untouched and only missing ones are made; files that
    fail to decode are skipped and listed with the reason. `limit` caps how many missing pairs this run
    tries. `heads="cat"` crops each photo to its largest cat head (hed_edges.catfaces) and skips photos
    without one, counted as `no_face` in dataset.json.
    On CUDA with HED, batches of `batch_size` share one forward; on the CPU `workers` processes share the work."""
    photos_dir, out_dir = Path(photos_dir), Path(out_dir)
    if not photos_dir.is_dir():
        raise FileNotFoundError(f"{photos_dir}: no such folder of photos")
    ratios = tuple(float(r) for r in split)
    if heads not in (None, "cat"):
        raise ValueError(f"heads must be 'cat' or None, not {heads!r}")
    settings = {"size": size, "fit": fit, "split": list(ratios), "format": fmt, "heads": heads}
    previous = read_manifest(out_dir)
    if previous is not None:
        old = {k: previous.get(k) for k in settings}
        if old != settings or (detector != "auto" and previous.get("detector") != detector):
            raise ValueError(
                f"{out_dir / MANIFEST}: this folder was built with {old} "
                f"detector={previous.get('detector')}; "
                f"resume with the same settings or choose a new OUT_DIR"
            )
        detector = previous["detector"]
    detector = resolve_detector(detector)
    if detector == "hed":
        ensure_weights()  # convert once here rather than racing in every worker
    remove_stale_temps(out_dir)

    jobs = plan(photos_dir, out_dir, ratios, fmt)
    if not jobs:
        raise NothingBuiltError(
            f"{photos_dir}: no photos found ({', '.join(sorted(IMAGE_SUFFIXES))}, nested folders included)"
        )
    todo = [job for job in jobs if not job.out.exists()]
    already_done = len(jobs) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    skipped = {s["file"]: s["reason"] for s in (previous or {}).get("skipped", [])}
    skipped = {rel: reason for rel, reason in skipped.items() if (photos_dir / rel).exists()}
    written, started = 0, time.monotonic()

    def manifest(complete: bool) -> dict:
        data = {
            **EDGES2PHOTO,
            "source": str(photos_dir.resolve()), "detector": detector, **settings,
            "counts": count_pairs(out_dir),
            "skipped": [{"file": f, "reason": r} for f, r in sorted(skipped.items())],
            "no_face": sum(r.endswith(NO_FACE) for r in skipped.values()),
            "complete": complete,
            "last_run": {"written": written, "already_done": already_done,
                         "seconds": round(time.monotonic() - started, 1)},
        }
        write_json_atomic(data, out_dir / MANIFEST)
        return data

    if device.startswith("cuda") and detector == "hed":
        results = run_batched(todo, size, fit, detector, device, batch_size, heads)
    else:
        results = run_cpu(todo, size, fit, detector, workers, heads)
    out_dir.mkdir(parents=True, exist_ok=True)
    complete = False
    try:
        with tqdm(total=len(todo), desc=f"{detector} edges", unit="img", disable=not progress) as bar:
            for i, (rel, error) in enumerate(results, 1):
                if error is None:
                    written += 1
                    skipped.pop(rel, None)
                else:
                    skipped[rel] = error
                    bar.write(f"skipped {error}")
                bar.update()
                if i % MANIFEST_EVERY == 0:
                    manifest(False)
        complete = all(job.out.exists() or job.rel in skipped for job in jobs)
    finally:
        data = manifest(complete)
    return require_pairs(data, out_dir, len(jobs), "photos")
