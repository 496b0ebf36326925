"""One training run in a fresh process: ``python -m benchmarks.worker '<task as JSON>'``.

Prints one JSON line: the contender's result (``time``, ``accuracy``, ...) plus memory in MiB:
``peak_rss`` (the whole process from start to end, ``resource.getrusage``), ``rss_before``
(after imports, data loading and any preparation) and ``fit_peak`` (the high-water mark during
training alone, where Linux lets a process reset it through ``/proc/self/clear_refs``;
otherwise the whole-process peak).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
from pathlib import Path

from benchmarks import competitors, data

REPEAT_BELOW_SECONDS = 5.0


def _status_kib(field: str) -> float | None:
    status = Path("/proc/self/status")
    if not status.is_file():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _max_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(task: dict, measure_memory: bool = True) -> dict:
    """Run ``task``: a speed measurement (``kind="speed"``) or a training run (the default).

    A training run loads the data, trains the contender named in ``task``, and measures time,
    accuracy and memory. Without ``measure_memory`` (a run inside a shared process) the memory
    figures are None.
    """
    if task.get("kind") == "speed":
        module = importlib.import_module(f"benchmarks.{task.get('module', 'speed')}")
        return getattr(module, task["function"])(**task["args"])
    if task["contender"] in ("sklearn_logistic", "sklearn_sgd"):
        import sklearn.linear_model  # noqa: F401  (imports outside the measured window)
    elif task["contender"] == "torch":
        import torch  # noqa: F401
    arrays = data.load(task["dataset"], quick=task.get("quick", False))
    if task.get("rows"):
        X_train, y_train, X_test, y_test = arrays
        arrays = (X_train[: task["rows"]], y_train[: task["rows"]], X_test, y_test)
    warmup = None
    if task["contender"] == "linclass":
        settings = competitors.linclass_settings(task["dataset"], task["loss"], **task.get("settings", {}))
        warmup = competitors.warm_up_linclass(arrays, settings)
        fit = lambda: competitors.fit_linclass(arrays, settings)  # noqa: E731
    elif task["contender"] == "linclass_loop":
        settings = competitors.linclass_settings(task["dataset"], task["loss"], **task.get("settings", {}))
        fit = competitors.loop_fitter(arrays, settings)
    elif task["contender"] == "sklearn_logistic":
        fit = lambda: competitors.fit_sklearn_logistic(arrays, **task.get("settings", {}))  # noqa: E731
    elif task["contender"] == "sklearn_sgd":
        fit = lambda: competitors.fit_sklearn_sgd(arrays, **task.get("settings", {}))  # noqa: E731
    elif task["contender"] == "torch":
        fit = lambda: competitors.fit_torch(arrays, task["loss"], **task.get("settings", {}))  # noqa: E731
    elif task["contender"] == "numpy_loop":
        fit = lambda: competitors.fit_numpy_loop(arrays, task["loss"], **task.get("settings", {}))  # noqa: E731
    else:
        raise ValueError(f"contender {task['contender']!r} is not known")
    rss_before = (_status_kib("VmRSS") or 0.0) / 1024
    # Resetting the high-water mark also resets ru_maxrss, so keep the peak reached so far.
    peak_before = _max_rss_mib()
    resettable = measure_memory and _reset_peak()
    result = fit()
    # Short runs are repeated (same seed, same result) and timed by their best run, which
    # filters out moments when other processes hold the cores.
    for _ in range(task.get("repeats", 3) - 1):
        if result["time"] > REPEAT_BELOW_SECONDS:
            break
        result["time"] = min(result["time"], fit()["time"])
    high_water = _status_kib("VmHWM")
    result.update(
        warmup=warmup,
        peak_rss=max(peak_before, _max_rss_mib()) if measure_memory else None,
        rss_before=rss_before if measure_memory else None,
        fit_peak=(high_water / 1024 if resettable and high_water else _max_rss_mib())
        if measure_memory
        else None,
        dataset_bytes=int(sum(a.nbytes for a in (arrays[0], arrays[2]))),
        n_train=int(arrays[0].shape[0]),
    )
    return result


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
