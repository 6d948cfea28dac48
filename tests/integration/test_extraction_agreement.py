"""What the validator accepts, tarfile (with the `data` filter), GNU tar and the local runtime
gateway's extractor unpack to the very tree the report lists: the same files with the same
sizes, the same folders, nothing else.

Runs GNU `tar -x` as a process, hence not a unit test. Names come from a small alphabet
chosen to hit the cases where extractors disagree: '.', '..', empty segments, a trailing
'/', case and Unicode-normalisation twins, look-alike letters, invisible characters.
"""
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from chalicelib.validation import validate_stream
from hostile_tarballs import entry, gz, mxnet_files
from local_stack.runtime.model_cache import extract_safely

pytestmark = pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")

# Valid alone, colliding in pairs: a/A, é NFC/NFD, k/KELVIN SIGN; Cyrillic а is another letter.
TAME = ["a", "b", "x.txt", "A", "\u00e9", "e\u0301", "k", "\u212a", "\u0430", "L" * 120]  # L…: a GNU long name
ODD = [".", "..", "", "\u202e", "a\x01"]  # dots, an empty segment, invisible and control characters
tame_name = st.builds(
    lambda lead, parts: lead + "/".join(parts), st.sampled_from(["", "./"]), st.lists(st.sampled_from(TAME), min_size=1, max_size=3)
)
odd_name = st.builds(
    lambda lead, parts, trail: lead + "/".join(parts) + trail,
    st.sampled_from(["", "./", "/"]),
    st.lists(st.sampled_from(TAME + ODD), min_size=1, max_size=3),
    st.sampled_from(["", "/"]),
)
member = st.tuples(
    st.sampled_from(["tame"] * 5 + ["odd"]).flatmap(lambda how: tame_name if how == "tame" else odd_name),
    st.sampled_from(["file"] * 8 + ["dir"] * 3 + ["symlink", "hardlink"]),
    st.binary(max_size=3),
    st.booleans(),  # carry the name in a pax `path` record
)


def build(members, fmt) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8") as tar:
        for base_name, data in mxnet_files(params_size=64).items():
            tar.addfile(entry(base_name, data), io.BytesIO(data))
        for member_name, kind, data, via_pax in members:
            pax = {"path": member_name} if via_pax and fmt == tarfile.PAX_FORMAT else {}
            if kind == "file":
                info = entry(member_name, data, pax_headers=pax)
            elif kind == "dir":
                info = entry(member_name, kind=tarfile.DIRTYPE, mode=0o755, pax_headers=pax)
            else:
                link = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info = entry(member_name, kind=link, linkname="synset.txt", pax_headers=pax)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return gz(out.getvalue())


def tree(root: str) -> set[tuple[str, str, int]]:
    """Every folder and file under `root`, by its path relative to it."""
    found = set()
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        for d in dirs:
            found.add((os.path.normpath(os.path.join(rel, d)), "dir", 0))
        for f in files:
            found.add((os.path.normpath(os.path.join(rel, f)), "file", os.path.getsize(os.path.join(folder, f))))
    return found


def reported_tree(report) -> set[tuple[str, str, int]]:
    """The report's members plus the folders that hold them, which extraction creates too."""
    found = {(m.name, m.type, m.size) for m in report.members}
    for m in report.members:
        parts = m.name.split("/")
        found |= {("/".join(parts[:i]), "dir", 0) for i in range(1, len(parts))}
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.lists(member, max_size=4), fmt=st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT]))
def test_what_validates_is_what_tarfile_and_gnu_tar_extract(members, fmt):
    # GIVEN a model tarball with a few extra members of awkward names and types
    try:
        archive = build(members, fmt)
    except (ValueError, UnicodeError):  # a name the format cannot hold: nothing to validate
        assume(False)

    # WHEN the validator accepts it
    report = validate_stream(io.BytesIO(archive))
    event("accepted" if report.valid else "rejected")
    if not report.valid:
        return

    # THEN both extractors produce exactly the tree the report lists
    expected = reported_tree(report)
    with tempfile.TemporaryDirectory() as by_tarfile, tempfile.TemporaryDirectory() as by_gnu_tar, \
            tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(by_tarfile, filter="data")
        done = subprocess.run(["tar", "--no-same-owner", "-xzf", "-", "-C", by_gnu_tar], input=archive,
                              capture_output=True)
        assert done.returncode == 0, done.stderr
        tarball, by_gateway = Path(scratch) / "model.tar.gz", Path(scratch) / "model"
        tarball.write_bytes(archive)
        extract_safely(tarball, by_gateway)
        assert tree(by_tarfile) == expected
        assert tree(by_gnu_tar) == expected
        assert tree(str(by_gateway)) == expected


def test_the_generator_reaches_accepted_archives_with_extra_members():
    """Guards the property above against passing vacuously: awkward but valid members get through."""
    members = [("./A/\u00e9/x.txt", "file", b"ab", True), ("b/", "dir", b"", False), ("L" * 120 + "/a", "file", b"", False)]

    report = validate_stream(io.BytesIO(build(members, tarfile.PAX_FORMAT)))

    assert report.valid, report.failures
    assert {"A/\u00e9/x.txt", "b", "L" * 120 + "/a"} <= {m.name for m in report.members}
