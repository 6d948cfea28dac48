"""Reading the outbox in tests: every waiting event, each checked against its published JSON schema."""
import json
from pathlib import Path

import jsonschema

from chalicelib.outbox.items import Outbox

SCHEMAS = Path(__file__).resolve().parents[1] / "events" / "schemas" / "v1"


def schema(kind: str) -> dict:
    return json.loads((SCHEMAS / f"{kind}.json").read_text())


def check(event: dict) -> dict:
    """Raises unless `event` satisfies the schema of its type; answers it."""
    jsonschema.validate(event, schema(event["type"]), format_checker=jsonschema.FormatChecker())
    return event


def outbox_events(dynamodb, table: str) -> list[dict]:
    """Every event in the outbox, in publishing order per stream, each schema-checked."""
    return [check(p.event) for p in Outbox(dynamodb, table).pending(10_000)]


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]
