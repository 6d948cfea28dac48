"""Exactly-once corners: numbers without gaps, identical bytes racing, identical rejects in one second."""
import gzip
from datetime import timedelta

import pytest
from aws_fakes import BeforeFirstTransaction
from test_ingest_recovery import Crash, CrashAfter, adapters, upload_of

from chalicelib.versions.ingest import Ingestor
from chalicelib.records import utcnow
from chalicelib.versions.store import RegistryStore
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


def digits(mtime: int = 0) -> bytes:
    return gzip.compress(gzip.decompress(cached_tarball("digits").read_bytes()), mtime=mtime)


def test_a_crash_after_reserving_then_an_overwrite_still_delivers_the_reserved_number(emulator):
    # GIVEN a run that reserved v1 for the first upload and died
    first, second = digits(1), digits(2)
    emulator.drop("incoming/digits.tar.gz", first)
    upload = upload_of(emulator, "incoming/digits.tar.gz")
    parts = adapters(emulator)
    with pytest.raises(Crash):
        Ingestor(settings=emulator.settings, **{**parts, "store": CrashAfter(parts["store"], "reserve_version")}
                 ).ingest(upload)
    # AND the uploader overwrote the key before the retry
    emulator.drop("incoming/digits.tar.gz", second)
    newer = upload_of(emulator, "incoming/digits.tar.gz")
    # WHEN the first event is retried, then the second one arrives
    later = utcnow() + timedelta(seconds=2 * emulator.settings.claim_timeout_seconds)
    retry = Ingestor(settings=emulator.settings, clock=lambda: later, **parts)
    outcomes = [retry.ingest(upload).outcome, retry.ingest(newer).outcome]
    # THEN v1 holds the bytes it was reserved for and v2 the newer ones: no gap
    assert outcomes == ["accepted", "accepted"]
    versions, _ = parts["store"].list_versions("digits", limit=10, token=None)
    assert sorted(v.version for v in versions) == [1, 2]
    assert emulator.read("models/digits_v1.tar.gz") == first
    assert emulator.read("models/digits_v2.tar.gz") == second
    assert emulator.keys("incoming/") == []


def test_a_reserved_number_is_delivered_even_when_its_bytes_became_the_latest_through_another_upload(emulator):
    # GIVEN upload A reserved v1 and died; B (other bytes) became v2 and C (A's bytes again) v3
    a_bytes, b_bytes = digits(4), digits(5)
    parts = adapters(emulator)
    emulator.drop("incoming/digits.tar.gz", a_bytes)
    first = upload_of(emulator, "incoming/digits.tar.gz")
    with pytest.raises(Crash):
        Ingestor(settings=emulator.settings, **{**parts, "store": CrashAfter(parts["store"], "reserve_version")}
                 ).ingest(first)
    ingestor = Ingestor(settings=emulator.settings, **parts)
    for body in (b_bytes, a_bytes):
        emulator.drop("incoming/digits.tar.gz", body)
        assert ingestor.ingest(upload_of(emulator, "incoming/digits.tar.gz")).outcome == "accepted"
    # WHEN A is retried
    later = utcnow() + timedelta(seconds=2 * emulator.settings.claim_timeout_seconds)
    record = Ingestor(settings=emulator.settings, clock=lambda: later, **parts).ingest(first)
    # THEN it delivers the v1 it holds instead of calling itself identical to v3
    assert (record.outcome, record.version) == ("accepted", 1)
    assert emulator.read("models/digits_v1.tar.gz") == a_bytes
    assert emulator.keys("models/") == [f"models/digits_v{n}.tar.gz" for n in (1, 2, 3)]
    # AND recording v1 last did not move the latest pointer back
    assert parts["store"].get_model("digits").latest_version == 3


def test_two_deliveries_of_identical_bytes_racing_make_one_version(emulator):
    # GIVEN a client that sent its PUT twice: two object versions, two events, the same bytes
    body = digits(3)
    emulator.drop("incoming/digits.tar.gz", body)
    first = upload_of(emulator, "incoming/digits.tar.gz")
    emulator.drop("incoming/digits.tar.gz", body)
    second = upload_of(emulator, "incoming/digits.tar.gz")
    assert first.event_id != second.event_id
    parts = adapters(emulator)
    records = {}

    def second_run():
        records["second"] = Ingestor(settings=emulator.settings, **parts).ingest(second)

    # WHEN the second run completes after the first one checked "identical to latest?" but before it reserved
    racing = BeforeFirstTransaction(emulator.session.client("dynamodb"), second_run)
    store = RegistryStore(racing, emulator.settings.table)
    records["first"] = Ingestor(settings=emulator.settings, **{**parts, "store": store}).ingest(first)
    # THEN one version exists and the other upload says it equals it
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert records["second"].outcome == "accepted" and records["second"].version == 1
    assert (records["first"].outcome, records["first"].equals_version) == ("unchanged", 1)
    assert emulator.keys("incoming/") == []


def test_identical_bad_uploads_in_the_same_second_are_each_parked(emulator):
    # GIVEN the same broken tarball uploaded twice within one second
    broken = b"not a tarball at all"
    parts = adapters(emulator)
    now = utcnow().replace(microsecond=0)
    ingestor = Ingestor(settings=emulator.settings, clock=lambda: now, **parts)
    records = []
    for _ in range(2):
        emulator.drop("incoming/digits.tar.gz", broken)
        records.append(ingestor.ingest(upload_of(emulator, "incoming/digits.tar.gz")))
    # THEN each is rejected into its own key, with its own report
    assert [r.outcome for r in records] == ["rejected", "rejected"]
    assert records[0].rejected_key != records[1].rejected_key
    assert len(emulator.keys("rejected/digits/")) == 4
    assert all(emulator.read(r.rejected_key) == broken for r in records)
    assert emulator.keys("incoming/") == []
