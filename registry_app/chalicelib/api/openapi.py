"""Builds the OpenAPI 3.1 document from the routes as declared (http.Api) and their pydantic models.

Generated, never written by hand, so the document cannot drift from what the app accepts:
a route exists in it exactly when it is declared, with the very models that validate it.
"""
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from .http import MAX_BODY_BYTES, Operation
from .schemas import ErrorBody

REF = "#/components/schemas/{model}"
_REASONS = {200: "OK", 201: "Created", 202: "Accepted: queued; the Location header names the upload record",
            204: "No Content", 400: "Malformed request (not JSON)",
            404: "Not found (in a listing: a next_token that names no page of it)", 409: "Conflict",
            413: f"Body larger than {MAX_BODY_BYTES} bytes", 422: "Invalid field", 503: "Temporarily unavailable; retry"}


# Where an answer leads (OpenAPI links): (method, path, status) -> {link: (operationId, parameters[, body])}.
# Each value is a runtime expression over the request or the answer, so a client generator, or schemathesis'
# stateful phase, can walk from a listing to a model, its versions and uploads, and from an alias write to
# the alias's routes, with names and numbers that exist.
_FIRST_MODEL = "$response.body#/items/0/name"
_LINKS: dict[tuple[str, str, int], dict[str, tuple]] = {
    ("GET", "/models", 200): {
        "GetModel": ("get_model", {"name": _FIRST_MODEL}),
        "ListVersions": ("list_versions", {"name": _FIRST_MODEL}),
        "GetLatestVersion": ("get_version", {"name": _FIRST_MODEL, "n": "$response.body#/items/0/latest_version"}),
        "ListUploads": ("list_uploads", {"name": _FIRST_MODEL}),
    },
    ("GET", "/models/{name}", 200): {
        "GetLatestVersion": ("get_version", {"name": "$request.path.name", "n": "$response.body#/latest_version"}),
        "ListLatestMembers": ("list_members", {"name": "$request.path.name", "n": "$response.body#/latest_version"}),
        "GetFirstAlias": ("get_alias", {"alias": "$response.body#/aliases/0/alias"}),
    },
    ("GET", "/models/{name}/versions", 200): {
        "GetVersion": ("get_version", {"name": "$request.path.name", "n": "$response.body#/items/0/version"}),
        "PointAlias": ("put_alias", {}, {"model": "$request.path.name", "version": "$response.body#/items/0/version"}),
    },
    ("GET", "/models/{name}/uploads", 200): {
        "GetUpload": ("get_upload", {"name": "$request.path.name", "event_id": "$response.body#/items/0/event_id"}),
    },
    ("POST", "/models/{name}/versions", 201): {
        "GetUpload": ("get_upload", {"name": "$request.path.name", "event_id": "$response.body#/event_id"}),
        "GetVersion": ("get_version", {"name": "$request.path.name", "n": "$response.body#/version/version"}),
    },
    ("POST", "/models/{name}/versions", 202): {
        "GetUpload": ("get_upload", {"name": "$request.path.name", "event_id": "$response.body#/event_id"}),
    },
    ("GET", "/aliases", 200): {
        "GetAlias": ("get_alias", {"alias": "$response.body#/items/0/alias"}),
        "AliasHistory": ("alias_history", {"alias": "$response.body#/items/0/alias"}),
    },
    ("PUT", "/aliases/{alias}", 200): {
        "GetAlias": ("get_alias", {"alias": "$request.path.alias"}),
        "AliasHistory": ("alias_history", {"alias": "$request.path.alias"}),
        "RollbackAlias": ("rollback_alias", {"alias": "$request.path.alias"}),
        "DeleteAlias": ("delete_alias", {"alias": "$request.path.alias",
                                         "expected_revision": "$response.body#/revision"}),
    },
}


def build(operations: list[Operation], title: str, version: str, server: str | None = None) -> dict[str, Any]:
    schemas, refs = _components(operations)
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    document = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Immutable, validated model versions and aliases for a SageMaker multi-model endpoint. "
                                "Every error is {\"error\": {\"code\", \"message\", \"details\"}}."},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if server:
        document["servers"] = [{"url": server}]
    return document


def _components(operations: list[Operation]) -> tuple[dict, dict]:
    wanted: list[tuple[type[BaseModel], str]] = [(ErrorBody, "serialization")]
    for op in operations:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        if op.answer is not None:
            wanted.append((op.answer, "serialization"))
        wanted.extend((model, "serialization") for model in op.answers.values())
    wanted = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(wanted, ref_template=REF)
    return top.get("$defs", {}), refs


def _operation(op: Operation, refs: dict) -> dict[str, Any]:
    entry: dict[str, Any] = {"operationId": op.view_name, "summary": op.summary, "parameters": _parameters(op)}
    if op.body is not None:
        entry["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    answer: dict[str, Any] = {"description": _REASONS.get(op.status, "OK")}
    if op.answer is not None:
        answer["content"] = {"application/json": {"schema": refs[(op.answer, "serialization")]}}
    responses = {str(op.status): answer}
    for status, model in sorted(op.answers.items()):
        responses[str(status)] = {"description": _REASONS.get(status, "OK"),
                                  "content": {"application/json": {"schema": refs[(model, "serialization")]}}}
    for status in (op.status, *op.answers):
        links = _LINKS.get((op.method.upper(), op.path, status))
        if links:
            responses[str(status)]["links"] = {name: _link(*link) for name, link in links.items()}
        if status == 202:
            responses["202"]["headers"] = {"Location": {"description": "where to read the outcome",
                                                        "schema": {"type": "string"}}}
    error_schema = refs[(ErrorBody, "serialization")]
    statuses = set(op.errors) | ({400, 413, 422} if op.body is not None else set()) | ({422} if op.query else set())
    statuses |= {422} if op.path_types else set()  # every path parameter has a rule
    statuses |= {404} if op.query is not None and "next_token" in op.query.model_fields else set()
    for status in sorted(statuses):
        responses[str(status)] = {"description": _REASONS.get(status, "Error"),
                                  "content": {"application/json": {"schema": error_schema}}}
    entry["responses"] = responses
    return entry


def _link(target: str, parameters: dict[str, str], body: dict | None = None) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": target, "parameters": parameters}
    if body is not None:
        link["requestBody"] = body
    return link


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters = []
    for name, kind in op.path_types.items():  # the types http.Api validates them with
        schema = TypeAdapter(kind).json_schema(ref_template=REF)
        if schema.get("type") == "string":
            schema.setdefault("minLength", 1)  # an empty segment never reaches a route
        parameters.append({"name": name, "in": "path", "required": True, "description": schema.pop("description", name),
                           "schema": schema})
    if op.query is not None:
        query_schema = op.query.model_json_schema(ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, schema in query_schema["properties"].items():
            schema = _without_null(schema)  # a query string has no null: absent is how it says none
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1 or len(branches) == len(schema.get("anyOf", [])):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**branches[0], **rest}
