"""What an upload says of its version (description, tags, card): at the drop folder, at registration, in a link."""
import json

import pytest
from aws_fakes import ScriptedRuntime

from local_stack.demo.sample_models import cached_tarball
from test_api_routes import put_object
from test_version_metadata import call
from registry_in_process import ingest

pytestmark = pytest.mark.xdist_group("upload_metadata")


def test_a_drop_folder_upload_carries_its_description_and_tags_and_is_found_by_tag(client, registry_app):
    record = ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(),
                    {"description": "handwritten digits", "tags": "team=vision; stage=beta"})

    assert record.outcome == "accepted"
    version = call(client, "GET", "/models/digits/versions/1")[1]
    assert (version["description"], version["tags"]) == ("handwritten digits", {"team": "vision", "stage": "beta"})
    assert "tags" not in version["metadata"] and "description" not in version["metadata"]
    assert [m["name"] for m in call(client, "GET", "/models?tag=team:vision")[1]["items"]] == ["digits"]
    assert [v["version"] for v in call(client, "GET", "/models/digits/versions?tag=stage:beta")[1]["items"]] == [1]
    assert call(client, "GET", "/models?tag=team:audio")[1]["items"] == []


@pytest.mark.parametrize("metadata, rule", [
    ({"tags": "team!=vision"}, "tags.key"),
    ({"tags": ";".join(f"k{n}=v" for n in range(51))}, "tags.count"),
    ({"tags": "team=a;team=b"}, "tags.duplicate"),
    ({"description": "d" * 1025}, "description.length"),
    ({"card": "{not json"}, "card.json"),
])
def test_malformed_upload_metadata_is_a_rejection_by_its_rule_before_a_number_is_reserved(registry_app, metadata,
                                                                                          rule):
    record = ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(), metadata)

    assert (record.outcome, record.rules, record.version) == ("rejected", [rule], None)
    assert record.rejected_key is not None
    model = registry_app.get_store().get_model("digits")
    assert model is None or model.next_version == 0


def test_a_registration_records_its_description_tags_and_card(client, registry_app):
    source = put_object(registry_app, "staging/digits.tar.gz", cached_tarball("digits").read_bytes())
    card = {"intended_use": "demo", "metrics": {"accuracy": 0.97},
            "links": [{"title": "commit", "url": "https://git.example.com/c/1"}]}

    status, answer = call(client, "POST", "/models/digits/versions", {
        "source": source, "description": "digits", "tags": {"team": "vision"}, "card": card})

    assert status == 201
    version = answer["version"]
    assert (version["description"], version["tags"], version["metadata"]) == ("digits", {"team": "vision"}, {})
    assert version["card"]["metrics"] == {"accuracy": 0.97} and version["card"]["links"][0]["title"] == "commit"


def test_a_registration_over_a_limit_is_422_naming_it_and_registers_nothing(client, registry_app):
    source = put_object(registry_app, "staging/digits.tar.gz", cached_tarball("digits").read_bytes())

    status, error = call(client, "POST", "/models/digits/versions",
                         {"source": source, "tags": {f"k{n}": "v" for n in range(51)}})

    assert status == 422 and "tags.count" in error["error"]["message"]
    assert call(client, "GET", "/models/digits")[0] == 404


def test_an_upload_link_signs_the_description_tags_and_card_into_its_metadata(client):
    status, link = call(client, "POST", "/models/digits/uploads", {
        "description": "digits", "tags": {"team": "vision", "stage": "beta"}, "card": {"owner": "ml"}})

    assert status == 201
    assert link["headers"]["x-amz-meta-tags"] == "team=vision;stage=beta"
    assert link["headers"]["x-amz-meta-description"] == "digits"
    assert json.loads(link["headers"]["x-amz-meta-card"])["owner"] == "ml"
    assert "x-amz-meta-tags" in link["url"] and "x-amz-meta-card" in link["url"]


def test_an_upload_link_whose_metadata_exceeds_what_s3_keeps_is_422_naming_the_rule(client):
    status, error = call(client, "POST", "/models/digits/uploads", {"card": {"limitations": "l" * 3000}})

    assert status == 422 and error["error"]["details"]["rule"] == "upload.metadata_size"


def test_an_upload_link_with_a_description_s3_metadata_cannot_carry_is_422_naming_the_rule(client):
    # botocore refuses to sign a header that is not ASCII
    status, error = call(client, "POST", "/models/digits/uploads", {"description": "modèle \x80"})

    assert (status, error["error"]["details"]["rule"]) == (422, "upload.metadata_ascii")


def test_a_card_with_other_characters_travels_in_a_link_as_ascii_json(client):
    status, link = call(client, "POST", "/models/digits/uploads", {"card": {"owner": "équipe"}})

    assert status == 201 and json.loads(link["headers"]["x-amz-meta-card"])["owner"] == "équipe"
