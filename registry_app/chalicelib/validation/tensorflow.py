"""TensorFlow Serving layout rules: `<version>/saved_model.pb` and `<version>/variables/…`
at the archive root, which is what TF Serving on a multi-model endpoint reads."""
from __future__ import annotations

import re

from .layout_result import PACK_HINT, LayoutResult
from .tar_walk import Entry

_VERSION_DIR = re.compile(r"[0-9]+", re.ASCII)


def has_saved_model(files: dict[str, Entry]) -> bool:
    return any(name.rsplit("/", 1)[-1] == "saved_model.pb" for name in files)


def check(files: dict[str, Entry]) -> LayoutResult:
    result = LayoutResult(layout="tensorflow")
    fail = result.failures.append
    versions = set()
    for name in sorted(files):
        parts = name.split("/")
        if parts[-1] != "saved_model.pb":
            continue
        if len(parts) == 2 and _VERSION_DIR.fullmatch(parts[0]):
            versions.add(parts[0])
        elif len(parts) > 2 and _VERSION_DIR.fullmatch(parts[-2]):
            fail(("tensorflow.nested_folder", f"{name} is wrapped in folder '{'/'.join(parts[:-2])}/': TF Serving on a "
                  f"multi-model endpoint needs <version>/saved_model.pb at the archive root; {PACK_HINT}"))
        else:
            fail(("tensorflow.no_version_folder", f"{name} is not inside a numeric version folder: TF Serving needs "
                  "<version>/saved_model.pb at the archive root, e.g. 1/saved_model.pb"))
    if result.failures:
        return result
    for name in sorted(files):
        top = name.split("/", 1)[0]
        if "/" in name and _VERSION_DIR.fullmatch(top) and top not in versions:
            fail(("tensorflow.version_incomplete", f"version folder '{top}/' has no saved_model.pb"))
            versions.add(top)  # one failure per folder
        elif top not in versions and not name.startswith("code/"):
            fail(("tensorflow.unexpected_file", f"{name} is outside the version folders: TF Serving reads only "
                  "<version>/… (and code/ for inference scripts)"))
    return result
