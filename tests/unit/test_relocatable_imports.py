"""The code the wheels ship imports its own package relatively, so it works under any name.

client/, publisher/ and chalicelib/validation/ are `client`, `publisher` and
`chalicelib.validation` in the repository but `mme_registry.client`, ... once installed
(distributions/). An absolute `from client.x import` passes every in-repository test
and breaks only the installed command; this names the line at once. The one module
of each that reaches the registry's code (registry_code.py) chooses by its own name.
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    "client": ("client", "chalicelib"),
    "publisher": ("publisher", "chalicelib"),
    "registry_app/chalicelib/validation": ("chalicelib",),
    "registry_app/chalicelib/outbox": ("chalicelib",),
}
LIB = REPO / "registry_app" / "chalicelib"
PREFIX = "mme_registry.registry."
CHOOSERS = {"registry_code.py"}


def shipped_registry_modules() -> list[Path]:
    """The chalicelib modules the client wheel ships one by one (its `py-modules`)."""
    config = tomllib.loads((REPO / "distributions" / "client" / "pyproject.toml").read_text())
    names = config["tool"]["setuptools"]["py-modules"]
    return [LIB.joinpath(*name.removeprefix(PREFIX).split(".")).with_suffix(".py") for name in names]


def _dotted(path: Path) -> list[str]:
    """A chalicelib module's name, as parts relative to chalicelib."""
    return list(path.relative_to(LIB).with_suffix("").parts)


def absolute_imports_of(path: Path, packages: tuple[str, ...]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                 else [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
        found += [f"{path.relative_to(REPO)}:{node.lineno} imports {name}"
                  for name in names if name.split(".")[0] in packages]
    return found


@pytest.mark.parametrize("folder", sorted(SHIPPED))
def test_shipped_modules_import_their_own_package_relatively(folder):
    offending = [line for path in sorted((REPO / folder).glob("*.py")) if path.name not in CHOOSERS
                 for line in absolute_imports_of(path, SHIPPED[folder])]
    assert not offending, "use a relative import (from .x import ...):\n" + "\n".join(offending)


def test_the_registry_modules_the_client_wheel_ships_import_each_other_relatively():
    modules = shipped_registry_modules()
    assert all(path.is_file() for path in modules), modules
    offending = [line for path in modules for line in absolute_imports_of(path, ("chalicelib",))]
    assert not offending, "use a relative import (from .x import ...):\n" + "\n".join(offending)


def test_the_registry_modules_the_client_wheel_ships_need_no_module_it_leaves_out():
    modules = shipped_registry_modules()
    config = tomllib.loads((REPO / "distributions" / "client" / "pyproject.toml").read_text())
    packages = [name.removeprefix(PREFIX).split(".") for name in config["tool"]["setuptools"]["packages"]
                if name.startswith(PREFIX)]
    shipped = {tuple(_dotted(path)) for path in modules}

    def ships(target: list[str]) -> bool:
        is_package = (LIB.joinpath(*target) / "__init__.py").exists()
        return (tuple(target) in shipped or any(target[:len(p)] == p for p in packages)
                or (is_package and any(m[:len(target)] == tuple(target) for m in shipped)))

    needed = set()
    for path in modules:
        here = _dotted(path)[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level >= 1):
                continue
            base = here[:len(here) - (node.level - 1)]
            targets = ([base + node.module.split(".")] if node.module
                       else [base + [alias.name] for alias in node.names])
            for target in targets:
                if (LIB.joinpath(*target).with_suffix(".py").exists() or (LIB.joinpath(*target) / "__init__.py").exists()) \
                        and not ships(target):
                    needed.add(f"{path.relative_to(LIB)} needs {'.'.join(target)}")
    assert not needed, "add them to py-modules in distributions/client/pyproject.toml:\n" + "\n".join(sorted(needed))
