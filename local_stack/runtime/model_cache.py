"""Which TargetModels are loaded in a model server (MMS or TF Serving), and getting one there:
download from S3, check, extract safely, `POST /models`, evicting least-recently-used models to
stay in budget.

This is what a SageMaker multi-model endpoint does on each instance; the local runtime
gateway (gateway.py) puts the InvokeEndpoint wire protocol in front of it. The budget is memory,
as on SageMaker: each loaded model costs what `mme-registry plan` charges it (client/plan/memory.py),
so a plan made for one instance with this budget predicts what this cache does.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import logging
import queue
import shutil
import tarfile
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from botocore.exceptions import ClientError

from client.plan.memory import GIB, memory_cost
from local_stack.runtime.mms.backend import MmeApi

log = logging.getLogger(__name__)


class RuntimeApiError(Exception):
    """An InvokeEndpoint failure, in the terms of the sagemaker-runtime API (see gateway.py)."""

    def __init__(self, status: int, code: str, message: str, **fields):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def validation_error(message: str) -> RuntimeApiError:
    return RuntimeApiError(400, "ValidationError", message)


def model_not_ready(message: str) -> RuntimeApiError:
    """SageMaker's retryable "still loading" answer (HTTP 429); clients retry it with backoff."""
    return RuntimeApiError(429, "ModelNotReadyException", message)


