"""Time budgets for reference solvers: stop scikit-learn's L-BFGS from outside, one thread.

scikit-learn's ``LogisticRegression(lbfgs)`` calls ``scipy.optimize.minimize``;
:func:`scipy_deadline` wraps that call so every iteration appends ``(t, value)`` to a trace
and, once ``t`` passes the budget, the run stops at its next iteration (and every later call
after its first), leaving a lower bound on the time the reference needs. ``t`` is wall time, or process
CPU time with ``clock=time.process_time`` — the measure for a long single-threaded reference
run beside other jobs, since CPU time is not inflated by load.
"""

from __future__ import annotations

import contextlib
import time
import warnings


@contextlib.contextmanager
def scipy_deadline(seconds: float, trace: list | None = None, clock=time.perf_counter):
    """Every ``scipy.optimize.minimize`` iteration appends ``(t, value)`` to ``trace``; past
    ``seconds`` of ``clock`` from now each call stops at its next iteration. Yields ``[stopped?]``."""
    import scipy.optimize

    original, start, stopped = scipy.optimize.minimize, clock(), [False]

    def minimize(*args, **kwargs):
        theirs = kwargs.pop("callback", None)

        def callback(intermediate_result):
            elapsed = clock() - start
            if trace is not None:
                trace.append((elapsed, float(intermediate_result.fun)))
            if elapsed > seconds:
                stopped[0] = True
                raise StopIteration
            if theirs is not None:
                return theirs(intermediate_result.x)  # scikit-learn's own callback takes the point

        return original(*args, callback=callback, **kwargs)

    scipy.optimize.minimize = minimize
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield stopped
    finally:
        scipy.optimize.minimize = original


@contextlib.contextmanager
def one_thread():
    """BLAS and OpenMP limited to one thread (a reference whose budget is in CPU seconds)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
