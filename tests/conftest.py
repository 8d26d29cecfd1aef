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
