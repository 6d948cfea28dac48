"""Bulk import: every `.tar.gz` under an S3 prefix (an endpoint's ModelDataUrl) registered as a version.

How the bytes travel: the registry's API may read only its own bucket, so the client, with the
caller's credentials (which can read the source), copies each object server-side (CopyObject;
UploadPartCopy above 5 GB) into `staging/import/` and registers it with `POST /models/{name}/versions`.
Staging and the REST registration rather than the drop folder: the answer is synchronous (the version,
or the registry's 422 naming each rule), the model name is the importer's to give (the drop folder reads
it from a flat key), and the registration's identity (staging key, ETag, model) is claimed once by the
registry, so a retried or concurrent registration of one object answers the same version.

Idempotent and resumable: each version records where it came from (`import-bucket`, `import-key`,
`import-etag` in its metadata, which never changes), and before importing a model the client lists the
model's versions once and skips the objects already there. A run killed halfway re-runs to completion
with no duplicate: what finished is found, what was in flight is answered by the registry's claim.
Models run in parallel, each model's objects one after another in key order, so versions are numbered
in the order of the keys (and the registry's per-model counter is not contended).
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .errors import AliasClientError, RegistryRequestError
from .import_plan import Planned, SourceObject, by_model, staging_key
from .registry_api import RegistryApi

BUCKET_META, KEY_META, ETAG_META = "import-bucket", "import-key", "import-etag"
GB = 1024**3
MAX_SINGLE_COPY = 5 * GB  # CopyObject's limit; larger objects are copied part by part
COPY_PART = GB // 2
OUTCOMES = ("imported", "already", "rejected", "failed")
REJECTED_BY_RULE = (400, 422)  # the registry refused the input by a rule; anything else may pass on a re-run


@dataclass
class Outcome:
    key: str
    name: str | None
    outcome: str  # imported, already, rejected, failed; `would-import` in a dry run
    version: int | None = None
    message: str = ""
    failures: list[dict] = field(default_factory=list)  # rule and message of each broken rule (rejected)

    def as_json(self) -> dict:
        return {k: v for k, v in vars(self).items() if v not in (None, "", [])}


class _Halted(Exception):
    """A model's import stopped at a failed object (Importer._import_model)."""


class ImportInterrupted(Exception):
    """Raised by `run` when interrupted; `outcomes` holds what finished before (in-flight objects completed)."""

    def __init__(self, outcomes: list[Outcome]):
        super().__init__(f"interrupted after {len(outcomes)} object(s)")
        self.outcomes = outcomes


