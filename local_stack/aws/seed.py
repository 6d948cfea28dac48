"""Seeds the emulator with a registry of a given size in minutes, not hours of uploads: models, versions, aliases.

    python -m local_stack.aws.seed --models 10000 --versions-per-model 10 --aliases 10000

Writes with BatchWriteItem what ingestion and the alias API would have written, item for item: the
records are built from records.py and turned into items by the stores' own builders (version_item,
model_item, upload_item, the tag index's writes, AliasStore.puts), so a seeded registry reads through
the API exactly as an ingested one does. Nothing goes to S3 and no change event is left in the
outbox: the seed is a registry whose uploads were all ingested and whose events were all published.

What it writes, for model m (seed-model-00000 ...) with V versions:
- the model record (latest and last-numbered version V), one upload record (the latest version's);
- versions 1..V, every 5th model TensorFlow, the others MXNet; the latest carries a description
  and the tag team:team-<m mod 50>; models 0-4's latest also carry bench:needle (a search that
  matches five models at any size);
- alias a (seed-alias-00000 ...) on model a mod M, with two changes in its history: created at
  version V-1, then moved to V (both versions stamped as referenced, as the alias write does).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Iterable, Iterator

from chalicelib import names
from chalicelib.aliases.alias_store import (AliasChange, AliasState, AliasStore, AliasTarget, after_change,
                                            history_sk)
from chalicelib.records import ModelRecord, UploadRecord, VersionRecord
from chalicelib.settings import Settings
from chalicelib.versions.store import model_item, upload_item, version_item
from chalicelib.versions.tag_index import index_writes

BATCH = 25  # BatchWriteItem's limit
ACTOR = "local:seed"
NEEDLE = ("bench", "needle")  # carried by models 0-4's latest versions
NEEDLE_MODELS = 5
TEAMS = 50
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
INPUTS = {"mxnet": [{"name": "data", "shape": [1, 64]}],
          "tensorflow": [{"name": "image", "dtype": "float32", "shape": [-1, 8, 8, 1]}]}
OUTPUTS = {"tensorflow": [{"name": "scores", "dtype": "float32", "shape": [-1, 10]}]}


def model_name(index: int) -> str:
    return f"seed-model-{index:05d}"


def alias_name(index: int) -> str:
    return f"seed-alias-{index:05d}"


def _hex(*parts: object, length: int = 64) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def _version(m: int, number: int, latest: int, referenced_at: datetime | None) -> VersionRecord:
    name = model_name(m)
    framework = "tensorflow" if m % 5 == 4 else "mxnet"
    tags = {"team": f"team-{m % TEAMS}", **(dict([NEEDLE]) if m < NEEDLE_MODELS else {})} if number == latest else {}
    return VersionRecord(
        name=name, version=number, target_key=names.target_key(name, number),
        target_model=names.target_model(name, number), sha256=_hex(name, number), size=4096 + number,
        unpacked_size=3 * (4096 + number),
        framework=framework, input_shapes=INPUTS[framework], outputs=OUTPUTS.get(framework),
        labels_count=10 if framework == "mxnet" else None, source_key=f"incoming/{name}.tar.gz",
        source_etag=_hex("etag", name, number, length=32), event_id=_hex("event", name, number, length=32),
        created_at=START + timedelta(minutes=number), uploader=ACTOR,
        description=f"{name} v{number}, seeded" if number == latest else "", tags=tags,
        last_referenced_at=referenced_at)


def model_items(m: int, versions: int, referenced: set[int], table: str) -> Iterator[dict]:
    """One model's items: its record, its versions and their tag index entries, its latest upload's record."""
    name = model_name(m)
    moved_at = START + timedelta(minutes=versions + 1)
    last = None
    for number in range(1, versions + 1):
        last = _version(m, number, versions, moved_at if number in referenced else None)
        yield version_item(last)
        yield from (write["Put"]["Item"] for write in index_writes(table, last, {}))
    yield model_item(ModelRecord(name=name, latest_version=versions, next_version=versions, last_sha256=last.sha256,
                                 last_event_id=last.event_id, created_at=START, updated_at=last.created_at))
    yield upload_item(UploadRecord(name=name, event_id=last.event_id, source_key=last.source_key,
                                   source_etag=last.source_etag, outcome="accepted", version=versions,
                                   started_at=last.created_at, finished_at=last.created_at + timedelta(seconds=2)))


def alias_items(a: int, models: int, versions: int, aliases: AliasStore) -> Iterator[dict]:
    """An alias created at its model's version before the latest, then moved to the latest: two changes."""
    model = model_name(a % models)
    at = START + timedelta(minutes=versions + 1)
    created = AliasState(targets=[AliasTarget(model=model, version=max(1, versions - 1))])
    moved = AliasState(targets=[AliasTarget(model=model, version=versions)])
    first = AliasChange(alias=alias_name(a), revision=1, action="update", after=created, at=at, by=ACTOR)
    second = AliasChange(alias=alias_name(a), revision=2, action="update", before=created, after=moved, at=at,
                         by=ACTOR)
    history = history_sk(first.revision)
    yield from (item for item in aliases.puts(first, None) if item["sk"]["S"] == history)  # then only its history
    yield from aliases.puts(second, after_change(first, None))


