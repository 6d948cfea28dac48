"""What the ingest handler reads from a queue message: re-announced S3 events, queued registrations, receive counts."""
from chalicelib.versions.deferred import QueuedRegistration
from chalicelib.versions.deliveries import jobs_of, receive_count
from chalicelib.events import S3Upload, decode_sqs_records, notification_body


def test_a_reannounced_upload_decodes_to_the_same_upload_and_identity():
    upload = S3Upload(bucket="mme-registry-local", key="incoming/team a/m+1.tar.gz", etag="abc", size=10,
                      version_id="v1", event_time="2026-01-01T00:00:00+00:00")

    [decoded] = decode_sqs_records(notification_body(upload))

    assert decoded == upload
    assert decoded.event_id == upload.event_id


def test_a_queued_registration_is_one_job_under_its_own_model_name():
    upload = S3Upload(bucket="b", key="sources/x.tar.gz", etag="e", size=5, principal="arn:u", sequencer="rest:m")
    command = QueuedRegistration("m", upload, ["a"], {"k": "v"}, "arn:u")

    [job] = jobs_of(command.body(), "incoming/")

    assert (job.name, job.upload, job.registration) == ("m", upload, command)


def test_a_drop_folder_event_is_filed_under_the_model_its_key_names():
    upload = S3Upload(bucket="b", key="incoming/resnet_18_v2.tar.gz", etag="e", size=5, version_id="v")

    [job] = jobs_of(notification_body(upload), "incoming/")

    assert (job.name, job.registration) == ("resnet_18", None)


def test_an_upload_whose_key_names_no_model_is_filed_under_invalid_names():
    upload = S3Upload(bucket="b", key="incoming/../x.tar.gz", etag="e", size=5, version_id="v")

    assert [job.name for job in jobs_of(notification_body(upload), "incoming/")] == ["invalid-names"]


def test_the_receive_count_comes_from_the_sqs_record_attributes():
    assert receive_count({"attributes": {"ApproximateReceiveCount": "5"}}) == 5
    assert receive_count({}) == 1
