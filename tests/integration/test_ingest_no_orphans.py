"""No orphans, proven over generated uploads and faults (DESIGN invariants 3, 7 and 11).

Uploads of valid, invalid and repeated tarballs go through the ingest handler's delivery path
(Deliveries: the run, the failure log, SQS's redelivery) against the emulator, while any AWS call
of theirs may fail once, before its request is sent or after the service acted and the answer was
lost. After the redeliveries every upload has exactly one final record; an accepted one has exactly
one models/ key with its version record, any other none; "identical to vN" names a recorded vN with
the same bytes; and the model's keys and version records match one to one, numbered without a gap.
"""
import hashlib
import uuid
from datetime import timedelta

import pytest
from aws_fakes import Faults
from hostile_tarballs import gz, noise, tf_files, tgz, valid_mxnet
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_ingest_recovery import upload_of

from chalicelib.events import notification_body
from chalicelib.records import utcnow
from chalicelib.versions.artifacts import EVENT_METADATA, Artifacts
from chalicelib.versions.claims import ClaimStore
from chalicelib.versions.deadletters import FailureLog
from chalicelib.versions.deliveries import Deliveries
from chalicelib.versions.ingest import Ingestor
from chalicelib.versions.store import RegistryStore

pytestmark = pytest.mark.xdist_group("moto-server")

TARBALLS = {
    "mxnet": valid_mxnet(),
    "mxnet_other": valid_mxnet(prefix="other"),
    "tensorflow": tgz(tf_files()),
    "truncated": valid_mxnet()[:-40],
    "not_gzip": noise(2048),
    "gzip_of_noise": gz(noise(2048, seed=1)),
}
# Every operation the ingest's runs and failure log call, and the first few times each is called.
OPERATIONS = ["update_item", "get_item", "put_item", "transact_write_items", "head_object", "get_object",
              "copy_object", "put_object", "delete_object"]
FAULTS = st.dictionaries(st.tuples(st.sampled_from(OPERATIONS), st.integers(min_value=1, max_value=4)),
                         st.sampled_from(["before", "after"]), min_size=1, max_size=3)


class Clock:
    """The handler's clock; a redelivery comes after the claim timeout (a run that died keeps its claim till then)."""

    def __init__(self, timeout_seconds: int):
        self.now, self.step = utcnow(), timedelta(seconds=2 * timeout_seconds)

    def __call__(self):
        return self.now

    def redeliver(self) -> None:
        self.now += self.step


def handler(emulator, faults: Faults, clock: Clock) -> Deliveries:
    """The ingest handler's delivery path, on boto3 clients that fail where `faults` says."""
    settings = emulator.settings
    dynamodb, s3 = faults.wrap(emulator.session.client("dynamodb")), faults.wrap(emulator.s3)
    store = RegistryStore(dynamodb, settings.table)
    claims = ClaimStore(dynamodb, settings.events_table, settings.claim_timeout_seconds)
    artifacts = Artifacts(s3, settings.bucket)
    ingestor = Ingestor(store=store, claims=claims, artifacts=artifacts, settings=settings, clock=clock)
    return Deliveries(ingestor, artifacts, FailureLog(store, claims, clock), settings.incoming_prefix,
                      settings.max_receives)


def deliver(deliveries: Deliveries, body: str, clock: Clock, max_receives: int, between=lambda: None) -> int:
    """Delivers one message until it succeeds, as SQS does, calling `between` after the first failed delivery;
    returns the deliveries it took."""
    for receive in range(1, max_receives + 1):
        try:
            deliveries.handle(body, receive)
            return receive
        except Exception:  # noqa: BLE001 - SQS makes the message visible again
            if receive == 1:
                between()
            clock.redeliver()
    raise AssertionError(f"still failing after {max_receives} deliveries")