def items(models: int, versions: int, alias_count: int, table: str) -> Iterator[dict]:
    """Every item of the seeded registry, model by model, then alias by alias."""
    referenced = {max(1, versions - 1), versions} if alias_count else set()
    store = AliasStore(None, table)
    for m in range(models):
        yield from model_items(m, versions, referenced if m < alias_count else set(), table)
    for a in range(alias_count):
        yield from alias_items(a, models, versions, store)


def _batches(stream: Iterable[dict]) -> Iterator[list[dict]]:
    iterator = iter(stream)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _write(dynamodb, table: str, batch: list[dict]) -> int:
    """One BatchWriteItem, repeated with what DynamoDB left unprocessed (it may, under load) until all is in."""
    request = {table: [{"PutRequest": {"Item": item}} for item in batch]}
    pause = 0.05
    while request:
        request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
        if request:
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
    return len(batch)


def seed(session, table: str, models: int, versions: int, aliases: int, threads: int = 4,
         progress=print) -> tuple[int, float]:
    """Writes the registry; answers the items written and the seconds it took. Progress every 5 seconds."""
    clients = [session.client("dynamodb") for _ in range(threads)]
    started = last = time.monotonic()
    written = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        batches = _batches(items(models, versions, aliases, table))
        window = []
        for index, batch in enumerate(batches):
            window.append(pool.submit(_write, clients[index % threads], table, batch))
            if len(window) >= threads * 4:
                written += sum(future.result() for future in window)
                window = []
                if time.monotonic() - last >= 5:
                    last = time.monotonic()
                    rate = written / (last - started)
                    progress(f"  {written:,} items written, {rate:,.0f} a second")
        written += sum(future.result() for future in window)
    return written, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.aws.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions-per-model", type=int, default=10)
    parser.add_argument("--aliases", type=int, default=10_000, help="alias a points at model a mod --models")
    parser.add_argument("--threads", type=int, default=4, help="BatchWriteItem calls in flight")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                        help="the emulator (default: AWS_ENDPOINT_URL, else make up's http://127.0.0.1:4566)")
    args = parser.parse_args(argv)
    if args.models < 1 or args.versions_per_model < 1 or args.aliases < 0:
        parser.error("give at least one model of at least one version, and no negative number of aliases")
    import boto3

    settings = Settings()
    os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    session = boto3.Session(region_name=settings.region)
    total = args.models * args.versions_per_model
    print(f"seeding {settings.table} at {args.endpoint_url}: {args.models:,} models, {total:,} versions, "
          f"{args.aliases:,} aliases", flush=True)
    written, seconds = seed(session, settings.table, args.models, args.versions_per_model, args.aliases,
                            args.threads, progress=lambda line: print(line, flush=True))
    print(f"{written:,} items in {seconds:.1f} s ({written / seconds:,.0f} a second)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
