"""What the ingest handler reads from a queue message: the model each upload is filed under, receive counts."""
import json

from chalicelib.deliveries import jobs_of, receive_count


def notification(key: str) -> str:
    obj = {"key": key, "size": 5, "eTag": "e", "versionId": "v"}
    return json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": obj}}]})


def test_a_drop_folder_event_is_filed_under_the_model_its_key_names():
    [job] = jobs_of(notification("incoming/resnet_18_v2.tar.gz"), "incoming/")

    assert job.name == "resnet_18"


def test_an_upload_whose_key_names_no_model_is_filed_under_invalid_names():
    assert [job.name for job in jobs_of(notification("incoming/../x.tar.gz"), "incoming/")] == ["invalid-names"]


def test_the_receive_count_comes_from_the_sqs_record_attributes():
    assert receive_count({"attributes": {"ApproximateReceiveCount": "5"}}) == 5
    assert receive_count({}) == 1
