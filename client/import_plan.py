"""What an import will do, before anything moves: the tarballs under a prefix, the model each key names,
their order, and where each is staged. Pure rules but for the listing, so they are tested without AWS.

Naming (docs/guides/importing.md): by default the drop folder's own rule applied to the key's part after
the prefix (`fraud_v3.tar.gz` is the model `fraud`; `team/fraud.tar.gz` is `team/fraud`); with
`--name-pattern`, the pattern's `name` group. A key that gives no valid model name is reported, not guessed.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable

SUFFIX = ".tar.gz"

@dataclass(frozen=True)
class SourceObject:
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class Planned:
    """One object under the prefix and the model it becomes (or why its name is not one)."""

    source: SourceObject
    relative: str
    name: str | None
    name_error: str | None = None


# naming ------------------------------------------------------------------------
def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix/` → (bucket, prefix); the prefix may be empty (the whole bucket)."""
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise ValueError(f"{url!r} is not an S3 URL: expected s3://bucket/prefix/")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix


def name_pattern(text: str) -> re.Pattern:
    """`--name-pattern`: a regular expression with a group named `name`, fullmatched against the key's
    part after the prefix."""
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise ValueError(f"--name-pattern {text!r} is not a regular expression: {error}") from None
    if "name" not in pattern.groupindex:
        raise ValueError(f"--name-pattern {text!r} has no group named 'name', e.g. (?P<name>[^/]+)/model\\.tar\\.gz")
    return pattern


def derive_name(relative: str, pattern: re.Pattern | None = None) -> str:
    """The model a key (its part after the prefix) becomes; InvalidInput when it gives no valid model name.

    By default the drop folder's rule: the path without `.tar.gz` and without a trailing `_v<N>`
    (`fraud_v3.tar.gz` → `fraud`, `team/fraud.tar.gz` → `team/fraud`). With a pattern: its `name` group.
    """
    from .registry_code import InvalidInput, parse_incoming_key, validate_model_name

    if pattern is None:
        return parse_incoming_key(relative, "").model
    match = pattern.fullmatch(relative)
    if match is None or not match["name"]:
        raise InvalidInput(f"{relative!r} does not match --name-pattern {pattern.pattern!r}")
    return validate_model_name(match["name"])


def natural_key(key: str) -> list:
    """Keys in the order people number files: `fraud_v2` before `fraud_v10`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", key)]


def plan(objects: Iterable[SourceObject], prefix: str, pattern: re.Pattern | None = None) -> list[Planned]:
    """Every `.tar.gz` with its model name (or the rule its name breaks), in natural key order."""
    from .registry_code import InvalidInput

    planned = []
    for obj in sorted((o for o in objects if o.key.endswith(SUFFIX)), key=lambda o: natural_key(o.key)):
        relative = obj.key[len(prefix):]
        try:
            planned.append(Planned(obj, relative, derive_name(relative, pattern)))
        except InvalidInput as error:
            planned.append(Planned(obj, relative, None, error.message))
    return planned


def by_model(planned: list[Planned]) -> dict[str, list[Planned]]:
    """The named objects grouped by model, each group in key order, groups in order of their first key."""
    groups: dict[str, list[Planned]] = {}
    for item in planned:
        if item.name is not None:
            groups.setdefault(item.name, []).append(item)
    return groups


def staging_key(staging_prefix: str, bucket: str, obj: SourceObject) -> str:
    """One key per source object version (bucket, key, ETag): a re-run copies onto the same key, so the
    registry sees the same registration and answers the version it made."""
    digest = hashlib.sha256(f"{bucket}\n{obj.key}\n{obj.etag}".encode()).hexdigest()[:32]
    return f"{staging_prefix}import/{digest}{SUFFIX}"


def list_sources(s3, bucket: str, prefix: str) -> tuple[list[SourceObject], int]:
    """The `.tar.gz` objects under the prefix, and how many other objects were passed over."""
    found, other = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(SUFFIX):
                found.append(SourceObject(obj["Key"], obj["ETag"].strip('"'), obj["Size"]))
            else:
                other += 1
    return found, other
