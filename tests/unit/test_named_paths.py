"""Every module a command runs (`python -m local_stack.aws.pump`) and every source file a text names
(`local_stack/runtime/gateway.py`) exists: a module moved without its mentions fails here, not in a
subprocess started minutes into an end-to-end test, or in a reader's hands."""
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOT_OURS = {".git", ".venv", ".cache", ".local", "build", "dist", "site", "node_modules"}
PACKAGES = "local_stack|client|console|publisher|chalicelib"
FOLDERS = "registry_app|client|console|publisher|local_stack|container|bench|deploy|distributions|tests|examples"
RUN_MODULE = re.compile(rf"-m[\s\"',]+((?:{PACKAGES})(?:\.\w+)*)")
SOURCE_PATH = re.compile(rf"(?<![\w/.-])((?:{FOLDERS})/(?:[\w-]+/)*[\w-]+\.py)\b")


def texts() -> list[Path]:
    found = []
    for folder, subfolders, names in os.walk(REPO):
        subfolders[:] = [name for name in subfolders if name not in NOT_OURS]  # never walks a venv or a cache
        found += [Path(folder, name) for name in names
                  if Path(name).suffix in (".py", ".md", ".toml", ".yaml", ".yml") or name == "Makefile"]
    return found


def runnable(module: str) -> bool:
    base = REPO / "registry_app" if module.startswith("chalicelib") else REPO
    path = base / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()


def test_every_module_a_command_runs_with_dash_m_exists():
    missing = sorted({f"{path.relative_to(REPO)}: -m {match.group(1)}" for path in texts()
                      for match in RUN_MODULE.finditer(path.read_text(errors="replace"))
                      if not runnable(match.group(1))})

    assert not missing, "python -m names a module that is not there:\n" + "\n".join(missing)


def test_every_source_file_a_text_names_exists():
    missing = sorted({f"{path.relative_to(REPO)}: {match.group(1)}" for path in texts()
                      for match in SOURCE_PATH.finditer(path.read_text(errors="replace"))
                      if not (REPO / match.group(1)).is_file()})

    assert not missing, "a text names a file that is not there:\n" + "\n".join(missing)
