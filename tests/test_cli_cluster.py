"""``linclass train`` on a Dask cluster: ``--scheduler ADDRESS`` and ``--workers N``."""

import json

import numpy as np
import pytest

import linclass
from linclass.cli import main

TRAIN = ["train", "--optimizer", "lbfgs", "--epochs", "5", "--dtype", "float64", "--json"]


def test_train_on_a_running_scheduler_gives_the_one_machine_model(dask_client, tmp_path, capsys):
    address = dask_client.scheduler.address
    assert main([*TRAIN, "--scheduler", address, "--out", str(tmp_path / "cluster.npz")]) == 0
    there = json.loads(capsys.readouterr().out)
    assert main([*TRAIN, "--out", str(tmp_path / "here.npz")]) == 0
    here = json.loads(capsys.readouterr().out)
    assert there["accuracy"] == pytest.approx(here["accuracy"], abs=1e-9)
    cluster_model, local_model = linclass.load(tmp_path / "cluster.npz"), linclass.load(tmp_path / "here.npz")
    scale = np.abs(local_model.coef_).max()
    np.testing.assert_allclose(cluster_model.coef_, local_model.coef_, rtol=0, atol=1e-10 * scale)


def test_cluster_options_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--workers", "0", "--out", str(tmp_path / "m.npz")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith("linclass train: error: --workers must be >= 1, got 0")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err