# importing ---------------------------------------------------------------------
class Importer:
    def __init__(self, s3, api_factory: Callable[[], RegistryApi], source_bucket: str, registry_bucket: str,
                 staging_prefix: str = "staging/", wait_seconds: float = 900, dry_run: bool = False,
                 warmup: bool = False, max_single_copy: int = MAX_SINGLE_COPY):
        """`api_factory` gives each worker thread its own HTTP session; `s3` (thread-safe) holds the caller's
        credentials, which read the source and write the registry's staging/."""
        self._s3 = s3
        self._api_factory = api_factory
        self._local = threading.local()
        self.source_bucket = source_bucket
        self.registry_bucket = registry_bucket
        self._staging = staging_prefix
        self._wait = wait_seconds
        self._dry_run = dry_run
        self._max_single_copy = max_single_copy
        # Off unless asked: a warm-up loads the version on the endpoint, and an import of thousands of versions
        # must not load each of them in turn (the drop folder's x-amz-meta-warmup, as a registration's metadata).
        self._warmup = "true" if warmup else "false"

    @property
    def api(self) -> RegistryApi:
        if not hasattr(self._local, "api"):
            self._local.api = self._api_factory()
        return self._local.api

    def run(self, planned: list[Planned], concurrency: int = 4,
            on_outcome: Callable[[Outcome], None] = lambda _: None) -> list[Outcome]:
        """Imports every object; `on_outcome` is called in this thread as each finishes. Interrupted (Ctrl-C, or
        an exception from `on_outcome`), it lets the objects in flight finish, starts no other, and raises."""
        unnamed = [Outcome(p.source.key, None, "rejected", message=p.name_error,
                           failures=[{"rule": "name.invalid", "message": p.name_error}])
                   for p in planned if p.name is None]
        groups = by_model(planned)
        results: queue.Queue[Outcome] = queue.Queue()
        outcomes: list[Outcome] = []
        stop = threading.Event()
        pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="import")
        try:
            for outcome in unnamed:
                outcomes.append(outcome)
                on_outcome(outcome)
            for name, items in groups.items():
                pool.submit(self._import_model, name, items, stop, results.put)
            for _ in range(sum(len(items) for items in groups.values())):
                outcome = results.get()
                outcomes.append(outcome)
                on_outcome(outcome)
        except BaseException as error:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            while not results.empty():  # what was in flight finished: it counts
                outcomes.append(results.get())
            raise ImportInterrupted(outcomes) from error
        pool.shutdown(wait=True)
        return outcomes

    def _import_model(self, name: str, items: list[Planned], stop: threading.Event, report) -> None:
        """The model's objects in key order. After a failure the rest wait for a re-run, so that versions are
        still numbered in the order of the keys; a rejection makes no version and does not stop the rest."""
        done = 0
        try:
            present = self.imported_versions(name)
            for item in items:
                if stop.is_set():
                    return
                found = present.get((item.source.key, item.source.etag))
                if found is not None:
                    outcome = Outcome(item.source.key, name, "already", found, f"{name} v{found}")
                elif self._dry_run:
                    outcome = Outcome(item.source.key, name, "would-import")
                else:
                    outcome = self.import_one(name, item)
                report(outcome)
                done += 1
                if outcome.outcome == "failed":
                    raise _Halted(f"not tried: {item.source.key} of the same model failed first (models are "
                                  "imported in key order)")
        except Exception as error:  # noqa: BLE001 - the listing failed, or worse: each object still gets an outcome
            said = str(error) if isinstance(error, _Halted) else f"{type(error).__name__}: {error}"
            for item in items[done:]:
                report(Outcome(item.source.key, name, "failed", message=said))

    def imported_versions(self, name: str) -> dict[tuple[str, str], int]:
        """(source key, ETag) → version, for the model's versions imported from this bucket (one paged read)."""
        found: dict[tuple[str, str], int] = {}
        token = None
        while True:
            try:
                page = self.api.list_versions(name, limit=1000, next_token=token)
            except RegistryRequestError as error:
                if error.status == 404:  # no such model yet
                    return found
                raise
            for version in page["items"]:
                said = version.get("metadata") or {}
                if said.get(BUCKET_META) == self.source_bucket and KEY_META in said:
                    found[(said[KEY_META], said.get(ETAG_META, ""))] = version["version"]
            token = page.get("next_token")
            if not token:
                return found

    def import_one(self, name: str, item: Planned) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        obj = item.source
        target = staging_key(self._staging, self.source_bucket, obj)
        try:
            self._copy(obj, target)
            outcome = self._register(name, obj, target)
        except (ClientError, BotoCoreError) as error:
            return Outcome(obj.key, name, "failed", message=f"AWS: {error}")
        except RegistryRequestError as error:
            if error.status not in REJECTED_BY_RULE:
                return Outcome(obj.key, name, "failed", message=f"{error.message} (HTTP {error.status}, {error.code})")
            failures = error.details.get("failures") or [{"rule": error.code, "message": error.message}]
            outcome = Outcome(obj.key, name, "rejected", message=error.message, failures=failures)
        except AliasClientError as error:  # the registry is unreachable or failed
            return Outcome(obj.key, name, "failed", message=str(error))
        if outcome.outcome != "failed":  # the registry has its answer: the copy has served
            try:
                self._s3.delete_object(Bucket=self.registry_bucket, Key=target)
            except (ClientError, BotoCoreError) as error:  # the outcome stands; only the copy stays behind
                outcome.message += f" (its staged copy {target} stays: {error})"
        return outcome

    def _copy(self, obj: SourceObject, target: str) -> None:
        source = {"Bucket": self.source_bucket, "Key": obj.key}
        etag = f'"{obj.etag}"'  # quoted, as HTTP's If-Match writes an entity tag
        if obj.size <= self._max_single_copy:
            self._s3.copy_object(CopySource=source, Bucket=self.registry_bucket, Key=target,
                                 CopySourceIfMatch=etag)
            return
        from boto3.s3.transfer import TransferConfig

        part = max(COPY_PART, -(-obj.size // 10_000))  # S3 allows 10,000 parts
        self._s3.copy(source, self.registry_bucket, target, ExtraArgs={"CopySourceIfMatch": etag},
                      Config=TransferConfig(multipart_threshold=self._max_single_copy, multipart_chunksize=part))

    def _register(self, name: str, obj: SourceObject, target: str) -> Outcome:
        said = {BUCKET_META: self.source_bucket, KEY_META: obj.key, ETAG_META: obj.etag, "warmup": self._warmup}
        answer = self.api.register_version(name, f"s3://{self.registry_bucket}/{target}", metadata=said)
        if answer["outcome"] == "queued":  # 202: too large to validate while the API waits
            answer = self._wait_for(name, answer["event_id"])
        if answer["outcome"] == "rejected":
            return Outcome(obj.key, name, "rejected", message=answer.get("message") or "",
                           failures=answer.get("failures") or [])
        if answer["outcome"] == "unchanged":
            number = answer.get("equals_version") or answer.get("version", {}).get("version")
            return Outcome(obj.key, name, "already", number, f"identical to {name} v{number}: no new version")
        if answer["outcome"] != "accepted":
            return Outcome(obj.key, name, "failed", message=answer.get("message") or answer["outcome"])
        version = answer["version"]
        return Outcome(obj.key, name, "imported", version if isinstance(version, int) else version["version"])

    def _wait_for(self, name: str, event_id: str) -> dict:
        deadline = time.monotonic() + self._wait
        while True:
            record = self.api.get_upload(name, event_id)
            if record["outcome"] != "queued" or time.monotonic() > deadline:
                return record
            time.sleep(1.0)


# aliases -----------------------------------------------------------------------
@dataclass
class AliasOutcome:
    alias: str
    model: str
    version: int
    outcome: str  # created, already (at this version), skipped (points elsewhere, or no valid alias), refused
    message: str = ""

    def as_json(self) -> dict:
        return {k: v for k, v in vars(self).items() if v not in (None, "")}


def alias_template(text: str) -> str:
    """`--alias-per-model`: `{model}` stands for the model's name, e.g. `{model}-prod`."""
    try:
        text.format(model="m")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"alias template {text!r}: only {{model}} may stand in it ({error})") from None
    return text


def newest_imported(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Each model's newest version among this run's objects (imported, or already there)."""
    newest: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.outcome in ("imported", "already") and outcome.name and outcome.version:
            newest[outcome.name] = max(outcome.version, newest.get(outcome.name, 0))
    return newest


def alias_each_model(api: RegistryApi, template: str, outcomes: Iterable[Outcome]) -> list[AliasOutcome]:
    """Creates `template` per model at its newest imported version, through the API with compare-and-set
    (expected_revision 0: only if absent), so alias policies apply; an alias that exists is never moved."""
    from .registry_code import InvalidInput, validate_alias_name

    done = []
    for model, version in sorted(newest_imported(outcomes).items()):
        alias = template.format(model=model)
        try:
            validate_alias_name(alias)
        except InvalidInput as error:
            done.append(AliasOutcome(alias, model, version, "skipped", error.message))
            continue
        done.append(create_alias(api, alias, model, version))
    return done


def create_alias(api: RegistryApi, alias: str, model: str, version: int) -> AliasOutcome:
    try:
        api.put_alias(alias, {"model": model, "version": version, "expected_revision": 0})
        return AliasOutcome(alias, model, version, "created")
    except RegistryRequestError as error:
        if "current_revision" not in error.details:  # a policy or a rule refused it, not the alias's existence
            said = f"{error.message} (HTTP {error.status}, {error.code})"
            return AliasOutcome(alias, model, version, "refused", said)
    current = api.get_alias(alias)  # it exists: say where it points, never move it
    if current.get("model") == model and current.get("version") == version and len(current.get("targets") or [1]) == 1:
        return AliasOutcome(alias, model, version, "already")
    where = ", ".join(f"{t['model']} v{t['version']}" for t in current.get("targets") or [current])
    return AliasOutcome(alias, model, version, "skipped", f"it exists and points at {where}: left as it is")
