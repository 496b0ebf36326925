"""``linclass train`` on a Dask cluster: ``--scheduler ADDRESS`` and ``--workers N``."""

import json

import numpy as np
import pytest

import linclass
from linclass.cli import main

TRAIN = ["train", "--optimizer", "gd", "--lr", "0.5", "--epochs", "3", "--dtype", "float64", "--json"]


@pytest.mark.parametrize("where", ["--scheduler", "--workers"])
def test_train_on_a_cluster_gives_the_one_machine_model(where, request, tmp_path, capsys):
    # a running scheduler (the tests' shared cluster), or a local cluster of the command's own
    value = request.getfixturevalue("dask_client").scheduler.address if where == "--scheduler" else "1"
    assert main([*TRAIN, where, value, "--out", str(tmp_path / "cluster.npz")]) == 0
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
    assert capsys.readouterr().err == "linclass train: error: --scheduler: not allowed with --workers\n"

