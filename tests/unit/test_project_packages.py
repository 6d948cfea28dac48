"""The root project lists every package of the repository's code.

setuptools' editable install finds a sub-package that `packages` omits (it maps whole directories), so
`make test` cannot notice the omission; a regular install (`pip install .`, a wheel) silently leaves the
package out and the first import of it fails on the installed side only.
"""
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_directory_is_listed_in_the_root_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {name: REPO / path for name, path in config.get("package-dir", {}).items()}
    listed = set(config["packages"])
    found = set()
    for top in {name.split(".")[0] for name in listed}:
        base = roots.get(top, REPO / top)
        for init in base.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            relative = init.parent.relative_to(base).parts
            found.add(".".join((top, *relative)))
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"
