"""Crashes, retries and hostile uploads: every path ends in exactly one version or one rejection."""
from datetime import timedelta

import pytest

from chalicelib.versions.artifacts import Artifacts
from chalicelib.versions.claims import ClaimStore
from chalicelib.errors import Conflict
from chalicelib.events import S3Upload
from chalicelib.versions.ingest import Ingestor
from chalicelib.records import utcnow
from chalicelib.versions.store import RegistryStore
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


class Crash(BaseException):
    """The process dies here: nothing after this line runs, not even clean-up."""


class CrashAfter:
    """Wraps a real adapter; the named method does its work and then the process 'dies'."""

    def __init__(self, inner, method: str):
        self._inner, self._method = inner, method

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def run_then_die(*args, **kwargs):
            attr(*args, **kwargs)
            raise Crash(name)

        return run_then_die


class DeadClaims(ClaimStore):
    """A dead process releases nothing: the claim stays in progress until it expires."""

    def release(self, claim, now):
        pass


def adapters(emulator, multipart_threshold=None):
    settings = emulator.settings
    dynamodb = emulator.session.client("dynamodb")
    artifacts = Artifacts(emulator.s3, settings.bucket)
    if multipart_threshold:
        artifacts = Artifacts(emulator.s3, settings.bucket, multipart_threshold=multipart_threshold,
                              part_size=multipart_threshold)
    return {
        "store": RegistryStore(dynamodb, settings.table),
        "claims": DeadClaims(dynamodb, settings.events_table, settings.claim_timeout_seconds),
        "artifacts": artifacts,
    }


def upload_of(emulator, key: str) -> S3Upload:
    head = emulator.s3.head_object(Bucket=emulator.settings.bucket, Key=key)
    return S3Upload(bucket=emulator.settings.bucket, key=key, etag=head["ETag"].strip('"'),
                    size=head["ContentLength"], version_id=head.get("VersionId"))


STEPS = [
    ("claims", "claim"),
    ("store", "reserve_version"),
    ("artifacts", "copy_once"),
    ("store", "record_version"),
    ("artifacts", "delete_if_unchanged"),
    ("claims", "complete"),
]


@pytest.mark.parametrize("adapter,method", STEPS, ids=[f"{a}.{m}" for a, m in STEPS])
def test_a_crash_after_any_step_then_a_retry_leaves_exactly_one_version(emulator, adapter, method):
    # GIVEN a run that dies right after one step
    body = cached_tarball("digits").read_bytes()
    emulator.drop("incoming/digits.tar.gz", body)
    upload = upload_of(emulator, "incoming/digits.tar.gz")
    parts = adapters(emulator)
    dying = {**parts, adapter: CrashAfter(parts[adapter], method)}
    with pytest.raises(Crash):
        Ingestor(settings=emulator.settings, **dying).ingest(upload)
    # WHEN the message is redelivered after the claim has expired
    later = utcnow() + timedelta(seconds=2 * emulator.settings.claim_timeout_seconds)
    Ingestor(settings=emulator.settings, clock=lambda: later, **parts).ingest(upload)
    # THEN there is one version, its key holds the bytes, and the drop folder is clear
    store = parts["store"]
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert emulator.read("models/digits_v1.tar.gz") == body
    versions, _ = store.list_versions("digits", limit=10, token=None)
    assert [v.version for v in versions] == [1]
    assert store.get_model("digits").next_version == 1
    assert emulator.keys("incoming/") == []
    uploads, _ = store.list_uploads("digits", limit=10, token=None)
    assert [u.outcome for u in uploads] == ["accepted"]
    assert parts["claims"].get(upload.event_id)["status"] == "COMPLETED"


def test_a_live_claim_makes_a_concurrent_delivery_retry_later(emulator):
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    upload = upload_of(emulator, "incoming/digits.tar.gz")
    parts = adapters(emulator)
    parts["claims"].claim(upload.event_id, utcnow())

    from chalicelib.errors import TransientError
    with pytest.raises(TransientError):
        Ingestor(settings=emulator.settings, **parts).ingest(upload)
    assert emulator.keys("models/") == []


def test_an_abandoned_claim_is_taken_over_at_once_and_keeps_its_reserved_version(emulator):
    # GIVEN a run that died after reserving v1, its claim still live for the whole timeout
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    upload = upload_of(emulator, "incoming/digits.tar.gz")
    parts = adapters(emulator)
    with pytest.raises(Crash):
        Ingestor(settings=emulator.settings, **{**parts, "store": CrashAfter(parts["store"], "reserve_version")}
                 ).ingest(upload)
    # WHEN its host knows it died and abandons the claim
    parts["claims"].abandon(upload.event_id, utcnow())
    # THEN a redelivery right now finishes the run, with the number reserved before the crash
    Ingestor(settings=emulator.settings, **parts).ingest(upload)
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert parts["claims"].get(upload.event_id)["status"] == "COMPLETED"
    # AND abandoning a completed claim does not reopen it
    parts["claims"].abandon(upload.event_id, utcnow())
    assert parts["claims"].get(upload.event_id)["status"] == "COMPLETED"


def test_a_version_key_written_by_another_upload_is_never_overwritten(emulator):
    # GIVEN models/digits_v1.tar.gz already exists but the table does not know it
    emulator.drop("models/digits_v1.tar.gz", b"someone else's bytes")
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    parts = adapters(emulator)
    # WHEN ingestion reserves v1 for the new upload
    with pytest.raises(Conflict):
        Ingestor(settings=emulator.settings, **parts).ingest(upload_of(emulator, "incoming/digits.tar.gz"))
    # THEN the existing bytes are untouched and the upload is still in the drop folder
    assert emulator.read("models/digits_v1.tar.gz") == b"someone else's bytes"
    assert emulator.keys("incoming/") == ["incoming/digits.tar.gz"]


@pytest.mark.slow
def test_large_tarballs_are_copied_in_parts(emulator):
    body = cached_tarball("resnet_18").read_bytes()
    emulator.drop("incoming/resnet_18.tar.gz", body)
    parts = adapters(emulator, multipart_threshold=8 * 1024 * 1024)

    Ingestor(settings=emulator.settings, **parts).ingest(upload_of(emulator, "incoming/resnet_18.tar.gz"))

    assert emulator.read("models/resnet_18_v1.tar.gz") == body
    head = emulator.s3.head_object(Bucket=emulator.settings.bucket, Key="models/resnet_18_v1.tar.gz")
    assert head["ETag"].strip('"').endswith(f"-{-(-len(body) // (8 * 1024 * 1024))}")


def test_every_hostile_tarball_is_parked_with_a_report_and_makes_no_version(emulator):
    from hostile_tarballs import HOSTILE_CASES

    parts = adapters(emulator)
    ingestor = Ingestor(settings=emulator.settings, **parts)
    for number, case in enumerate(HOSTILE_CASES):
        name = f"hostile{number}"
        body = case.build()
        emulator.drop(f"incoming/{name}.tar.gz", body)
        record = ingestor.ingest(upload_of(emulator, f"incoming/{name}.tar.gz"))

        assert record.outcome == "rejected", case.name
        assert case.rule_id in record.rules, (case.name, record.rules)
        assert emulator.keys(f"rejected/{name}/") == [record.report_key, record.rejected_key]
        assert emulator.read(record.rejected_key) == body, case.name
    assert emulator.keys("models/") == []
    assert emulator.keys("incoming/") == []
