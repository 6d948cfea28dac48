"""The OpenAPI document is generated from the declared routes and their models, and is valid OpenAPI 3.1."""
import json

import pytest
from openapi_spec_validator import validate

import app as registry
from chalicelib import names

FALLBACKS = {"method_not_allowed", "_unknown_route"}


@pytest.fixture(scope="module")
def document():
    return registry.openapi.build(registry.api.operations, title="mme-registry", version="1")


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_the_app_serves_is_in_the_document_and_nothing_else(document):
    served = {(path, method.lower()) for path, entries in registry.app.routes.items()
              for method, entry in entries.items() if entry.view_name not in FALLBACKS}
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}

    assert documented == served
    assert len(served) == 25


def test_request_bodies_reject_unknown_fields(document):
    schemas = document["components"]["schemas"]
    put_alias = document["paths"]["/aliases/{alias}"]["put"]["requestBody"]["content"]["application/json"]["schema"]

    target = schemas[put_alias["$ref"].rsplit("/", 1)[-1]]
    assert target["additionalProperties"] is False
    assert {"model", "version", "targets", "expected_revision"} <= set(target["properties"])


def test_every_error_answer_has_the_one_error_shape(document):
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, status)
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "details"}


def test_path_parameters_carry_their_naming_rules(document):
    parameters = document["paths"]["/aliases/{alias}"]["get"]["parameters"]
    [alias] = [p for p in parameters if p["name"] == "alias"]
    assert (alias["schema"]["pattern"], alias["schema"]["maxLength"]) == (names.ALIAS_PATTERN, names.MAX_ALIAS_LENGTH)
    versions = {p["name"]: p["schema"] for p in document["paths"]["/models/{name}/versions/{n}"]["get"]["parameters"]}
    assert (versions["name"]["pattern"], versions["name"]["maxLength"]) == (names.NAME_PATTERN, names.MAX_NAME_LENGTH)
    assert versions["n"] == {"type": "integer", "minimum": 1, "maximum": names.MAX_NUMBER}


def test_listings_document_their_page_parameters(document):
    parameters = {p["name"]: p for p in document["paths"]["/aliases"]["get"]["parameters"]}

    assert parameters["limit"]["schema"]["maximum"] == 1000
    assert parameters["limit"]["schema"]["default"] == 50
    assert parameters["next_token"]["in"] == "query"


def test_the_document_is_plain_json(document):
    assert json.loads(json.dumps(document)) == document
