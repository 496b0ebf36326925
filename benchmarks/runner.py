"""Run one task of a benchmark worker (:mod:`benchmarks.worker` by default) in a fresh Python process
and read its JSON result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.data import REPO_ROOT


def run_worker(
    task: dict,
    numpy_reference: bool = False,
    timeout: float = 600.0,
    fresh: bool = True,
    module: str = "benchmarks.worker",
) -> dict:
    """The worker's result, or ``{"error": ...}`` when it failed.

    ``numpy_reference=True`` runs linclass with ``LINCLASS_DISABLE_NUMBA=1`` (its NumPy path).
    ``fresh=False`` runs the task in this process instead (faster; no memory figures).
    ``module`` is the worker run as ``python -m MODULE '<task as JSON>'``; it prints its result
    as the last line of JSON.
    """
    if not fresh:
        from benchmarks import worker

        # the variable only chooses the default kernels of the objectives the task builds
        previous = os.environ.get("LINCLASS_DISABLE_NUMBA")
        os.environ["LINCLASS_DISABLE_NUMBA"] = "1" if numpy_reference else ""
        try:
            return worker.run(task, measure_memory=False)
        finally:
            if previous is None:
                del os.environ["LINCLASS_DISABLE_NUMBA"]
            else:
                os.environ["LINCLASS_DISABLE_NUMBA"] = previous
    env = dict(os.environ)
    env["LINCLASS_DISABLE_NUMBA"] = "1" if numpy_reference else ""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", module, json.dumps(task)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    return json.loads(completed.stdout.strip().splitlines()[-1])
