import os

import pytest
import torch

# Two cores: keep each test process from oversubscribing them.
torch.set_num_threads(int(os.environ.get("TEST_THREADS", "2")))

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets")


@pytest.fixture(scope="session")
def shared_datasets():
    """Path of ../shared/datasets, or skip when this checkout has none beside it."""
    path = os.path.abspath(SHARED)
    if not os.path.isdir(path):
        pytest.skip("../shared/datasets is not beside this checkout")
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Tiny edges|photo pairs (6 train, 2 val, 64 px); a module that needs other sizes defines its own."""
    from helpers import make_dataset

    return make_dataset(tmp_path_factory.mktemp("pairs"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A models folder with two random-weight ngf=4 models: edges2cats (edges) and facades (labels)."""
    import models

    root = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    for name, kind, pad in (("edges2cats", "edges", (255, 255, 255)), ("facades", "labels", (0, 0, 170))):
        gen = models.GeneratorConfig(ngf=4)
        config = models.ModelConfig(name=name, generator=gen, input_kind=kind, pad_color=pad,
                                    training={"data": "random weights (test)"}, metrics={"fid": 0.0})
        models.save_model(root / name, models.Generator(gen), config)
    return root
