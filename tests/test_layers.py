"""The package's layers (docs/architecture.md): lower layers never import higher ones, and the
core needs none of the heavy optional dependencies at import time."""

import ast
import subprocess
import sys
from pathlib import Path

import linclass

PACKAGE = Path(linclass.__file__).parent

# Rank of every top-level module or subpackage: a module may import modules of its own rank or lower.
RANKS = {
    "__version__": 0, "_validation": 0, "_devices": 0, "_arrays": 0, "registry": 0, "limits": 0, "atomic": 0, "progress": 0,
    "preprocess": 1, "losses": 1, "penalties": 1, "model": 1, "metrics": 1, "splits": 1, "io": 1, "schema": 1,
    "calibration": 1,
    "datasets": 2, "kernels": 2, "features": 2,
    "objective": 3,
    "gradcheck": 4, "optim": 4,
    "train": 5,
    "estimator": 6, "hyperparameters": 6,
    "viz": 7,
    "app": 8,
    "cli": 9, "__main__": 9,
}  # fmt: skip
CORE = [
    name
    for name, rank in RANKS.items()
    if rank <= 5 and ((PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file())
]
HEAVY = ["matplotlib", "scipy", "sklearn", "torch", "dask", "PIL", "pandas"]
# The estimators subclass scikit-learn's base classes when it is installed (the estimator
# contract), which loads scikit-learn and what it needs; nothing else heavy.
ESTIMATOR_HEAVY = ["matplotlib", "torch", "dask", "PIL"]


def _module_parts(path: Path) -> list[str]:
    parts = ["linclass", *path.relative_to(PACKAGE).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at module level or inside functions (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    parts = _module_parts(path)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = parts if path.name == "__init__.py" else parts[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found += [f"{base}.{alias.name}" for alias in node.names] if base == "linclass" else [base]
    return found


def _library_files() -> list[Path]:
    """The package's modules, without pytest's conftest (the doctests' fixture, loaded only by pytest)."""
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "conftest.py")


def test_every_module_has_a_layer():
    layers = {_module_parts(path)[1] for path in _library_files() if _module_parts(path) != ["linclass"]}
    assert layers <= set(RANKS), sorted(layers - set(RANKS))


def test_lower_layers_never_import_higher_ones():
    violations = []
    for path in _library_files():
        parts = _module_parts(path)
        if parts == ["linclass"]:  # the package's front door imports the estimators
            continue
        for module in _imports(path):
            target = module.split(".")
            if target[0] == "linclass" and len(target) > 1 and RANKS[target[1]] > RANKS[parts[1]]:
                violations.append(f"{'.'.join(parts)} imports {module}")
    assert violations == []


def _loaded_after_importing(modules: list[str], watched: list[str]) -> list[str]:
    code = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    __import__(name)\n"
        f"print(sorted(name for name in {watched!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.split("\n")[0]


def test_the_core_imports_no_heavy_dependency():
    assert "kernels" in CORE and "train" in CORE
    assert _loaded_after_importing([f"linclass.{name}" for name in CORE], HEAVY) == "[]"
    assert _loaded_after_importing(["linclass", "linclass.estimator"], ESTIMATOR_HEAVY) == "[]"
