"""DistributedDataParallel through torchrun, on CPU with the gloo backend (CUDA uses NCCL the same way)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_dataset

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path):
    data = make_dataset(tmp_path / "data", n_train=4, n_val=1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "training",
           "train", "--data", str(data), "--name", "ddp", "--runs", str(tmp_path), "--ngf", "4", "--ndf", "4",
           "--device", "cpu", "--epochs", "2", "--log-every", "1", "--save-every", "2"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    # 4 pairs, batch 1 per process, 2 processes: 2 steps per epoch, one log line per step from rank 0 only.
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    config = json.loads((tmp_path / "ddp" / "model" / "config.json").read_text())
    assert config["training"]["batch_size"] == 2 and "x2" in config["training"]["device"]
