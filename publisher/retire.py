"""Retirement: removes from models/ the versions no alias has needed for a grace period.

A version is retired only when no alias points at it now, none referenced it since the
cutoff, and it is not its model's latest version; the conditional write in
RegistryStore.retire_version makes that decision and a concurrent alias move exclusive.
Retired versions keep their record (status `retired`), so history still explains what
aliases pointed at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from .registry_code import AliasStore, Artifacts, RegistryStore, VersionRecord, every_item

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """`7d`, `12h`, `30m`, `2w`, `90s` → a timedelta."""
    match = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not match:
        raise ValueError(f"expected an age such as 7d, 12h or 30m, got {text!r}")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class Retirement:
    name: str
    version: int
    target_key: str
    outcome: str  # "retired", "would retire", "cleaned up", "would clean up", "kept: <why>"


class Retirer:
    def __init__(self, store: RegistryStore, aliases: AliasStore, artifacts: Artifacts, actor: str | None = None):
        """`actor` is the verified identity running the retirement (the caller's ARN): VersionRetired names it."""
        self._actor = actor
        self._store = store
        self._aliases = aliases
        self._artifacts = artifacts

    def run(self, older_than: timedelta, now: datetime, dry_run: bool = False) -> Iterator[Retirement]:
        cutoff = now - older_than
        for name in self._model_names():
            referenced = {(ref.model, v) for ref in self._aliases.references(name) for v in ref.versions}
            model = self._store.get_model(name)
            newest = {model.latest_version, model.next_version} if model else set()
            for version in self._versions(name):
                yield self._consider(version, (name, version.version) in referenced, version.version in newest,
                                     cutoff, now, dry_run)

    def _consider(self, version: VersionRecord, referenced: bool, latest: bool, cutoff: datetime, now: datetime,
                  dry_run: bool) -> Retirement:
        def result(outcome: str) -> Retirement:
            return Retirement(version.name, version.version, version.target_key, outcome)

        if version.status == "retired":  # a run that stopped between the mark and the delete
            info = self._artifacts.head(version.target_key)
            if info is None:
                return result("kept: already retired")
            if dry_run:
                return result("would clean up")
            self._artifacts.delete_if_unchanged(version.target_key, info.etag)
            return result("cleaned up")
        if referenced:
            return result("kept: an alias points at it")
        if latest:  # re-uploading its bytes answers "unchanged, equals it": its key must stay
            return result("kept: the model's latest version")
        last_used = max(version.created_at, version.last_referenced_at or version.created_at)
        if last_used >= cutoff:
            return result(f"kept: referenced or created {last_used.isoformat(timespec='seconds')}")
        if dry_run:
            return result("would retire")
        if not self._store.retire_version(version.name, version.version, cutoff, now, self._actor):
            return result("kept: an alias took it meanwhile")
        info = self._artifacts.head(version.target_key)
        if info is not None:
            self._artifacts.delete_if_unchanged(version.target_key, info.etag)
        return result("retired")

    def _model_names(self) -> Iterator[str]:
        yield from (model.name for model in every_item(self._store.list_models))

    def _versions(self, name: str) -> Iterator[VersionRecord]:
        yield from every_item(lambda limit, token: self._store.list_versions(name, limit=limit, token=token))