def delete_object_version(emulator, upload) -> None:
    """The exception docs/concepts/versions.md names: the object version deleted (its VersionId) before a retry."""
    emulator.s3.delete_object(Bucket=upload.bucket, Key=upload.key, VersionId=upload.version_id)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drops=st.lists(st.tuples(st.sampled_from(sorted(TARBALLS)), st.booleans()), min_size=1, max_size=3),
       plan=FAULTS)
# The two ways a number went unused and lied: a copy that failed, then its object version deleted, then the same
# bytes again ("identical to v1", a v1 never recorded); a record that failed after the copy, then the same
# deletion (the copy left without its record).
@example(drops=[("mxnet", True), ("mxnet", False)], plan={("copy_object", 1): "before"})
@example(drops=[("mxnet", True)], plan={("transact_write_items", 2): "before"})
def test_every_upload_ends_in_one_record_and_at_most_one_recorded_key_whatever_fails_once(emulator, drops, plan):
    # GIVEN a fresh model, and AWS calls of the ingest that fail once each where the plan says
    model, settings = f"m{uuid.uuid4().hex[:12]}", emulator.settings
    faults, clock = Faults(plan), Clock(settings.claim_timeout_seconds)
    deliveries = handler(emulator, faults, clock)
    store = RegistryStore(emulator.session.client("dynamodb"), settings.table)
    # WHEN each tarball is dropped in turn and its event delivered until it is handled (some have their object
    # version deleted after a failed delivery)
    uploads = []
    for kind, lost in drops:
        emulator.drop(f"incoming/{model}.tar.gz", TARBALLS[kind])
        upload = upload_of(emulator, f"incoming/{model}.tar.gz")
        lose = (lambda upload=upload: delete_object_version(emulator, upload)) if lost else (lambda: None)
        deliver(deliveries, notification_body(upload), clock, settings.max_receives, lose)
        uploads.append((upload, TARBALLS[kind]))
    # THEN every upload has exactly one record, a final one
    records, _ = store.list_uploads(model, limit=100, token=None)
    by_event = {record.event_id: record for record in records}
    assert len(records) == len(uploads) == len(by_event), (records, faults.failed)
    keys = emulator.keys(f"models/{model}_v")
    for upload, body in uploads:
        record = by_event[upload.event_id]
        assert record.final, (record, faults.failed)
        owned = [key for key in keys if owner(emulator, key) == upload.event_id]
        if record.outcome == "accepted":  # one key, with its record, holding the bytes
            version = store.get_version(model, record.version)
            assert owned == [version.target_key] and version.event_id == upload.event_id, faults.failed
            assert emulator.read(version.target_key) == body
        else:  # no key at all; "identical" only of a recorded version with these bytes
            assert owned == [], (record, faults.failed)
        if record.outcome == "unchanged":
            same = store.get_version(model, record.equals_version)
            assert same is not None and same.sha256 == hashlib.sha256(body).hexdigest(), faults.failed
        if record.outcome == "rejected":
            assert emulator.read(record.rejected_key) == body
    # AND the model's keys and version records match one to one, numbered 1..N but for the numbers of uploads
    # superseded before they were copied
    versions, _ = store.list_versions(model, limit=100, token=None)
    assert sorted(v.target_key for v in versions) == keys, faults.failed
    counter = store.get_model(model)
    unused = {claims_of(emulator).get(record.event_id).get("reserved_version")
              for record in records if record.outcome == "superseded"}
    numbered = set(range(1, (counter.next_version if counter else 0) + 1))
    assert {v.version for v in versions} == numbered - unused, faults.failed
    assert emulator.keys(f"incoming/{model}") == []


def claims_of(emulator) -> ClaimStore:
    settings = emulator.settings
    return ClaimStore(emulator.session.client("dynamodb"), settings.events_table, settings.claim_timeout_seconds)


def owner(emulator, key: str) -> str | None:
    head = emulator.s3.head_object(Bucket=emulator.settings.bucket, Key=key)
    return head.get("Metadata", {}).get(EVENT_METADATA)
