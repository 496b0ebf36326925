"""``python -m benchmarks.gpu`` runs on the CPU with small sizes (CI's smoke test of the GPU check)."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent


def run_check(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "benchmarks.gpu", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600)


def test_the_gpu_check_runs_on_the_cpu_and_writes_its_table(tmp_path):
    result = run_check("--device", "cpu", "--small", "--skip-tests", "--output", str(tmp_path / "gpu.md"))
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "gpu.md").read_text()
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| CIFAR") or line.startswith("| probe")]
    host = rows[4][1]
    assert host in ("linclass numba (CPU)", "linclass numpy (CPU)")
    assert [(row[0][2:], row[1]) for row in rows] == [
        ("CIFAR-10", "linclass torch"), ("CIFAR-10", "linclass torch"),
        ("CIFAR-10", "nn.Linear + torch.optim.SGD"), ("CIFAR-10", "nn.Linear + torch.optim.SGD"),
        ("CIFAR-10", host), ("CIFAR-10", host),
        ("probe", "linclass torch"), ("probe", "nn.Linear + cross_entropy"),
        ("probe", "linclass torch"), ("probe", "nn.Linear + cross_entropy"),
        ("probe", "linclass solve on the device, plain"), ("probe", "linclass solve on the device, whitened"),
        ("probe", "torch.optim.LBFGS"),
    ]
    assert all(float(row[3]) > 0 for row in rows)
    for row in rows[-3:]:  # L-BFGS: 3 iterations, their evaluations and the objective reached
        evaluations, value = re.fullmatch(r"L-BFGS, 3 iterations \((\d+) value\+grad, f = ([\d.]+)\)", row[2]).groups()
        assert int(evaluations) >= 3 and 0 < float(value) < math.log(100)  # below the start, log C
    fashion = [line.split(" | ") for line in table.splitlines() if line.startswith("| Fashion-MNIST")]
    name = host.split()[1]
    assert [row[2] for row in fashion] == ["SGD, batch 64, 1 epochs"] * 4 + ["SGD, batch 256, 1 epochs"] * 4
    assert [row[1].split(", ")[0] for row in fashion[:4]] == [
        "linclass torch (CPU)", f"linclass {name} (CPU)", f"linclass {name}", "eager torch"]
    assert fashion[1][1] == f"linclass {name} (CPU), 1.00x {name}" and fashion[2][1].startswith(f"linclass {name}, per-step")
    assert fashion[3][1].startswith("eager torch, minimal step (CPU), ")
    assert table.startswith("GPU check on CPU (torch 2.13.0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_the_gpu_check_without_a_gpu_says_so_and_exits_2(tmp_path):
    result = run_check("--output", str(tmp_path / "gpu.md"))
    assert result.returncode == 2
    assert result.stderr.startswith("python -m benchmarks.gpu: device='cuda' needs a CUDA GPU, but none is available")
    assert not (tmp_path / "gpu.md").exists()
