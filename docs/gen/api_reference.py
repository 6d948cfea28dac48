"""The REST API reference page, rendered from the OpenAPI document the app serves (`GET /openapi.json`
through Chalice's test client, with the local stage's settings): every path, method, parameter, body
schema and response status, so the page says what the server enforces and cannot drift from it."""
from __future__ import annotations

import json

from tables import code, description, prose, ref_name, rules_text, table, type_text

METHODS = ("get", "put", "post", "delete", "patch")


def served_document() -> dict:
    """The document exactly as `GET /openapi.json` answers it (the registry_app folder must be on sys.path)."""
    from chalice.test import Client

    import app

    with Client(app.app, stage_name="local") as client:
        answer = client.http.get("/openapi.json")
    if answer.status_code != 200:
        raise RuntimeError(f"GET /openapi.json answered {answer.status_code}: {answer.body!r}")
    return json.loads(answer.body)


def _link(name: str) -> str:
    return f"[{name}](#{name.lower()})"


def _operation(path: str, method: str, op: dict) -> list[str]:
    lines = [f"### {method.upper()} {path}", "", prose(op.get("summary")), ""]
    lines += table(["parameter", "in", "type", "rules", "what"], [
        [code(p["name"]) + ("" if p.get("required") else " (optional)"), p["in"], type_text(p["schema"], _link),
         rules_text(p["schema"]), prose(p.get("description")) or description(p["schema"])]
        for p in op.get("parameters", [])])
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        lines += [f"Body (JSON{'' if body.get('required') else ', optional'}): {type_text(schema, _link)}", ""]
    rows = []
    for status, answer in op["responses"].items():
        content = answer.get("content", {}).get("application/json")
        headers = ", ".join(code(name) for name in answer.get("headers", {}))
        rows.append([status, prose(answer["description"]) + (f" (header {headers})" if headers else ""),
                     type_text(content["schema"], _link) if content else ""])
    lines += table(["status", "meaning", "body"], rows)
    return lines


def _schema(name: str, schema: dict) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [prose(schema["description"]), ""]
    required = set(schema.get("required", ()))
    lines += table(["field", "type", "rules", "what"], [
        [code(field) + ("" if field in required else " (optional)"), type_text(spec, _link), rules_text(spec),
         description(spec)] for field, spec in schema.get("properties", {}).items()])
    if not schema.get("properties"):
        lines += [f"A JSON {type_text(schema, _link)}.", ""]
    return lines


def page(document: dict | None = None) -> str:
    document = document or served_document()
    lines = ["# REST API reference", "",
             "Generated at build time from the OpenAPI 3.1 document the registry serves at `GET /openapi.json`. "
             + prose(document["info"].get("description")), "",
             "Error bodies are " + _link("ErrorBody") + ". Every route needs SigV4 in a deployed registry "
             "(API Gateway's IAM authorizer); see [The REST API](../rest-api.md) for the rules in prose.", "",
             "## Routes", ""]
    for path, operations in document["paths"].items():
        for method in METHODS:
            if method in operations:
                lines += _operation(path, method, operations[method])
    lines += ["## Schemas", ""]
    for name, schema in sorted(document["components"]["schemas"].items()):
        if ref_name(schema) is None:
            lines += _schema(name, schema)
    return "\n".join(lines)
