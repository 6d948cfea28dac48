"""Invariant 11: no models/ key outlives its run without its version record, and "identical to vN" is said
only of a recorded vN, whatever fails between reserving a number and recording the version."""
from datetime import timedelta

import pytest
import saved_model_bytes as sm
from aws_fakes import Faults
from botocore.exceptions import ClientError
from hostile_tarballs import tf_files, tgz
from test_ingest_exactly_once import digits
from test_ingest_recovery import adapters, upload_of

from chalicelib.records import utcnow
from chalicelib.versions.ingest import Ingestor

pytestmark = pytest.mark.xdist_group("moto-server")

KEY = "incoming/digits.tar.gz"


def later(emulator, runs: int = 1):
    """A clock past the claim timeout: a redelivery after a run that died, `runs` timeouts later."""
    stamp = utcnow() + timedelta(seconds=2 * runs * emulator.settings.claim_timeout_seconds)
    return lambda: stamp


def delete_version(emulator, upload) -> None:
    """The exception docs/concepts/versions.md names: the object version deleted (DeleteObject with its VersionId)."""
    emulator.s3.delete_object(Bucket=emulator.settings.bucket, Key=upload.key, VersionId=upload.version_id)


def is_version_put(operation: str, request: dict) -> bool:
    return operation == "transact_write_items" and any(
        item.get("Put", {}).get("Item", {}).get("sk", {}).get("S", "").startswith("V#")
        for item in request["TransactItems"])


def test_bytes_whose_number_went_unused_are_not_called_identical_to_it(emulator):
    # GIVEN a run that reserved v1 and failed to copy (a transient fault), then its object version was deleted
    body = digits(1)
    emulator.drop(KEY, body)
    first = upload_of(emulator, KEY)
    parts = adapters(emulator)
    faults = Faults({("copy_object", 1): "before"})
    failing = {**parts, "artifacts": type(parts["artifacts"])(faults.wrap(emulator.s3), emulator.settings.bucket)}
    with pytest.raises(ClientError):
        Ingestor(settings=emulator.settings, **failing).ingest(first)
    delete_version(emulator, first)
    assert Ingestor(settings=emulator.settings, clock=later(emulator), **parts).ingest(first).outcome == "superseded"
    # WHEN the same file is uploaded again
    emulator.drop(KEY, body)
    record = Ingestor(settings=emulator.settings, clock=later(emulator, 2), **parts).ingest(upload_of(emulator, KEY))
    # THEN it becomes a version: v1 was never recorded, so nothing is identical to it
    assert (record.outcome, record.equals_version) == ("accepted", None)
    assert parts["store"].get_version("digits", 1) is None
    assert emulator.keys("models/") == [f"models/digits_v{record.version}.tar.gz"]
    assert emulator.read(f"models/digits_v{record.version}.tar.gz") == body


def test_a_copy_whose_record_failed_is_registered_from_the_copy_once_its_upload_is_gone(emulator):
    # GIVEN a run that copied v1 to models/ and then failed to record it, and the upload's object version deleted
    body = digits(2)
    emulator.drop(KEY, body)
    upload = upload_of(emulator, KEY)
    parts = adapters(emulator)
    faults = Faults({("transact_write_items", 1): "before"}, only=is_version_put)
    failing = {**parts, "store": type(parts["store"])(faults.wrap(emulator.session.client("dynamodb")),
                                                      emulator.settings.table)}
    with pytest.raises(ClientError):
        Ingestor(settings=emulator.settings, **failing).ingest(upload)
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    delete_version(emulator, upload)
    # WHEN the message is redelivered
    record = Ingestor(settings=emulator.settings, clock=later(emulator), **parts).ingest(upload)
    # THEN the copy is v1, with its record: the number is delivered and the key is no orphan
    assert (record.outcome, record.version) == ("accepted", 1)
    version = parts["store"].get_version("digits", 1)
    assert (version.event_id, emulator.read(version.target_key)) == (upload.event_id, body)
    assert parts["store"].get_model("digits").latest_version == 1


def test_a_signature_too_large_to_record_is_refused_before_a_number_is_reserved(emulator):
    # GIVEN a 2 KB TensorFlow model whose serving input has 500,000 dimensions of 1 (one element in all)
    signature = sm.signature({"x": sm.tensor_info(shape=[-1] + [1] * 500_000)}, {"y": sm.tensor_info()})
    body = tgz({**tf_files(), "1/saved_model.pb": sm.saved_model({"serving_default": signature})})
    emulator.drop("incoming/wide.tar.gz", body)
    parts = adapters(emulator)
    # WHEN it is ingested
    record = Ingestor(settings=emulator.settings, **parts).ingest(upload_of(emulator, "incoming/wide.tar.gz"))
    # THEN it is rejected by a rule, parked with its report, and no version number was handed out
    assert record.outcome == "rejected"
    assert record.rules and all(r == "record.version_too_large" or r.startswith("tensorflow.") for r in record.rules)
    assert parts["store"].get_model("wide") is None
    assert emulator.keys("models/") == []
    assert emulator.read(record.rejected_key) == body