def model_error(status: int, body: bytes | str, where: str) -> RuntimeApiError:
    """The container answered 4xx/5xx: SageMaker relays it as ModelError (HTTP 424)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    kind = "client" if status < 500 else "server"
    return RuntimeApiError(
        424,
        "ModelError",
        f"Received {kind} error ({status}) from {where} with message \"{text}\".",
        OriginalStatusCode=status,
        OriginalMessage=text,
    )


@dataclass(frozen=True)
class Budget:
    """The memory the models loaded in one model server may take, each costed by `memory_cost` (None: no limit)."""

    max_bytes: int | None = 2 * GIB

    def exceeded(self, used: int) -> bool:
        return self.max_bytes is not None and used > self.max_bytes


@dataclass
class Loaded:
    name: str  # the opaque MMS model name
    path: Path
    size: int  # the bytes it unpacked to
    in_use: int = 0
    key: str = ""  # the S3 key it was loaded from (what the status route shows)

    @property
    def cost(self) -> int:
        return memory_cost(self.size)


@dataclass(frozen=True)
class Acquired:
    """A model in use: its MMS name, and whether this use loaded it (a cold load, decided under the model's lock)."""

    name: str
    loaded: bool


def mms_name(bucket: str, key: str) -> str:
    """An opaque, MMS-safe name for one S3 object (never the caller's text)."""
    return "m" + hashlib.sha256(f"s3://{bucket}/{key}".encode()).hexdigest()[:32]


def target_key(prefix: str, target_model: str) -> str:
    """The S3 key of a TargetModel, refusing anything that could leave the endpoint's prefix."""
    if not target_model or len(target_model) > 1024 or not target_model.isprintable():
        raise validation_error("TargetModel must be 1 to 1024 printable characters.")
    parts = PurePosixPath(target_model).parts
    if (
        target_model.startswith(("/", "\\"))
        or "://" in target_model
        or "\\" in target_model
        or any(part in ("..", ".") for part in target_model.split("/"))
        or not parts
    ):
        raise validation_error(f"TargetModel {target_model!r} must be a key relative to the endpoint's model data URL.")
    return prefix + target_model


def extract_safely(tarball: Path | BinaryIO, destination: Path) -> int:
    """Extracts regular files and directories only, each inside `destination`; returns the bytes written.

    `tarball` is a path, or a stream of the .tar.gz read once, front to back (no seeking)."""
    destination.mkdir(parents=True)
    root = destination.resolve()
    written = 0
    if isinstance(tarball, (str, Path)):
        opened = tarfile.open(tarball, "r:gz")
    else:  # GzipFile reads every gzip member, as the validator does; "r|" reads the tar in order
        opened = tarfile.open(fileobj=gzip.GzipFile(fileobj=tarball, mode="rb"), mode="r|")
    with opened as archive:
        for member in archive:
            parts = [p for p in PurePosixPath(member.name).parts if p != "."]
            if member.name.startswith("/") or ".." in parts:
                raise validation_error(f"the model archive has an unsafe member name {member.name!r}")
            if not parts:
                continue  # the archive's own root (`.`)
            target = root.joinpath(*parts)
            if root not in target.parents:
                raise validation_error(f"the model archive member {member.name!r} leaves the model folder")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    sink = open(target, "xb")  # "x": a second member of the same name is refused
                except FileExistsError:
                    raise validation_error(f"the model archive has {member.name!r} twice") from None
                with archive.extractfile(member) as source, sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                written += member.size
            else:
                raise validation_error(f"the model archive member {member.name!r} is not a regular file or directory")
    return written


class _Pipe:
    """Bytes from the extracting thread to the validating one, at most `depth` chunks in flight.

    The validator's end has `.read(n)`; once it stops reading (done, or it gave up on the archive),
    what is fed is dropped instead of blocking the extractor."""

    def __init__(self, depth: int = 8):
        self._queue: queue.Queue = queue.Queue(depth)
        self._pending = b""
        self._eof = False
        self._reader_done = threading.Event()
        self.rejected = threading.Event()  # the validator refused the archive: stop extracting it

    def feed(self, data: bytes | None) -> None:
        """`None` ends the stream."""
        while not self._reader_done.is_set():
            try:
                self._queue.put(data, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        if not self._pending and not self._eof:
            item = self._queue.get()
            if item is None:
                self._eof = True
            else:
                self._pending = item
        if size is None or size < 0:
            size = len(self._pending)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def reader_done(self) -> None:
        self._reader_done.set()


class _Tee(io.RawIOBase):
    """Reads `source` for the extractor and feeds every byte to the validator's pipe as well."""

    def __init__(self, source, pipe: _Pipe):
        self._source, self._pipe = source, pipe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pipe.rejected.is_set():  # a bomb or a hostile archive is not extracted to its end
            raise validation_error("the model archive was refused by the validator")
        data = self._source.read(len(buffer))
        if data:
            self._pipe.feed(data)
            buffer[:len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Reads (and feeds) what the extractor left: the tar's end blocks, the gzip trailer."""
        buffer = bytearray(1 << 20)
        while not self._pipe.rejected.is_set() and self.readinto(buffer):
            pass


class ModelCache:
    """Loads TargetModels into one model server on demand and keeps it within a budget (LRU).

    `mms` is any server of the MME container API: MMS, or the TF Serving backend (tensorflow/backend.py)."""

    def __init__(self, mms: MmeApi, s3, cache_dir: Path, budget: Budget = Budget()):
        self.mms, self.s3, self.budget = mms, s3, budget
        self.cache_dir = Path(cache_dir)
        self._loaded: OrderedDict[str, Loaded] = OrderedDict()  # least recently used first
        self._state = threading.Lock()
        self._model_locks: dict[str, threading.Lock] = {}
        self.counts = {"hits": 0, "misses": 0, "evictions": 0}  # since start; a miss is a cold load

    def status(self) -> dict:
        """What is loaded now (least recently used first), the memory it takes by the budget's rule and the
        hit/miss (cold load)/eviction counts: read-only, what the console and the planner's agreement read."""
        with self._state:
            loaded = [{"name": e.name, "key": e.key, "size": e.size, "memory": e.cost, "in_use": e.in_use}
                      for e in self._loaded.values()]
            return {"loaded": loaded, **self.counts, "memory_used": sum(e.cost for e in self._loaded.values()),
                    "max_bytes": self.budget.max_bytes}

    def loaded_names(self) -> list[str]:
        with self._state:
            return list(self._loaded)

    @contextmanager
    def use(self, bucket: str, key: str) -> Iterator[Acquired]:
        """Yields the MMS name of the loaded model, and whether this use loaded it; it is not evicted while in use."""
        acquired = self._acquire(bucket, key)
        name = acquired.name
        try:
            yield acquired
        finally:
            with self._state:
                if name in self._loaded:
                    self._loaded[name].in_use -= 1

    def forget(self, name: str) -> None:
        """Drops a model MMS says it does not have (so the next use loads it again)."""
        with self._lock_for(name):
            with self._state:
                entry = self._loaded.pop(name, None)
            if entry:
                shutil.rmtree(entry.path.parent, ignore_errors=True)

    def forget_all(self) -> None:
        """Drops every model: the model server restarted empty, so each is loaded again on next use."""
        for name in self.loaded_names():
            self.forget(name)

    def _lock_for(self, name: str) -> threading.Lock:
        with self._state:
            return self._model_locks.setdefault(name, threading.Lock())

    def _acquire(self, bucket: str, key: str) -> Acquired:
        name = mms_name(bucket, key)
        with self._lock_for(name):  # concurrent first invokes of one model load it once
            with self._state:
                if name in self._loaded:
                    self._loaded.move_to_end(name)
                    self._loaded[name].in_use += 1
                    self.counts["hits"] += 1
                    return Acquired(name, loaded=False)
                self.counts["misses"] += 1
            path, size = self._fetch(bucket, key, name)
            try:
                self._make_room(size)
                self._load(name, path, key)
            except BaseException:
                shutil.rmtree(path.parent, ignore_errors=True)
                raise
            with self._state:
                self._loaded[name] = Loaded(name, path, size, in_use=1, key=key)
            return Acquired(name, loaded=True)

    def _fetch(self, bucket: str, key: str, name: str) -> tuple[Path, int]:
        """Streams the object once into <cache>/<name>/model and returns it and its size.

        The download is extracted as it arrives while the validator checks the same bytes on another
        thread; no copy of the tarball touches the disk. What was extracted is removed unless the
        validator accepts the whole archive; a refused one stops being extracted as soon as the
        validator refuses it (a gzip bomb: after what it inflated within its ratio limit)."""
        from chalicelib.validation import validate_stream

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        folder = self.cache_dir / name
        shutil.rmtree(folder, ignore_errors=True)  # a leftover of a failed or earlier load
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            raise validation_error(
                f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure that there is "
                "an object located at the URL and that the role passed to CreateModel has permissions to "
                f"download the model. ({exc.response.get('Error', {}).get('Code')})"
            ) from exc
        pipe = _Pipe()
        verdict: dict = {}

        def check() -> None:
            try:
                verdict["report"] = validate_stream(pipe)
                if not verdict["report"].valid:
                    pipe.rejected.set()
            finally:
                pipe.reader_done()

        checker = threading.Thread(target=check, name=f"validate {key}", daemon=True)
        checker.start()
        tee = _Tee(body, pipe)
        try:
            try:
                size = extract_safely(io.BufferedReader(tee, 1 << 20), folder / "model")
            except Exception as exc:
                extraction_error = exc
                size = 0
            else:
                extraction_error = None
            tee.drain()  # the validator reads to the gzip trailer, even past what extraction refused
            pipe.feed(None)
            checker.join()
            report = verdict.get("report")
            if report is None:
                raise validation_error(f"The model data at s3://{bucket}/{key} could not be checked")
            if not report.valid:
                reasons = "; ".join(f"{f.rule}: {f.message}" for f in report.failures)
                raise validation_error(f"The model data at s3://{bucket}/{key} is not a servable archive: {reasons}")
            if extraction_error is not None:
                raise extraction_error
        except BaseException:
            pipe.feed(None)  # a validator still waiting for bytes (the download failed) ends
            pipe.reader_done()
            body.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder / "model", size

    def _make_room(self, incoming: int) -> None:
        """Unloads idle models, oldest first, until the new one (`incoming` unpacked bytes) fits the budget."""
        while True:
            with self._state:
                used = sum(e.cost for e in self._loaded.values())
                if not self.budget.exceeded(used + memory_cost(incoming)):
                    return
                victim = self._pop_idle()
            if victim is None:
                log.warning("over budget, but every loaded model is in use: loading anyway")
                return
            self._unload(victim)

    def _pop_idle(self) -> Loaded | None:
        for name, entry in self._loaded.items():
            if entry.in_use == 0:
                return self._loaded.pop(name)
        return None

    def _unload(self, entry: Loaded) -> None:
        with self._state:
            self.counts["evictions"] += 1
        response = self.mms.unload(entry.name)
        if response.status_code not in (200, 404):
            log.warning("unloading %s answered %s: %s", entry.name, response.status_code, response.text)
        shutil.rmtree(entry.path.parent, ignore_errors=True)

    def _load(self, name: str, path: Path, key: str) -> None:
        """`POST /models`; on 507 unloads the least recently used idle model and tries again."""
        while True:
            response = self.mms.load(name, path)
            if response.status_code in (200, 201, 409):  # 409: loaded already (e.g. by an earlier run)
                return
            if response.status_code == 507:
                with self._state:
                    victim = self._pop_idle()
                if victim is not None:
                    log.info("MMS has no memory for %s: unloading %s and retrying", key, victim.name)
                    self._unload(victim)
                    continue
            raise model_error(response.status_code, response.content, f"the model server loading {key}")
