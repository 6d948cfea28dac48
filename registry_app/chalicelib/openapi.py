"""Builds the OpenAPI 3.1 document from the routes as declared (http.Api) and their pydantic models.

Generated, never written by hand, so the document cannot drift from what the app accepts:
a route exists in it exactly when it is declared, with the very models that validate it.
"""
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import names
from .http import MAX_BODY_BYTES, Operation
from .schemas import ErrorBody

REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)}")
_REASONS = {200: "OK", 201: "Created", 202: "Accepted: queued; the Location header names the upload record", 204: "No Content", 400: "Malformed request (not JSON)", 404: "Not found",
            409: "Conflict", 413: f"Body larger than {MAX_BODY_BYTES} bytes", 422: "Invalid field",
            503: "Temporarily unavailable; retry"}
PATH_PARAMS = {
    "name": {"type": "string", "minLength": 1, "maxLength": names.MAX_NAME_LENGTH,
             "description": f"{names.NAME_RULE}; a '/' inside it is sent as %2F"},
    "alias": {"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,128}$", "description": names.ALIAS_RULE},
    "n": {"type": "integer", "minimum": 1, "description": "a version number"},
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
        if status == 202:
            responses["202"]["headers"] = {"Location": {"description": "where to read the outcome",
                                                        "schema": {"type": "string"}}}
    error_schema = refs[(ErrorBody, "serialization")]
    statuses = set(op.errors) | ({400, 413, 422} if op.body is not None else set()) | ({422} if op.query else set())
    for status in sorted(statuses):
        responses[str(status)] = {"description": _REASONS.get(status, "Error"),
                                  "content": {"application/json": {"schema": error_schema}}}
    entry["responses"] = responses
    return entry


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters = []
    for name in _PARAM.findall(op.path):
        schema = dict(PATH_PARAMS.get(name, {"type": "string", "minLength": 1}))
        parameters.append({"name": name, "in": "path", "required": True, "description": schema.pop("description", name),
                           "schema": schema})
    if op.query is not None:
        query_schema = op.query.model_json_schema(ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, schema in query_schema["properties"].items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    return parameters
