"""Every dependency a pyproject.toml declares is pinned in requirements.txt, at a version it accepts.

requirements.txt is the repository's lock; the root pyproject.toml and the two
distributions (distributions/*/pyproject.toml) only name what they need. A name added
to one without a pin, or a pin the specifier no longer admits, would make the wheels
tested here differ from what an application resolves.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PROJECTS = [REPO / "pyproject.toml", *sorted((REPO / "distributions").glob("*/pyproject.toml"))]
OWN = {"mme-registry", "mme-registry-client", "mme-registry-publisher"}


def pins() -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines())
    return {canonicalize_name(name): version for name, _, version in (line.partition("==") for line in lines if line)}


def declared(project: Path) -> list[Requirement]:
    table = tomllib.loads(project.read_text())["project"]
    extras = table.get("optional-dependencies", {}).values()
    return [Requirement(text) for text in [*table.get("dependencies", []), *(t for group in extras for t in group)]]


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_declared_dependency_is_pinned_at_a_version_its_specifier_admits(project):
    locked = pins()
    for requirement in declared(project):
        name = canonicalize_name(requirement.name)
        if name in OWN:
            continue
        assert name in locked, f"{project.name}: {requirement} has no pin in requirements.txt"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{project.relative_to(REPO)}: {requirement} does not admit the pinned {name}=={locked[name]}")


def test_the_publisher_requires_the_client_of_its_own_version():
    client, publisher = (tomllib.loads((REPO / "distributions" / n / "pyproject.toml").read_text())["project"]
                         for n in ("client", "publisher"))
    wanted = next(Requirement(t) for t in publisher["dependencies"] if t.startswith("mme-registry-client"))
    assert str(wanted.specifier) == f"=={client['version']}" and publisher["version"] == client["version"]
