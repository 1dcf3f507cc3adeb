"""The packages depend one way: keras_compat at the bottom, reference_models and conformance
above it, and conformance reaching the references through conformance/references.py only."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imported_packages(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


def test_keras_compat_imports_neither_package_above_it():
    for path in _modules("keras_compat"):
        assert not {"conformance", "reference_models"} & _imported_packages(path), path


def test_reference_models_do_not_import_the_checker():
    for path in _modules("reference_models"):
        assert "conformance" not in _imported_packages(path), path


def test_the_checker_reaches_the_references_through_one_module():
    door = ROOT / "conformance" / "references.py"
    users = [path for path in _modules("conformance") if "reference_models" in _imported_packages(path)]
    assert users == [door]


def _imported_modules(path):
    """Every module ``path`` imports, by its full name (``from a import b`` counts as ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_distribution_machinery_imports_nothing_from_the_checks():
    for path in _modules("conformance/distributed"):
        below = {name for name in _imported_modules(path)
                 if name == "conformance.checks" or name.startswith("conformance.checks.")}
        assert not below, (path, below)


def test_the_backends_machinery_imports_nothing_from_the_checks():
    for path in _modules("conformance/backends"):
        below = {name for name in _imported_modules(path)
                 if name == "conformance.checks" or name.startswith("conformance.checks.")}
        assert not below, (path, below)
