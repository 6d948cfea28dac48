"""Naming rules: how S3 keys, model names, versions and aliases map onto each other.

Why strict: a model name ends up in S3 keys, in the SageMaker TargetModel and in
URLs, so it is held to a small ASCII set that is safe in all three.

Model names
    1 to 4 segments joined by ``/``; each segment is ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``
    (ASCII only); at most 200 characters; no ``..`` anywhere; and the name must not
    end in ``_v<digits>``, because ``<name>_v<N>.tar.gz`` is how versions are spelled.
    ``resnet_18``, ``team-a/squeezenet_v1.0`` are valid (``_v1.0`` is not ``_v<digits>``).

Drop-folder keys
    ``<incoming prefix><name>.tar.gz`` or ``<incoming prefix><name>_v<N>.tar.gz``; the
    trailing ``_v<N>`` is only a hint, the registry picks the number. Only ``.tar.gz``
    is accepted (not ``.tgz``): a multi-model endpoint serves ``*.tar.gz`` and one
    spelling keeps the drop folder's event filter simple. Keys are expected already
    URL-decoded (S3 event notifications encode them).

Versions
    ``<models prefix><name>_v<N>.tar.gz`` with N ≥ 1; the part after the prefix is the
    SageMaker TargetModel.

Aliases
    1 to 128 characters of ``[A-Za-z0-9._@-]``; ``latest`` and ``v<digits>`` (any
    case) are reserved because they read as versions.

Each string rule is ONE regular expression (NAME_PATTERN, ALIAS_PATTERN) that the checks
here fullmatch and /openapi.json publishes as its `pattern`, so clients and the server
apply the same rule. The patterns are written in the part of the syntax that Python `re`
and ECMA 262 (JSON Schema's dialect) read alike: ASCII classes, `{m,n}`, `(?:)`, `(?!)`,
`^...$`, no `\\w`/`\\d`, no inline flags. Python's `$` also matches before a final newline;
fullmatch leaves it no room to, so the server reads `$` as ECMA does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import InvalidInput

SUFFIX = ".tar.gz"
MAX_NAME_LENGTH = 200
MAX_SEGMENTS = 4
MAX_ALIAS_LENGTH = 128
MAX_NUMBER = 10**10 - 1  # versions and revisions: their sort keys hold 10 digits (store.version_sk, history_sk)
MAX_LOCAL_ACTOR_LENGTH = 64
LOCAL_ACTOR_PREFIX = "local:"  # no ARN and no SigV4 principal starts so: a local name never passes for one

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_STRUCTURE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{0,{MAX_SEGMENTS - 1}}}", re.ASCII)
_VERSION_TAIL = re.compile(r"(?P<name>.+)_v(?P<version>[0-9]+)", re.ASCII | re.DOTALL)
_RESERVED_ALIAS = re.compile(r"latest|v[0-9]+", re.ASCII | re.IGNORECASE)
_HEX8 = re.compile(r"[0-9a-fA-F]{8}", re.ASCII)
_LOCAL_ACTOR = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@+-]{{0,{MAX_LOCAL_ACTOR_LENGTH - 1}}}", re.ASCII)
_EVENT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}", re.ASCII)

# The whole rules (length aside: MAX_NAME_LENGTH, MAX_ALIAS_LENGTH), as published in /openapi.json.
NAME_PATTERN = rf"^(?!.*\.\.)(?!.*_v[0-9]+$){_SEGMENT}(?:/{_SEGMENT}){{0,{MAX_SEGMENTS - 1}}}$"
ALIAS_PATTERN = rf"^(?![Ll][Aa][Tt][Ee][Ss][Tt]$)(?![Vv][0-9]+$)[A-Za-z0-9._@-]{{1,{MAX_ALIAS_LENGTH}}}$"
_NAME = re.compile(NAME_PATTERN, re.ASCII)
_ALIAS = re.compile(ALIAS_PATTERN, re.ASCII)
NAME_RULE = (
    "a model name is 1 to 4 segments joined by '/', each segment 1-64 ASCII characters of "
    "letters, digits, '.', '_' and '-' starting with a letter or digit, at most 200 characters "
    "in all, with no '..' and not ending in '_v<digits>'"
)
ALIAS_RULE = (
    "an alias is 1 to 128 ASCII characters of letters, digits, '.', '_', '@' and '-'; "
    "'latest' and 'v<digits>' are reserved because they read as versions"
)

LOCAL_ACTOR_RULE = (
    f"a local identity is 1 to {MAX_LOCAL_ACTOR_LENGTH} ASCII characters of letters, digits, '.', '_', '@', '+' "
    "and '-' starting with a letter or digit (set MME_REGISTRY_ACTOR to one), with or without 'local:' before it"
)


@dataclass(frozen=True)
class IncomingName:
    """What a drop-folder key says: the model, and the version the uploader hoped for."""

    model: str
    version_hint: int | None = None


def validate_model_name(name: str) -> str:
    """Returns `name` unchanged if it follows NAME_RULE, else raises InvalidInput."""
    if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and _NAME.fullmatch(name):
        return name
    if isinstance(name, str) and _STRUCTURE.fullmatch(name) and len(name) <= MAX_NAME_LENGTH:
        if ".." in name:
            raise InvalidInput(f"invalid model name {name!r}: it contains '..'; {NAME_RULE}")
        raise InvalidInput(
            f"invalid model name {name!r}: it ends in '_v<digits>', which is how versions are spelled; {NAME_RULE}"
        )
    raise InvalidInput(f"invalid model name {name!r}: {NAME_RULE}")


def parse_incoming_key(key: str, incoming_prefix: str = "incoming/") -> IncomingName:
    """Reads the model name (and optional version hint) from a drop-folder key."""
    if not key.startswith(incoming_prefix):
        raise InvalidInput(f"key {key!r} is not under the drop folder {incoming_prefix!r}")
    if not key.endswith(SUFFIX):
        raise InvalidInput(f"key {key!r} must end in {SUFFIX!r} (a gzip-compressed tar archive)")
    stem = key[len(incoming_prefix) : -len(SUFFIX)]
    hint = None
    tail = _VERSION_TAIL.fullmatch(stem)
    if tail:
        stem, hint = tail["name"], int(tail["version"])
    return IncomingName(model=validate_model_name(stem), version_hint=hint)


def _check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"invalid version {version!r}: versions are whole numbers from 1")
    return version


def target_model(name: str, version: int) -> str:
    """The SageMaker TargetModel of a version: `<name>_v<N>.tar.gz`."""
    return f"{validate_model_name(name)}_v{_check_version(version)}{SUFFIX}"


def target_key(name: str, version: int, models_prefix: str = "models/") -> str:
    """The S3 key a version lives at, written exactly once."""
    return models_prefix + target_model(name, version)


def parse_target_model(value: str) -> tuple[str, int]:
    """Inverse of target_model: `team-a/squeezenet_v1.0_v3.tar.gz` → (`team-a/squeezenet_v1.0`, 3)."""
    stem = value[: -len(SUFFIX)] if value.endswith(SUFFIX) else None
    tail = _VERSION_TAIL.fullmatch(stem) if stem else None
    if not tail:
        raise InvalidInput(f"invalid target model {value!r}: expected '<model name>_v<N>{SUFFIX}'")
    return validate_model_name(tail["name"]), _check_version(int(tail["version"]))


def rejected_key(name: str, stamp: datetime, etag: str, event_id: str, rejected_prefix: str = "rejected/") -> str:
    """Where a rejected upload is kept: sortable by time, unique per event.

    The event id is part of the key because two identical bad uploads in the same second
    share stamp and ETag; without it the second one's copy would collide with the first.
    """
    if not _EVENT_ID.fullmatch(event_id or ""):
        raise InvalidInput(f"invalid event id {event_id!r}: expected 1 to 64 letters, digits, '_' or '-'")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    short = etag.strip().strip('"')[:8]
    if not _HEX8.fullmatch(short):
        raise InvalidInput(f"invalid ETag {etag!r}: expected at least 8 hexadecimal digits")
    when = stamp.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{rejected_prefix}{validate_model_name(name)}/{when}-{short.lower()}-{event_id}{SUFFIX}"


def report_key(rejected: str) -> str:
    """The JSON report that sits beside a rejected upload."""
    if not rejected.endswith(SUFFIX):
        raise InvalidInput(f"invalid rejected key {rejected!r}: expected it to end in {SUFFIX!r}")
    return rejected[: -len(SUFFIX)] + ".json"


def validate_alias_name(alias: str) -> str:
    """Returns `alias` unchanged if it follows ALIAS_RULE, else raises InvalidInput."""
    if isinstance(alias, str) and _ALIAS.fullmatch(alias):
        return alias
    if isinstance(alias, str) and _RESERVED_ALIAS.fullmatch(alias):
        raise InvalidInput(f"alias {alias!r} is reserved: {ALIAS_RULE}")
    raise InvalidInput(f"invalid alias {alias!r}: {ALIAS_RULE}")


def local_actor(name: str) -> str:
    """The actor a caller of the local stage says it is, as `local:<name>`; InvalidInput if it breaks
    LOCAL_ACTOR_RULE. Asserted, not verified: the local stack has no accounts to check it against."""
    bare = name[len(LOCAL_ACTOR_PREFIX):] if name.startswith(LOCAL_ACTOR_PREFIX) else name
    if _LOCAL_ACTOR.fullmatch(bare):
        return LOCAL_ACTOR_PREFIX + bare
    raise InvalidInput(f"invalid local identity {name[:80]!r}: {LOCAL_ACTOR_RULE}")


def ecma_escape(text: str) -> str:
    """`text` as a literal in a pattern both Python `re` and ECMA 262 read (re.escape's `\\-` is not ECMA)."""
    return "".join("\\" + c if c in "\\^$.|?*+()[]{}" else c for c in text)
