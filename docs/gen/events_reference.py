"""The change events reference page, written from `events/schemas/v1/*.json` and their examples: every
field of every event (nested ones by their dotted path), whether it is always there, and a real example."""
from __future__ import annotations

import json
from pathlib import Path

from tables import code, description, prose, rules_text, table, type_text


def _nested(spec: dict) -> tuple[dict | None, str]:
    """The object a field holds (also inside "object or null"), or the object its array holds."""
    for part in [spec, *spec.get("oneOf", []), *spec.get("anyOf", [])]:
        if "properties" in part:
            return part, "."
        if "properties" in part.get("items", {}):
            return part["items"], "[]."
    return None, ""


def _fields(schema: dict, prefix: str = "") -> list[list[str]]:
    rows = []
    required = set(schema.get("required", ()))
    for name, spec in schema["properties"].items():
        rows.append([code(prefix + name), "yes" if name in required else "no", type_text(spec), rules_text(spec),
                     description(spec)])
        inner, joint = _nested(spec)
        if inner is not None:
            rows += _fields(inner, prefix + name + joint)
    return rows


def _event(schema_file: Path, root: Path) -> list[str]:
    schema = json.loads(schema_file.read_text())
    example = schema_file.parent / "examples" / schema_file.name
    lines = [f"## {schema['title']}", "", prose(schema.get("description")), "",
             f"Schema: {code(schema_file.relative_to(root).as_posix())}"
             + (f", example: {code(example.relative_to(root).as_posix())}" if example.exists() else "") + ".", ""]
    lines += table(["field", "always", "type", "rules", "what"], _fields(schema))
    if example.exists():
        lines += ["Example:", "", "```json", example.read_text().strip(), "```", ""]
    return lines


def page(schemas: Path, root: Path) -> str:
    """`schemas`: the folder of one schema version; `root`: the repository, to name files from."""
    files = sorted(schemas.glob("*.json"))
    lines = ["# Change events reference", "",
             f"Generated at build time from the JSON schemas in `{schemas.relative_to(root).as_posix()}/` and the "
             "example beside each. "
             "Each event is the `detail` of an EventBridge event whose `source` is `mme-registry` and whose "
             "`detail-type` is the event's name; [Reacting to registry changes](../events.md) says what a consumer "
             "can count on.", "",
             *table(["event", "when"], [[f"[{f.stem}](#{f.stem.lower()})",
                                         prose(json.loads(f.read_text()).get("description", "").split(". ")[0])]
                                        for f in files])]
    for schema_file in files:
        lines += _event(schema_file, root)
    return "\n".join(lines)
