"""Cat heads (issue 28): the detector, head crops in the dataset builder, the realism score in evaluate."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import cat_face_photo, make_dataset, make_model
from PIL import Image

from hed_edges.__main__ import main as hed_cli
from hed_edges.build import build_dataset
from hed_edges.catfaces import find_faces, head_box, head_crop
from training.evaluate import evaluate

REPO = Path(__file__).resolve().parents[1]


def test_opencv_is_pinned_below_5_which_dropped_the_cat_cascade():
    pins = [line for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.startswith("opencv-python-headless")]
    assert pins and "<5" in pins[0]
    assert int(cv2.__version__.split(".")[0]) < 5 and hasattr(cv2, "CascadeClassifier")
    assert Path(cv2.data.haarcascades, "haarcascade_frontalcatface_extended.xml").is_file()


def test_the_drawn_face_is_found_at_any_scale_and_blank_photos_have_none():
    photo, (fx, fy, fw, fh) = cat_face_photo()
    faces = find_faces(photo)
    assert faces, "the cascade finds the drawn face"
    x, y, w, h = faces[0]
    assert x <= fx + fw // 2 <= x + w and y <= fy + fh // 2 <= y + h  # over the drawn face
    big = find_faces(photo.resize((1024, 512)))  # boxes in the image's own pixels
    assert big and abs(big[0][0] - 2 * x) < 0.1 * big[0][2]
    assert find_faces(Image.new("RGB", (300, 200), "white")) == []
    assert find_faces(np.asarray(photo)) == faces  # arrays too (evaluate passes them)


def test_a_head_box_is_square_and_slides_inside_the_photo_instead_of_padding():
    assert head_box((10, 10, 40, 40), 300, 200) == (0, 0, 88, 88)  # at the corner: slid in, not padded
    left, top, side, _ = head_box((250, 150, 40, 40), 300, 200)
    assert (left + side, top + side) == (300, 200)
    assert head_box((0, 0, 200, 200), 300, 160)[2] == 160  # larger than the photo: shrunk to its short side
    x, y, side, _ = head_box((100, 100, 50, 50), 400, 400)  # room all round: centred, raised for the ears
    assert side == 110 and x == 70 and y + side / 2 < 125


def test_head_crop_takes_the_face_with_room_for_ears():
    photo, (fx, fy, fw, fh) = cat_face_photo()
    crop = head_crop(photo)
    assert crop is not None and crop.width == crop.height == 256  # 2.2 face widths, shrunk to the photo
    assert head_crop(Image.new("RGB", (300, 200), "grey")) is None
    # The crop holds the whole face: its fur colour fills the middle.
    middle = np.asarray(crop)[96:160, 96:160].reshape(-1, 3).mean(0)
    assert np.abs(middle - (230, 200, 160)).max() < 60


def test_build_with_heads_crops_and_counts_the_photos_with_no_face(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    cat_face_photo()[0].save(photos / "cat.png")
    for i in range(3):
        Image.new("RGB", (320, 240), (40 * i, 90, 160)).save(photos / f"sofa{i}.jpg")
    out = tmp_path / "heads"
    assert hed_cli(["build", str(photos), str(out), "--heads", "cat", "--detector", "canny", "--workers", "1",
                    "--split", "1", "--format", "png"]) == 0
    assert "3 with no cat face" in capsys.readouterr().out
    data = json.loads((out / "dataset.json").read_text())
    assert data["heads"] == "cat" and data["no_face"] == 3 and data["counts"] == {"train": 1}
    assert all(s["reason"].endswith("no cat face found") for s in data["skipped"])
    pair = np.asarray(Image.open(out / "train" / "cat.png"))
    assert pair.shape == (256, 512, 3)
    assert np.array_equal(pair[:, 256:], np.asarray(head_crop(cat_face_photo()[0]).resize((256, 256))))
    with pytest.raises(ValueError, match="built with"):  # a heads folder resumes only as one
        build_dataset(photos, out, detector="canny", workers=1, split=(1,), fmt="png", progress=False)
    with pytest.raises(Exception, match="no pairs made; 3 of 3 photos skipped .first: .*no cat face"):
        (photos / "cat.png").unlink()
        build_dataset(photos, tmp_path / "none", detector="canny", workers=1, heads="cat", progress=False)


def test_evaluate_scores_cat_faces_on_outputs_and_real_photos(tmp_path):
    data = make_dataset(tmp_path / "data", n_train=0, n_val=0)
    face = cat_face_photo()[0].crop((200, 0, 456, 256))
    for i, photo in enumerate([face, Image.new("RGB", (256, 256), "grey")]):
        pair = Image.new("RGB", (512, 256), "white")
        pair.paste(photo, (256, 0))
        pair.save(data / "val" / f"{i}.png")
    model = make_model(tmp_path / "edges2cats", name="edges2cats")  # random weights: no cat in its outputs
    summary = evaluate(model, data, tmp_path / "eval", structure=False)["summary"]
    assert summary["cat_faces_real"] == 0.5 and summary["cat_faces_fake"] == 0.0 and summary["cat_face_ratio"] == 0.0
    off = evaluate(model, data, tmp_path / "eval2", structure=False, cat_faces=False)["summary"]
    assert "cat_face_ratio" not in off
    shoes = make_model(tmp_path / "edges2shoes", name="edges2shoes")
    assert "cat_face_ratio" not in evaluate(shoes, data, tmp_path / "eval3", structure=False)["summary"]


def test_face_seeds_score_the_share_of_seeds_in_which_a_face_is_found(tmp_path, monkeypatch):
    """The detector is asked about each seed's output; a face in every other one scores 0.5 per image."""
    import hed_edges.catfaces

    data = make_dataset(tmp_path / "data", n_train=0, n_val=2)
    model = make_model(tmp_path / "edges2cats", name="edges2cats")
    asked = []
    monkeypatch.setattr(hed_edges.catfaces, "has_face", lambda image: asked.append(image) or len(asked) % 2 == 1)
    result = evaluate(model, data, tmp_path / "eval", structure=False, face_seeds=4)
    # per image: 4 outputs (found, not, found, not), then its real photo (found), so the pattern shifts by one
    assert [r["cat_face_fake"] for r in result["per_image"]] == [0.5, 0.5] and result["face_seeds"] == 4
    assert len(asked) == 10
    outputs = [asked[k] for k in range(4)]  # image 0's four seeds: four different dropout draws
    assert all(not np.array_equal(outputs[0], o) for o in outputs[1:])
