"""Invariant 7, fuzzed: every upload ends with an upload record and an empty drop-folder key
within one delivery, whatever its bytes, with warm-up on.

Inputs range from noise to near-valid MXNet tarballs whose shapes.json has a huge rank, huge
element counts or pathological JSON; the warm-up builds its real payload (chalicelib.versions.warmup)
and sends it to a sagemaker-runtime stand-in that decodes it as the gateway would.
"""
import gzip
import itertools
import json

import pytest
from aws_fakes import ScriptedRuntime, client_error
from hostile_tarballs import mxnet_files, tgz
from hypothesis import HealthCheck, given, settings, strategies as st

from chalicelib.aliases.alias_store import AliasStore
from chalicelib.aliases.aliases import Aliases
from chalicelib.versions.artifacts import Artifacts
from chalicelib.versions.claims import ClaimStore
from chalicelib.events import S3Upload
from chalicelib.versions.ingest import Ingestor
from chalicelib.versions.store import RegistryStore

shapes_documents = st.one_of(
    st.lists(st.integers(1, 2**62), min_size=1, max_size=3000).map(
        lambda dims: json.dumps([{"name": "data", "shape": dims}]).encode()),
    st.lists(st.integers(1, 4), min_size=2, max_size=8).map(
        lambda dims: json.dumps([{"name": "data", "shape": dims}]).encode()),
    st.integers(1, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.binary(max_size=256),
)
odd_members = st.dictionaries(
    st.sampled_from(["../escape", "/absolute", "a/b/c", "model-symbol.json", "synset.txt", "1/saved_model.pb",
                     "model-0001.params", "."]),
    st.binary(max_size=64), max_size=3)


@st.composite
def uploads(draw) -> bytes:
    kind = draw(st.sampled_from(["mxnet", "mxnet", "mxnet", "truncated", "noise", "gzipped noise"]))
    if kind == "noise":
        return draw(st.binary(max_size=2048))
    if kind == "gzipped noise":
        return gzip.compress(draw(st.binary(max_size=2048)), mtime=0)
    files = mxnet_files("model", params_size=draw(st.integers(0, 2048)))
    files["model-shapes.json"] = draw(shapes_documents)
    files.update(draw(odd_members))
    data = tgz(files, dot_root=draw(st.booleans()))
    if kind == "truncated":
        data = data[:draw(st.integers(0, len(data) - 1))]
    return data


warmup_answers = st.lists(st.sampled_from([
    "ok", client_error("ModelError", "the model answered 500"), client_error("ModelNotReadyException"),
    RecursionError("maximum recursion depth exceeded"), MemoryError()]), max_size=2)


@pytest.fixture
def registry(aws_session, settings):
    """The ingest use case on in-process moto, warm-up on with no retry budget (the fuzz must stay fast)."""
    settings = settings.model_copy(update={"warmup": True, "warmup_budget_seconds": 0})
    dynamodb, s3 = aws_session.client("dynamodb"), aws_session.client("s3")
    store = RegistryStore(dynamodb, settings.table)
    claims = ClaimStore(dynamodb, settings.events_table, settings.claim_timeout_seconds)
    aliases = Aliases(store, AliasStore(dynamodb, settings.table))
    return settings, s3, store, claims, aliases, itertools.count()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=uploads(), answers=warmup_answers, alias=st.booleans())
def test_every_upload_ends_with_a_record_and_an_empty_drop_folder_key(registry, body, answers, alias):
    settings_, s3, store, claims, aliases, counter = registry

    name = f"fuzz{next(counter)}"
    key = f"{settings_.incoming_prefix}{name}.tar.gz"
    s3.put_object(Bucket=settings_.bucket, Key=key, Body=body, Metadata={"alias": f"{name}-prod"} if alias else {})
    head = s3.head_object(Bucket=settings_.bucket, Key=key)
    upload = S3Upload(bucket=settings_.bucket, key=key, etag=head["ETag"].strip('"'), size=head["ContentLength"],
                      version_id=head.get("VersionId"), principal="AWS:AIDAFUZZ")
    ingestor = Ingestor(store=store, claims=claims, artifacts=Artifacts(s3, settings_.bucket), settings=settings_,
                        aliases=aliases,
                        runtime=ScriptedRuntime(*answers))

    record = ingestor.ingest(upload)  # one delivery: it must not raise

    assert record is not None and record.outcome in ("accepted", "rejected")
    assert store.get_upload(name, record.started_at, upload.event_id) == record
    assert "Contents" not in s3.list_objects_v2(Bucket=settings_.bucket, Prefix=key)
    if record.outcome == "rejected":
        assert s3.head_object(Bucket=settings_.bucket, Key=record.rejected_key)["ContentLength"] == len(body)
    else:
        assert record.warmup is not None
        assert store.get_version(name, record.version) is not None
