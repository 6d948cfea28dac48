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
    assert len(served) == 33


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


def test_every_link_leads_to_an_operation_of_the_document_and_names_its_path_parameters(document):
    operations = {op["operationId"]: (path, op) for path, ops in document["paths"].items() for op in ops.values()}
    links = [link for ops in document["paths"].values() for op in ops.values() for answer in op["responses"].values()
             for link in answer.get("links", {}).values()]

    assert len(links) >= 15
    for link in links:
        path, target = operations[link["operationId"]]
        known = {p["name"] for p in target["parameters"]}
        assert set(link["parameters"]) <= known, link
        if "requestBody" not in link:  # a link that writes (point an alias at a listed version) lets the client name it
            assert {p["name"] for p in target["parameters"] if p["in"] == "path"} <= set(link["parameters"]), link
    listed = document["paths"]["/models"]["get"]["responses"]["200"]["links"]
    assert listed["GetModel"] == {"operationId": "get_model", "parameters": {"name": "$response.body#/items/0/name"}}
