"""``import linclass`` and training need NumPy alone; every other dependency is optional."""

import subprocess
import sys
import textwrap

OPTIONAL = ["sklearn", "scipy", "numba", "tqdm", "matplotlib", "PIL", "torch", "threadpoolctl", "pandas"]


def test_library_trains_saves_and_predicts_with_numpy_alone(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        for name in {OPTIONAL!r}:
            sys.modules[name] = None  # any import of it now raises ImportError
        import numpy as np
        import linclass
        from linclass.kernels import default_kernels
        rng = np.random.default_rng(0)
        X = np.concatenate([rng.normal(-2, 1, (100, 3)), rng.normal(2, 1, (100, 3))])
        y = np.array(["neg"] * 100 + ["pos"] * 100)
        for loss in ("softmax", "svm"):
            clf = linclass.LinearClassifier(loss=loss, random_state=0).fit(X, y)
            assert clf.score(X, y) > 0.95, clf.score(X, y)
            assert np.allclose(clf.predict_proba(X).sum(axis=1), 1.0)
        clf.save({str(tmp_path / "m.npz")!r})
        assert (linclass.load({str(tmp_path / "m.npz")!r}).predict(X) == clf.predict(X)).all()
        print(clf.objective_.kernels.name, type(clf).__mro__[-2].__module__)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numpy", "linclass.estimator._compat"]


def test_asking_for_a_device_without_torch_names_what_is_missing():
    script = textwrap.dedent(
        f"""
        import sys
        for name in {OPTIONAL!r}:
            sys.modules[name] = None
        import numpy as np
        import linclass
        X, y = np.eye(4), np.array([0, 1, 0, 1])
        for options in ({{"device": "cuda"}}, {{"backend": "torch"}}):
            try:
                linclass.LinearClassifier(**options).fit(X, y)
            except ImportError as exc:
                print(exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{what} needs PyTorch, which is not installed; install it (pip install torch) or train on the CPU "
        "without it (device=None)"
        for what in ("device='cuda'", "backend='torch'")
    ]
