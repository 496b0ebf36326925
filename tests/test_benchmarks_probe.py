"""The probe benchmark's helpers: budgets in CPU time, the first point within the gap, the tables."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's benchmarks package

from benchmarks import probe, probe_report  # noqa: E402
from benchmarks.budget import scipy_deadline  # noqa: E402


def test_scipy_deadline_stops_minimize_by_the_given_clock_and_traces_every_iteration():
    import scipy.optimize
    from scipy.optimize import rosen, rosen_der

    def minimize(*args, **kwargs):  # looked up when called, as scikit-learn does
        return scipy.optimize.minimize(*args, **kwargs)

    ticks = iter(range(1000))
    trace: list = []
    with scipy_deadline(5, trace, clock=lambda: next(ticks)) as stopped:
        result = minimize(rosen, np.zeros(8), jac=rosen_der, method="L-BFGS-B")
    # clock: 0 at the start, then 1, 2, ... at each iteration; past 5 the run stops
    assert stopped == [True] and [t for t, _ in trace] == [1, 2, 3, 4, 5, 6]
    assert result.nit == 6 and trace[-1][1] == pytest.approx(result.fun)
    with scipy_deadline(1e9, clock=time.process_time) as stopped:
        result = minimize(rosen, np.zeros(8), jac=rosen_der, method="L-BFGS-B")
    assert stopped == [False] and result.success and result.fun < 1e-8


def test_first_within_finds_the_first_point_below_the_target_by_bisection():
    points = [(float(k), 10.0 * k, (np.array([5.0 - k]),)) for k in range(6)]  # values 5, 4, ..., 0
    calls = []

    def value_at(params):
        calls.append(float(params[0][0]))
        return float(params[0][0])

    assert probe._first_within(points, value_at, 2.5) == (3.0, 30.0, 4)
    assert len(calls) <= 3  # log2(6) evaluations, not 6
    assert probe._first_within(points, value_at, -1.0) is None


def test_targets_are_judged_on_cpu_seconds_with_lower_bounds_for_stopped_references():
    row = {"to 1e-6": (4.0, 8.0)}
    results = {
        "one C": {"rows": [row, row], "sklearn_seconds": 400.0, "sklearn_stopped": False, "sklearn_reached": False},
        "cross-validation": {"ours": {"float64": {"C": 0.0464, "cpu_seconds": 10.0},
                                      "float32": {"C": 0.1, "cpu_seconds": 5.0}},
                             "theirs": {"C": 0.0464, "cpu_seconds": 250.0, "stopped": False}},
        "CLIP probe": {"ours": {"wall": 150.0, "cpu_seconds": 200.0},
                       "theirs": {"cpu_seconds": 3000.0, "stopped": True}},
    }
    one, cv, clip = probe_report.probe_targets(results)
    assert one[2:] == ["50.0x (CPU s)", True]
    assert cv[2:] == ["C 0.0464 vs 0.0464; 25.0x (CPU s)", True]
    assert clip[2:] == ["150 s; ≥ 15.0x (CPU s)", False]


def test_every_contender_runs_on_one_thread_inside_the_suite_and_the_counts_come_back_after():
    torch = pytest.importorskip("torch")
    from linclass.kernels.threads import num_threads

    before = (torch.get_num_threads(), num_threads())
    with probe.one_thread_each():
        assert (torch.get_num_threads(), num_threads()) == (1, 1)
    assert (torch.get_num_threads(), num_threads()) == before
