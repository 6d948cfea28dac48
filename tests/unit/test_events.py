"""Decoding S3 notifications as SQS delivers them."""
import json

from chalicelib.events import decode_sqs_records


def s3_record(key: str, etag: str = "abc", **object_fields) -> dict:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "s3": {"bucket": {"name": "mme-registry-local"},
               "object": {"key": key, "size": 10, "eTag": etag, **object_fields}},
    }


def test_url_encoded_keys_are_decoded_including_slashes_and_plus_signs():
    body = json.dumps({"Records": [s3_record("incoming%2Fmy+model.tar.gz")]})

    [upload] = decode_sqs_records(body)

    assert upload.key == "incoming/my model.tar.gz"
    assert upload.principal == "AWS:AIDAEXAMPLE"


def test_the_s3_test_event_yields_nothing():
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-01T00:00:00Z", "Bucket": "b"})

    assert decode_sqs_records(body) == []


def test_an_sns_envelope_is_unwrapped():
    inner = json.dumps({"Records": [s3_record("incoming/a.tar.gz")]})
    body = json.dumps({"Type": "Notification", "Message": inner})

    assert [u.key for u in decode_sqs_records(body)] == ["incoming/a.tar.gz"]


def test_bodies_that_are_not_notifications_are_skipped_not_raised():
    for body in ("not json", "[]", "null", json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]})):
        assert decode_sqs_records(body) == []


def test_removal_events_are_ignored():
    record = {**s3_record("incoming/a.tar.gz"), "eventName": "ObjectRemoved:Delete"}

    assert decode_sqs_records(json.dumps({"Records": [record]})) == []


def test_duplicate_deliveries_share_an_event_id_and_new_object_versions_do_not():
    first = decode_sqs_records(json.dumps({"Records": [s3_record("incoming/a.tar.gz", versionId="1", sequencer="0A")]}))
    again = decode_sqs_records(json.dumps({"Records": [s3_record("incoming/a.tar.gz", versionId="1", sequencer="0A")]}))
    newer = decode_sqs_records(json.dumps({"Records": [s3_record("incoming/a.tar.gz", versionId="2", sequencer="0B")]}))

    assert first[0].event_id == again[0].event_id
    assert first[0].event_id != newer[0].event_id


def test_quoted_etags_are_normalised():
    [upload] = decode_sqs_records(json.dumps({"Records": [s3_record("incoming/a.tar.gz", etag='"abc"')]}))

    assert upload.etag == "abc"


def test_an_upload_is_made_by_a_role_when_s3_names_a_session_of_that_role_and_by_no_other():
    from chalicelib.events import S3Upload

    def by(principal):
        return S3Upload(bucket="b", key="incoming/m.tar.gz", etag="e", size=1, principal=principal)

    assert by("AWS:AROAAPI:mme-registry-prod-api").made_by_role("AROAAPI")
    assert not by("AWS:AROAAPIX:other-function").made_by_role("AROAAPI")  # a role whose id starts alike
    assert not by("AWS:AIDAMALLORY").made_by_role("AROAAPI")
    assert not by(None).made_by_role("AROAAPI")
    assert not by("AWS:AROAAPI:mme-registry-prod-api").made_by_role("")  # no API role configured
