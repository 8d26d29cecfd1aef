"""Colour hints (issue 11 item 1): the sampler, the hint channels, training, model folders, evaluate."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_model, resumed_and_uninterrupted_logs, tiny
from PIL import Image
from scipy import ndimage

import models
from models.hints import hint_tensor, hints_image
from training.config import make_config
from training.data import step_generator
from training.evaluate import evaluate
from training.hints import BACKGROUND, MAX_LENGTH, MAX_RADIUS, draw_hints, hue_rotation, recolour, sample_hints
from training.trainer import Trainer

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"
def flat(colour, size=64):
    return torch.tensor(colour, dtype=torch.float32)[:, None, None].expand(3, size, size).clone()


def test_sampler_count_range_and_no_hint_probability():
    photos = flat([0.2, -0.4, 0.6]).expand(400, 3, 64, 64)
    hints = sample_hints(photos, 4, torch.Generator().manual_seed(0))
    counts = [ndimage.label(h[3].numpy())[1] for h in hints]
    none = sum(c == 0 for c in counts)
    assert 150 <= none <= 250, none  # half of 400, well inside 5 sigma
    assert max(counts) <= 4 and (hints[:, 3].amax((1, 2)) > 0).sum() == 400 - none
    # A hinted pair gets 1..4 hints: blobs may merge, so only ask that counts spread out.
    assert len(set(counts)) >= 4


def test_hint_colours_are_the_photos_local_colour():
    g = torch.Generator().manual_seed(1)
    colour = [0.2, -0.4, 0.6]
    hint = draw_hints(flat(colour), 10, g)
    mask = hint[3] > 0
    assert mask.any() and torch.allclose(hint[:3, mask], torch.tensor(colour)[:, None].expand(3, int(mask.sum())))
    assert (hint[:3, ~mask] == 0).all()
    # A smooth photo: each blob takes the mean under it, close to the colour at every one of its pixels.
    ramp = torch.linspace(-0.8, 0.8, 64)
    smooth = torch.stack([ramp[None, :].expand(64, 64), ramp[:, None].expand(64, 64), -ramp[None, :].expand(64, 64)])
    hint = draw_hints(smooth, 10, g)
    mask = hint[3] > 0
    span = (2 * MAX_RADIUS + MAX_LENGTH) * 1.6 / 63
    assert (hint[:3, mask] - smooth[:, mask]).abs().max() <= span


def test_hints_go_on_the_object_not_the_white_ground():
    photo = flat([1.0, 1.0, 1.0])
    photo[:, 24:40, 24:40] = torch.tensor([-0.5, 0.1, 0.3])[:, None, None]
    assert (photo.amin(0) >= BACKGROUND).float().mean() > 0.9
    hint = draw_hints(photo, 40, torch.Generator().manual_seed(2))
    ys, xs = torch.nonzero(hint[3] > 0, as_tuple=True)
    reach = MAX_RADIUS + MAX_LENGTH
    assert ys.min() >= 24 - reach and ys.max() < 40 + reach and xs.min() >= 24 - reach and xs.max() < 40 + reach


@pytest.mark.parametrize("radius,length", [(1, 0), (6, 32)])
def test_hint_size_options_bound_every_blob(radius, length):
    g = torch.Generator().manual_seed(3)
    photo = flat([0.2, -0.4, 0.6], size=128)
    areas = [int((draw_hints(photo, 1, g, max_radius=radius, max_length=length)[3] > 0).sum()) for _ in range(200)]
    # One hint is a capsule of radius <= r around a segment <= l long, and the largest drawn come near that.
    assert min(areas) >= 1 and max(areas) <= (2 * radius + 1) * (2 * radius + 1 + length)
    assert max(areas) >= 0.7 * (np.pi * radius**2 + 2 * radius * length)


def test_hint_size_is_a_run_option_saved_with_the_run(dataset):
    cfg = tiny("h", dataset, hints=4, hint_radius=6, hint_length=24)
    assert (cfg.data.hint_radius, cfg.data.hint_length) == (6, 24)
    again = type(cfg).from_dict(json.loads(cfg.to_json()))
    assert (again.data.hint_radius, again.data.hint_length) == (6, 24)
    # Runs from before the option read back with the sampler they were trained with.
    old = json.loads(cfg.to_json())
    del old["data"]["hint_radius"], old["data"]["hint_length"]
    assert (type(cfg).from_dict(old).data.hint_radius, type(cfg).from_dict(old).data.hint_length) == (MAX_RADIUS,
                                                                                                      MAX_LENGTH)


def test_recolour_turns_hinted_photos_and_their_hints_alike():
    colour = torch.tensor([0.3, -0.1, -0.3])  # a brown: no turn of it leaves [-1, 1]
    photos = flat(colour.tolist()).expand(200, 3, 64, 64).clone()
    hints = sample_hints(photos, 4, torch.Generator().manual_seed(0))
    out, out_hints, flagged = recolour(photos, hints, 0.5, torch.Generator().manual_seed(1))
    hinted = hints[:, 3].flatten(1).amax(1) > 0
    turned = (out - photos).flatten(1).abs().amax(1) > 1e-4
    assert torch.equal(flagged, turned)  # the trainer keeps exactly these from D
    assert not turned[~hinted].any()  # pairs without hints keep the photo's real colour
    assert 0.3 < turned[hinted].float().mean() < 0.7
    luma = torch.tensor([0.299, 0.587, 0.114])
    hues = set()
    for i in torch.nonzero(turned).flatten().tolist():
        new = out[i, :, 0, 0]
        assert torch.allclose(out[i], new[:, None, None].expand(3, 64, 64))
        assert abs(float(luma @ new) - float(luma @ colour)) < 1e-4  # luma kept
        mask = out_hints[i, 3] > 0
        assert torch.allclose(out_hints[i, :3, mask], new[:, None].expand(3, int(mask.sum())), atol=1e-5)
        assert (out_hints[i, :3, ~mask] == 0).all() and torch.equal(out_hints[i, 3], hints[i, 3])
        hues.add(tuple((new * 4).round().tolist()))
    assert len(hues) > 10  # random angles, not one fixed turn
    # A full turn is the identity, half a turn swaps red-ish for cyan-ish at the same luma.
    assert torch.allclose(hue_rotation(2 * np.pi), torch.eye(3), atol=1e-5)
    half = hue_rotation(np.pi) @ torch.tensor([0.8, -0.6, -0.6])
    assert half[0] < 0 and half[1] > -0.6 and half[2] > -0.6


def test_hue_turned_pairs_train_g_by_l1_and_never_reach_d(dataset, tmp_path):
    t = Trainer(tiny("r", dataset, hints=4, hint_recolour=1.0, max_steps=10), tmp_path, progress=False)
    seen = {True: 0, False: 0}
    for step in range(10):
        before = [p.detach().clone() for p in t.D.parameters()]
        g_before = [p.detach().clone() for p in t.G.parameters()]
        terms = t.train_step(step)
        d_moved = any(not torch.equal(a, b) for a, b in zip(before, t.D.parameters()))
        assert any(not torch.equal(a, b) for a, b in zip(g_before, t.G.parameters()))  # G always learns (L1)
        # Batch 1: a turned pair (every hinted one, at probability 1) is the whole batch, so D rests.
        assert d_moved == ("D_real" in terms) == ("G_gan" in terms)
        seen[d_moved] += 1
    assert seen[True] and seen[False]  # half the pairs get no hints, and only those are never turned


def test_sampler_is_deterministic_for_a_seed():
    photos = torch.rand(4, 3, 32, 32) * 2 - 1
    one = sample_hints(photos, 8, torch.Generator().manual_seed(5))
    assert torch.equal(one, sample_hints(photos, 8, torch.Generator().manual_seed(5)))
    assert not torch.equal(one, sample_hints(photos, 8, torch.Generator().manual_seed(6)))


def halves_dataset(root: Path) -> Path:
    """Pairs whose photo is red on the left and blue on the right: a mirrored hint is the wrong colour."""
    photo = np.zeros((64, 64, 3), np.uint8)
    photo[:, :32] = (220, 20, 20)
    photo[:, 32:] = (20, 20, 220)
    edges = np.full((64, 64, 3), 255, np.uint8)
    edges[:, 31:33] = 0
    (root / "train").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.concatenate([edges, photo], axis=1)).save(root / "train" / f"{i}.png")
    return root


def test_training_hints_align_with_the_cropped_flipped_target(tmp_path):
    data = halves_dataset(tmp_path / "data")
    t = Trainer(tiny("h", data, hints=20, jitter=False, max_steps=12), tmp_path / "run", progress=False)
    seen = []
    real_forward = t.G_train.forward
    t.G_train.forward = lambda x: (seen.append(x.detach().clone()), real_forward(x))[1]
    flipped, err, err_mirrored = 0, [], []
    for step in range(12):
        t.train_step(step)
        _, b = t.data.batch(t._indices(step), step_generator(t.cfg.seed, step))
        hint, mask = seen[-1][0, 3:6], seen[-1][0, 6] > 0
        flipped += int(b[0, 0, 0, 0] < 0)  # blue in the top-left corner: this pair was mirrored
        err += (hint[:, mask] - b[0][:, mask]).abs().mean(0).tolist()
        err_mirrored += (hint[:, mask] - b[0].flip(-1)[:, mask]).abs().mean(0).tolist()
    assert 0 < flipped < 12 and len(err) > 100
    # Only blobs across the red|blue border are off; against the mirrored target nearly all are.
    assert np.mean(err) < 0.2 * np.mean(err_mirrored), (np.mean(err), np.mean(err_mirrored))


def test_hint_model_builds_and_trains_with_stroke_aug(dataset, tmp_path):
    t = Trainer(tiny("h", dataset, hints=10, stroke_aug=True, log_every=1, max_steps=2), tmp_path, progress=False)
    assert t.cfg.model.generator.hints and t.G.enc1.conv.weight.shape[1] == 3 + 4
    assert t.D.layer1.conv.weight.shape[1] == 3 + 4 + 3  # D sees the same condition as G, and the image
    assert all(np.isfinite(v) for v in t.fit().values())
    assert make_config("p", str(dataset)).model.generator.condition_channels == 3  # the paper: no hints


def test_hint_runs_resume_exactly(dataset, tmp_path):
    cfg = lambda: tiny("r", dataset, hints=10, stroke_aug=True, epochs=1, log_every=1)  # noqa: E731
    a, b = resumed_and_uninterrupted_logs(cfg, tmp_path, stop_at=3)
    assert a and a == b


def test_hint_channels_survive_a_save_load_round_trip(dataset, tmp_path):
    t = Trainer(tiny("h", dataset, hints=10, max_steps=3, log_every=1), tmp_path, progress=False)
    t.fit()
    translator = models.load(tmp_path / "model")
    assert translator.accepts_hints and translator.config.generator.hints
    edges = Image.open(sorted((dataset / "val").glob("*.png"))[0]).crop((0, 0, 64, 64))
    layer = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    layer.paste((250, 10, 10, 255), (20, 20, 44, 44))
    plain = np.asarray(translator(edges, seed=1, size=64))
    hinted = np.asarray(translator(edges, hints=layer, seed=1, size=64))
    assert np.abs(plain.astype(int) - hinted).max() > 0  # the hints reach the output
    # The loaded model is the trained one: its hinted output matches the in-memory generator's (in the
    # studio's NCHW layout: the trainer's channels-last layout draws the seeded dropout masks in another order).
    x = torch.cat([models.to_tensor(edges.convert("RGB")), hint_tensor(layer, (0, 0, 64, 64), 64)], 1)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        direct = np.asarray(models.to_image(t.G.to(memory_format=torch.contiguous_format).eval()(x)))
    assert np.abs(direct.astype(int) - hinted).max() <= 1
    assert np.array_equal(hinted, np.asarray(translator(edges, hints=layer, seed=1, size=64)))


def test_a_lines_only_model_learns_hints_from_its_own_output(dataset, tmp_path):
    base = make_model(tmp_path / "base", ngf=4, num_downs=6)
    t = Trainer(tiny("h", dataset, hints=5, init_from=str(base), max_steps=1), tmp_path / "run", progress=False)
    t.init_generator()
    edges = Image.new("RGB", (64, 64), "white")
    start = models.Translator(t.G, t.cfg.model)
    assert np.array_equal(np.asarray(start(edges, seed=2, size=64)), np.asarray(models.load(base)(edges, seed=2,
                                                                                                  size=64)))
    t.export()
    with pytest.raises(ValueError, match="takes colour hints"):  # a hint model does not silently lose them
        make_config("x", str(dataset), init_from=str(tmp_path / "run" / "model"), load_size=72, crop_size=64)


def test_pooled_hints_keep_each_cells_hint_colour_and_mark_where_hints_are():
    from models.networks import pooled_hints

    hints = torch.zeros(1, 4, 8, 8)
    hints[0, :3, 1, 1], hints[0, 3, 1, 1] = torch.tensor([0.8, -0.6, 0.2]), 1.0  # one hinted pixel
    levels = pooled_hints(hints, 4)
    assert [tuple(t.shape[2:]) for t in levels] == [(8, 8), (4, 4), (2, 2), (1, 1)]
    for t in levels[1:]:  # the colour is the hint's own, not diluted by the unhinted pixels around it
        assert torch.allclose(t[0, :3, 0, 0], torch.tensor([0.8, -0.6, 0.2])) and t[0, 3, 0, 0] == 1
        assert t[0, :, 1:].abs().sum() == 0 and t[0, :, :, 1:].abs().sum() == 0


def test_hints_every_scale_reach_every_encoder_level_and_train(dataset, tmp_path):
    t = Trainer(tiny("e", dataset, hints=10, hints_every_scale=True, log_every=1, max_steps=2), tmp_path,
                progress=False)
    widths = t.G.enc_widths
    assert t.G.enc1.conv.weight.shape[1] == 3 + 4
    assert [t.G.get_submodule(f"enc{i}").conv.weight.shape[1] for i in range(2, 7)] == [w + 4 for w in widths[:-1]]
    assert all(np.isfinite(v) for v in t.fit().values())
    translator = models.load(tmp_path / "model")  # the option is in the saved config
    assert translator.config.generator.hints_every_scale
    with pytest.raises(ValueError, match="--hints N"):
        tiny("x", dataset, hints_every_scale=True)


@pytest.mark.parametrize("option, refusal", [("hints_every_scale", "every encoder level"), ("hint_fill",
                                                                                            "--hint-fill")])
def test_a_hint_model_learns_a_hint_option_from_its_own_output(dataset, tmp_path, option, refusal):
    src = Trainer(tiny("h", dataset, hints=5, max_steps=1, log_every=1), tmp_path / "src", progress=False)
    src.fit()
    t = Trainer(tiny("e", dataset, hints=5, init_from=str(tmp_path / "src" / "model"), max_steps=1, **{option: True}),
                tmp_path / "run", progress=False)
    t.init_generator()
    edges, layer = Image.new("RGB", (64, 64), "white"), Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    layer.paste((20, 200, 40, 255), (10, 10, 30, 30))
    old = models.load(tmp_path / "src" / "model")(edges, hints=layer, seed=3, size=64)
    new = models.Translator(t.G, t.cfg.model)(edges, hints=layer, seed=3, size=64)
    assert np.array_equal(np.asarray(old), np.asarray(new))  # zero weights on the new inputs: the same model
    t.export()
    with pytest.raises(ValueError, match=refusal):  # and it does not silently lose them
        make_config("x", str(dataset), init_from=str(tmp_path / "run" / "model"), hints=5, load_size=72, crop_size=64)


def test_hint_fill_keeps_each_hint_inside_the_region_drawn_around_it():
    from models.hints import fill_hints

    # A closed box drawn in black on white; one red hint inside it, one blue hint outside.
    lines = torch.ones(1, 3, 128, 128)
    lines[:, :, 30:33, 30:98] = lines[:, :, 95:98, 30:98] = -1
    lines[:, :, 30:98, 30:33] = lines[:, :, 30:98, 95:98] = -1
    hints = torch.zeros(1, 4, 128, 128)
    hints[0, :, 60:64, 60:64] = torch.tensor([1.0, -1.0, -1.0, 1.0])[:, None, None]
    hints[0, :, 5:9, 5:9] = torch.tensor([-1.0, -1.0, 1.0, 1.0])[:, None, None]
    out = fill_hints(lines, hints)
    assert out.shape == (1, 4, 128, 128)
    red, blue = torch.tensor([1.0, -1.0, -1.0]), torch.tensor([-1.0, -1.0, 1.0])
    assert torch.allclose(out[0, :3, 40:88, 40:88], red[:, None, None].expand(3, 48, 48), atol=1e-5)
    assert torch.allclose(out[0, :3, 110:, 110:], blue[:, None, None].expand(3, 18, 18), atol=1e-5)
    # Reach: 1 at a hint, falling with the path length, and much lower across a wall than beside it.
    assert out[0, 3, 61, 61] > 0.95 and out[0, 3, 90, 90] > 0.5
    # Without the blue hint the outside takes red from across the wall, and says it is far.
    hints[0, :, 5:9, 5:9] = 0
    alone = fill_hints(lines, hints)
    assert torch.allclose(alone[0, :3, 110:, 110:], red[:, None, None].expand(3, 18, 18), atol=1e-5)
    assert 0 < alone[0, 3, 102, 90] < 0.2 < 0.5 < alone[0, 3, 90, 90]
    none = fill_hints(lines, torch.zeros(1, 4, 128, 128))  # no hints: nothing is filled
    assert none.abs().sum() == 0


def test_harmonic_fill_blends_hints_between_lines_and_keeps_them_where_drawn():
    from models.hints import fill_hints

    # An open page with a wall across it: red top-left, green top-right, blue below the wall.
    lines = torch.ones(1, 3, 128, 128)
    lines[:, :, 62:65, :] = -1
    hints = torch.zeros(1, 4, 128, 128)
    red, green, blue = torch.tensor([1.0, -1.0, -1.0]), torch.tensor([-1.0, 1.0, -1.0]), torch.tensor([-1.0, -1.0, 1.0])
    for colour, (y, x) in ((red, (20, 8)), (green, (20, 112)), (blue, (100, 60))):
        hints[0, :3, y:y + 8, x:x + 8] = colour[:, None, None]
        hints[0, 3, y:y + 8, x:x + 8] = 1
    out = fill_hints(lines, hints, "harmonic")
    assert out.shape == (1, 4, 128, 128)
    assert torch.allclose(out[0, :3, 22, 10], red, atol=1e-5) and torch.allclose(out[0, :3, 102, 62], blue, atol=1e-5)
    # Across the top a gradient from red to green; the wall keeps blue out of it (and red/green out of the bottom).
    row = out[0, :3, 24, 16:112]
    assert (row[0].diff() <= 1e-5).all() and (row[1].diff() >= -1e-5).all()
    assert abs(row[0, 48] - row[1, 48]) < 0.2 and row[2].max() < -0.8
    assert out[0, 2, 110:, :].min() > 0.8
    # Reach is the nearest fill's: the same number for the same drawing and hints.
    assert torch.equal(out[:, 3:], fill_hints(lines, hints)[:, 3:])
    none = fill_hints(lines, torch.zeros(1, 4, 128, 128), "harmonic")  # no hints: nothing is filled
    assert none.abs().sum() == 0
    with pytest.raises(ValueError, match="fill mode"):
        fill_hints(lines, hints, "bucket")


def test_a_nearest_fill_model_fine_tunes_to_the_harmonic_fill(dataset, tmp_path):
    src = Trainer(tiny("n", dataset, hints=5, hint_fill=True, max_steps=1, log_every=1), tmp_path / "src",
                  progress=False)
    src.fit()
    cfg = tiny("h", dataset, hints=5, hint_fill="harmonic", init_from=str(tmp_path / "src" / "model"), max_steps=1)
    assert cfg.model.generator.hint_fill and cfg.model.generator.hint_fill_mode == "harmonic"
    t = Trainer(cfg, tmp_path / "run", progress=False)
    t.init_generator()
    assert torch.equal(t.G.enc1.conv.weight,
                       src.G.enc1.conv.weight)  # same channels, same weights: only the fill differs
    assert all(np.isfinite(v) for v in t.fit().values())
    assert models.load(tmp_path / "run" / "model").config.generator.hint_fill_mode == "harmonic"
    # Fine-tuned again with --hint-fill alone, it keeps its own mode.
    again = tiny("a", dataset, hints=5, hint_fill=True, init_from=str(tmp_path / "run" / "model"))
    assert again.model.generator.hint_fill_mode == "harmonic"
    assert tiny("b", dataset, hints=5, hint_fill=True).model.generator.hint_fill_mode == "nearest"
    with pytest.raises(ValueError, match="--hint-fill bucket"):
        tiny("x", dataset, hints=5, hint_fill="bucket")


def test_hint_fill_builds_trains_and_is_saved(dataset, tmp_path):
    t = Trainer(tiny("f", dataset, hints=10, hint_fill=True, log_every=1, max_steps=2), tmp_path, progress=False)
    assert t.G.enc1.conv.weight.shape[1] == 3 + 4 + 4  # lines, hints, filled hints
    assert all(np.isfinite(v) for v in t.fit().values())
    translator = models.load(tmp_path / "model")
    assert translator.config.generator.hint_fill and translator.accepts_hints
    with pytest.raises(ValueError, match="--hints N"):
        tiny("x", dataset, hint_fill=True)


def test_hint_layer_is_placed_like_the_padded_image():
    # A 200x100 image pads to 200x200 (50 px above and below): at 64 px its content is rows 16..47.
    layer = Image.new("RGBA", (400, 200), (0, 0, 0, 0))  # twice the image's size: stretched to it
    layer.putpixel((0, 0), (255, 0, 0, 255))
    layer.putpixel((399, 199), (0, 0, 255, 255))
    h = hint_tensor(layer, (0, 16, 64, 48), 64)[0]
    assert set(map(tuple, torch.nonzero(h[3]).tolist())) == {(16, 0), (47, 63)}
    assert h[:3, 16, 0].tolist() == [1.0, -1.0, -1.0] and h[:3, 47, 63].tolist() == [-1.0, -1.0, 1.0]
    # A 1-px brush stroke on a 1024 canvas still marks every cell it crosses at 256.
    line = Image.new("RGBA", (1024, 1024), (0, 0, 0, 0))
    line.paste((0, 200, 0, 255), (0, 500, 1024, 501))
    h = hint_tensor(line, (0, 0, 256, 256), 256)[0]
    assert h[3].sum() == 256 and h[3, 125].all()
    assert torch.allclose(h[1, 125], torch.full((256,), 200 / 127.5 - 1))
    # hints_image is the inverse at the model's size.
    back = hint_tensor(hints_image(h), (0, 0, 256, 256), 256)[0]
    assert torch.allclose(back, h, atol=1 / 127.5)


def test_translator_refuses_hints_it_cannot_use(tmp_path):
    plain = models.load(make_model(tmp_path / "plain", ngf=4, num_downs=6))
    layer = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    with pytest.raises(ValueError, match="takes no colour hints"):
        plain(Image.new("RGB", (64, 64), "white"), hints=layer, size=64)
    gen = models.GeneratorConfig(ngf=4, num_downs=6, hints=True)
    hinted = models.Translator(models.Generator(gen), models.ModelConfig(generator=gen))
    with pytest.raises(ValueError, match="RGBA"):
        hinted(Image.new("RGB", (64, 64), "white"), hints=Image.new("RGB", (64, 64)), size=64)


def test_model_folders_from_before_hints_load_unchanged(tmp_path):
    """A folder written before hints, upsampling options and palettes (no such keys) loads as the net it was."""
    folder = make_model(tmp_path / "old", ngf=4, num_downs=6)
    config = json.loads((folder / "config.json").read_text())
    for key in ("hints", "upsample", "hints_every_scale", "hint_fill", "hint_fill_mode", "palette"):
        config["generator"].pop(key)
    (folder / "config.json").write_text(json.dumps(config))
    translator = models.load(folder)
    assert not translator.accepts_hints and not translator.has_palette
    assert translator.generator.enc1.conv.weight.shape[1] == 3 and translator.config.generator.upsample == "deconv"
    edges = Image.open(EXAMPLES / "edges2cats.png")
    reference = models.Translator(models.Generator(models.GeneratorConfig(ngf=4, num_downs=6)), translator.config)
    reference.generator.load_state_dict(translator.generator.state_dict())
    assert np.array_equal(np.asarray(translator(edges, seed=3)), np.asarray(reference(edges, seed=3)))


def test_evaluate_scores_a_hint_model_with_and_without_hints(dataset, tmp_path):
    t = Trainer(tiny("h", dataset, hints=10, max_steps=1), tmp_path / "run", progress=False)
    t.fit()
    result = evaluate(tmp_path / "run" / "model", dataset, tmp_path / "eval", structure=False)
    summary = result["summary"]
    assert summary["hints"] == 10
    for key in ("L1", "PSNR", "color_intersection", "hinted_L1", "hinted_PSNR", "hinted_color_intersection"):
        assert np.isfinite(summary[key]), key
    assert summary["hinted_PSNR"] != summary["PSNR"]
    grid = Image.open(sorted((tmp_path / "eval" / "images").glob("*.png"))[0])
    assert grid.size == (5 * 256, 256)  # input | output | hints | hinted output | target
    again = evaluate(tmp_path / "run" / "model", dataset, tmp_path / "eval2", structure=False)
    assert again["summary"] == summary  # the hints are seeded
