"""What the ingest handler reads from a queue message: re-announced S3 events, receive counts."""
from chalicelib.deliveries import jobs_of, receive_count
from chalicelib.events import S3Upload, decode_sqs_records, notification_body


def test_a_reannounced_upload_decodes_to_the_same_upload_and_identity():
    upload = S3Upload(bucket="mme-registry-local", key="incoming/team a/m+1.tar.gz", etag="abc", size=10,
                      version_id="v1", event_time="2026-01-01T00:00:00+00:00")

    [decoded] = decode_sqs_records(notification_body(upload))

    assert decoded == upload
    assert decoded.event_id == upload.event_id


def test_a_drop_folder_event_is_filed_under_the_model_its_key_names():
    upload = S3Upload(bucket="b", key="incoming/resnet_18_v2.tar.gz", etag="e", size=5, version_id="v")

    [job] = jobs_of(notification_body(upload), "incoming/")

    assert job.name == "resnet_18"


def test_an_upload_whose_key_names_no_model_is_filed_under_invalid_names():
    upload = S3Upload(bucket="b", key="incoming/../x.tar.gz", etag="e", size=5, version_id="v")

    assert [job.name for job in jobs_of(notification_body(upload), "incoming/")] == ["invalid-names"]


def test_the_receive_count_comes_from_the_sqs_record_attributes():
    assert receive_count({"attributes": {"ApproximateReceiveCount": "5"}}) == 5
    assert receive_count({}) == 1
