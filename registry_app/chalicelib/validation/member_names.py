"""Rules on member names, so that what validates unpacks to the same tree everywhere.

Pure functions. `name_problems` judges one name as the walk meets it; `collisions`
judges the whole member list once at the end, by sorting it: two names that one
file system would merge (case-insensitive APFS and NTFS, Unicode-normalising HFS+
and APFS) or a file that another member needs as a folder (`extra` and `extra/y`,
which tarfile and GNU tar both fail to unpack) would make the extracted tree differ
from the member list the report shows.
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .layout_result import Failure
from .messages import shown

NAME_MAX = 255  # bytes of one path component on ext4, XFS, APFS, NTFS (UTF-16 units there)
PATH_MAX = 4095  # bytes of a whole path on Linux, without its NUL
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Cc: controls; Cf: invisible format characters such as U+202E RIGHT-TO-LEFT OVERRIDE,
# which makes `evil\u202etxt.exe` read as `evilexe.txt`; Zl, Zp: line and paragraph breaks.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class Entry(NamedTuple):
    """One file or directory of the archive, by its name without `./` (the walk's output)."""

    name: str
    size: int
    type: str  # "file" | "dir"


def hidden_character(name: str) -> str | None:
    """The first control or invisible formatting character in `name`, as U+XXXX."""
    if name.isascii():
        match = _ASCII_CONTROL.search(name)
        return f"U+{ord(match[0]):04X}" if match else None
    for char in name:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def name_problems(name: str, is_dir: bool) -> tuple[str, list[Failure]]:
    """The name without `./`, empty segments or a trailing `/`, and what is wrong with it."""
    failures = []
    hidden = hidden_character(name)
    if hidden:
        failures.append(("safety.control_chars", f"member name {shown(name)} contains the control or invisible "
                         f"formatting character {hidden}"))
    if name and not name.startswith(("/", ".")) and "/." not in name and "//" not in name and name[-1] != "/":
        normal = name  # the common case: already normal, and no '..' can hide in it
    else:
        if name.startswith("/"):
            failures.append(("safety.absolute_path", f"member {shown(name)} has an absolute path"))
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            failures.append(("safety.traversal", f"member {shown(name)} climbs out of the archive with '..'"))
        normal = "/".join(parts)
        if not normal and not (is_dir and name.rstrip("/") in ("", ".")):
            failures.append(("safety.empty_name", f"member {shown(name)} has no name once './' is removed"))
        elif not is_dir and name.split("/")[-1] == ".":
            failures.append(("safety.empty_name", f"member {shown(name)} is a file named '.': that names the folder "
                             f"{shown(normal)}, so no extractor can write it"))
    size = len(normal.encode("utf-8", "surrogateescape"))
    if size > NAME_MAX and (size > PATH_MAX or any(len(p.encode("utf-8", "surrogateescape")) > NAME_MAX
                                                   for p in normal.split("/"))):
        failures.append(("safety.name_too_long", f"member {shown(normal)} has a name longer than file systems allow "
                         f"({NAME_MAX} bytes a folder or file name, {PATH_MAX} a path): it cannot be unpacked"))
    return normal, failures


def fold(name: str) -> str:
    """The spelling a case-insensitive, normalisation-insensitive file system sees.

    Folding a whole path equals folding each segment: no character composes with '/'
    under NFC, and none case-folds into one.
    """
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def collisions(members: list[Entry]) -> list[Failure]:
    """Duplicates, names only case or Unicode normalisation tell apart, and files used as folders.

    Sorted on their folded segments, a name is followed by the names one file system would
    merge with it, then by the names under it, so comparing neighbours finds every conflict.
    """
    keyed = sorted(((fold(m.name), m) for m in members), key=lambda pair: pair[0].split("/"))
    failures = []
    for (folded_a, a), (folded_b, b) in zip(keyed, keyed[1:]):
        if a.name == b.name:
            failures.append(("safety.duplicate", f"member {shown(a.name)} appears more than once"))
        elif folded_a == folded_b or (folded_a != a.name or folded_b != b.name) and _folders_differ(a.name, b.name):
            failures.append(("safety.name_collision", f"members {shown(a.name)} and {shown(b.name)} differ only by "
                             "case or Unicode normalisation: they overwrite each other on macOS and Windows"))
        elif a.type == "file" and folded_b.startswith(folded_a + "/"):
            failures.append(("safety.file_and_directory", f"{shown(a.name)} is a file, but member {shown(b.name)} "
                             "needs it to be a folder: the archive cannot be unpacked"))
    return failures


def _folders_differ(name_a: str, name_b: str) -> bool:
    """True when the leading segments the two names share once folded are spelled differently."""
    for part_a, part_b in zip(name_a.split("/"), name_b.split("/")):
        if fold(part_a) != fold(part_b):
            return False
        if part_a != part_b:
            return True
    return False
