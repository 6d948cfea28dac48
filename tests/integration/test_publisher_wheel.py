"""mme-registry-publisher's wheel: only mme_registry.publisher, its command, and the client it needs.

Installing it takes sagemaker-core with numpy, pandas and scipy (425 MB), too heavy for
every run; what can go wrong in the packaging shows in the wheel itself: a file the
client wheel also ships (two owners: uninstalling one breaks the other), a generic
top-level name, or a command that points nowhere.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheels")
    for name in ("client", "publisher"):
        subprocess.run([sys.executable, str(REPO / "distributions" / "build.py"), name, "--out", str(out)], check=True)
    return {name: zipfile.ZipFile(next(out.glob(f"mme_registry_{name}-*.whl"))) for name in ("client", "publisher")}


def code_files(wheel: zipfile.ZipFile) -> set[str]:
    return {name for name in wheel.namelist() if ".dist-info/" not in name}


def test_the_publisher_wheel_ships_only_mme_registry_publisher_and_nothing_the_client_ships(wheels):
    publisher, client = code_files(wheels["publisher"]), code_files(wheels["client"])
    assert publisher and all(name.startswith("mme_registry/publisher/") for name in publisher)
    assert not publisher & client


def test_the_publisher_command_and_the_client_it_requires_are_declared(wheels):
    wheel = wheels["publisher"]
    info = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    requires = Parser().parsestr(wheel.read(info).decode()).get_all("Requires-Dist")
    entry_points = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "mme-registry-client==0.1.0" in requires
    assert "mme-registry-publisher = mme_registry.publisher.cli:main" in entry_points
    assert "mme_registry/publisher/cli.py" in wheel.namelist()
