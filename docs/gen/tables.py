"""Markdown pieces the reference generators share: table cells that survive any text, and JSON Schema
read aloud ("array of string", "1-128 characters"), so the REST API and the change events read alike."""
from __future__ import annotations

import json
from typing import Callable

Link = Callable[[str], str]  # a component name -> a markdown link to it


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def prose(text: str | None) -> str:
    """Text from a docstring or a schema as one markdown line: outside `code spans`, `<`, `>` and `|` are
    escaped (a `<digits>` would otherwise be an HTML tag, a `|` a new table column)."""
    text = " ".join((text or "").split())
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code span at all
        return _escape(text).replace("`", "\\`")
    return "`".join(part if i % 2 else _escape(part) for i, part in enumerate(parts))


def code(text: object) -> str:
    """A code span for any text, even one holding backticks (a `|` in a code span does not split a table cell)."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def type_text(schema: dict, link: Link = code) -> str:
    """What a value may be, in words: references become links, alternatives are joined by "or"."""
    if ref_name(schema):
        return link(ref_name(schema))
    if "const" in schema:
        return code(json.dumps(schema["const"]))
    if "enum" in schema:
        return "one of " + ", ".join(code(json.dumps(value)) for value in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(dict.fromkeys(type_text(option, link) for option in schema[key]))
    if "not" in schema:
        return "anything but " + type_text(schema["not"], link)
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " or ".join(type_text({**schema, "type": kind}, link) for kind in kinds)
    if kinds == "array":
        return "array of " + type_text(schema["items"], link) if "items" in schema else "array"
    if kinds == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "object of " + type_text(schema["additionalProperties"], link)
    if kinds:
        return kinds + (f" ({schema['format']})" if "format" in schema else "")
    return "any"


def _bounds(schema: dict, low: str, high: str, unit: str) -> list[str]:
    if low in schema and high in schema:
        return [f"{schema[low]:,}-{schema[high]:,}{unit}"]
    one = lambda n: f"{n:,}{unit[:-1] if n == 1 and unit else unit}"  # noqa: E731  "at least 1 item"
    return ([f"at least {one(schema[low])}"] if low in schema else []) + (
        [f"at most {one(schema[high])}"] if high in schema else [])


def rules_text(schema: dict) -> str:
    """The constraints of a value and of each of its alternatives: bounds, pattern, default."""
    rules: list[str] = []
    for part in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        rules += _bounds(part, "minLength", "maxLength", " characters")
        rules += _bounds(part, "minimum", "maximum", "")
        rules += _bounds(part, "minItems", "maxItems", " items")
        if "pattern" in part:
            rules.append("matches " + code(part["pattern"]))
    if "default" in schema:
        rules.append("default " + code(json.dumps(schema["default"])))
    return "; ".join(dict.fromkeys(rules))


def description(schema: dict) -> str:
    """The schema's own description, else those of its alternatives (pydantic puts a field's rule there)."""
    texts = [schema.get("description")] + [part.get("description") for key in ("anyOf", "oneOf")
                                           for part in schema.get(key, [])]
    return prose("; ".join(dict.fromkeys(text for text in texts if text)))
