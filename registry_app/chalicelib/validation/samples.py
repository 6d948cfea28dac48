"""Reference samples: request bodies a version carries in `samples/` for the shadow comparison before an alias moves.

Accepted: `samples/<file>.json` directly in the folder (no subfolders), each one JSON request body, sent as
`application/json` (what the MMS container and TF Serving's REST predict take). At most MAX_SAMPLES files of
at most MAX_SAMPLE_BYTES each, MAX_SAMPLES_BYTES in all: the pass holds their bodies in memory until the ingest
copies them beside the version in S3, so the caps bound that memory. A name escaping the folder (`..`, an
absolute path) is already refused by the safety rules (member_names.py). The same caps bound the samples a
model gets through the API (`check_bodies`). Pure functions: no I/O.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .messages import count, listed, shown

FOLDER = "samples/"
EXTENSION = ".json"
CONTENT_TYPE = "application/json"
MAX_SAMPLES = 100
MAX_SAMPLE_BYTES = 256 * 1024
MAX_SAMPLES_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    name: str
    body: bytes


def is_sample(name: str) -> bool:
    return name.startswith(FOLDER)


def capture_limit(name: str) -> int:
    """One byte past the size cap, so "too large" is told apart from "exactly at the cap"."""
    return MAX_SAMPLE_BYTES + 1 if is_sample(name) and name.endswith(EXTENSION) else 0


def keeps(captured: dict[str, bytes], body: bytes) -> bool:
    """Whether a pass keeps one more captured sample: past the count or the total cap it only counts them."""
    held = [len(v) for k, v in captured.items() if is_sample(k)]
    return len(held) < MAX_SAMPLES and sum(held) + len(body) <= MAX_SAMPLES_BYTES + MAX_SAMPLE_BYTES


def check(files: list[str], sizes: dict[str, int], captured: dict[str, bytes]) -> tuple[list[Sample], list]:
    """The samples of an archive's `files` (names under samples/), in name order, and the rules they break."""
    names = sorted(name for name in files if is_sample(name))
    failures = []
    nested = [name for name in names if "/" in name[len(FOLDER):]]
    if nested:
        failures.append(("samples.nested", f"samples sit directly in {FOLDER}, not in subfolders: {listed(nested)}"))
    foreign = [name for name in names if name not in nested and not name.endswith(EXTENSION)]
    if foreign:
        failures.append(("samples.extension", f"a sample is a {EXTENSION} file (one JSON request body, sent as "
                         f"{CONTENT_TYPE}); not {listed(foreign)}"))
    wanted = [name for name in names if name not in nested and name not in foreign]
    failures += _bounds(wanted, sizes)
    samples = []
    for name in wanted:
        body = captured.get(name)
        if body is None or len(body) > MAX_SAMPLE_BYTES:
            continue  # counted or too large: said by a bound above
        if not _parses(body):
            failures.append(("samples.json", f"{shown(name)} is not one JSON document (UTF-8): a sample is a "
                             "request body as a caller would send it"))
            continue
        samples.append(Sample(name, body))
    return ([] if failures else samples), failures


def check_bodies(bodies: list[bytes]) -> list[tuple[str, str]]:
    """The rules a list of sample bodies given through the API breaks (count and sizes; each is JSON already)."""
    names = [f"sample {index + 1}" for index in range(len(bodies))]
    return _bounds(names, dict(zip(names, map(len, bodies))))


def _bounds(names: list[str], sizes: dict[str, int]) -> list[tuple[str, str]]:
    failures = []
    if len(names) > MAX_SAMPLES:
        failures.append(("samples.count", f"{count(len(names))} samples; at most {MAX_SAMPLES} are kept"))
    big = [name for name in names if sizes[name] > MAX_SAMPLE_BYTES]
    if big:
        failures.append(("samples.size", f"a sample is at most {MAX_SAMPLE_BYTES // 1024} KiB; larger: "
                         f"{listed(big)}"))
    total = sum(sizes[name] for name in names)
    if total > MAX_SAMPLES_BYTES:
        failures.append(("samples.total_size", f"the samples come to {count(total)} bytes; at most "
                         f"{MAX_SAMPLES_BYTES // 2**20} MiB in all"))
    return failures


def _parses(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return True
