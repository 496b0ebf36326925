"""Benchmarks of linclass against scikit-learn, PyTorch and NumPy on real data.

Run from the repository root::

    python -m benchmarks                # everything, a few minutes on 2 cores
    python -m benchmarks --quick        # smaller data and budgets, well under a minute
    python -m benchmarks --only batch,epoch

Every training run happens in a fresh subprocess (:mod:`benchmarks.worker`), so its peak
resident memory (``resource.getrusage``) is its own. Results are printed and written to
``benchmarks/results/latest.md`` with PNG charts beside it.
"""
