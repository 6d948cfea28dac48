"""What a change event may weigh where it goes: one PutEvents entry, one PutEvents call, one outbox item.

EventBridge counts an entry as the UTF-8 bytes of its Source, DetailType and Detail (plus 14 for a
Time and each Resource, neither of which the registry sets) and refuses a whole call whose entries
add up to more than 256 KB ("Calculating PutEvents event entry size", EventBridge user guide).
One event's detail is held to DETAIL_BUDGET, well under that, so a queue or Lambda target still
gets the event whole inside EventBridge's envelope. A larger event (a rejection listing thousands
of rules, an alias split over many targets) is published trimmed: its identity whole, its long
fields shortened, `trimmed` naming them and `full_record` the API path that reads the full record.

The outbox item budget: an item is the (fitted) event's JSON plus its keys and counters, so it stays
under DETAIL_BUDGET + ITEM_OVERHEAD, far below DynamoDB's 400 KB item limit (OUTBOX_ITEM_LIMIT).
"""
import json
from urllib.parse import quote

from .changes import SOURCE, Event

CALL_LIMIT = 256 * 1024  # every entry of one PutEvents together
DETAIL_BUDGET = 64 * 1024  # one event's detail
OUTBOX_ITEM_LIMIT = 400 * 1024  # DynamoDB's item size limit
ITEM_OVERHEAD = 4 * 1024  # sort key (a 200-character name), stream, event id, type, attempts, last error (1,000)
STRING_BYTES = 512  # a trimmed field's string keeps this much of its JSON
LIST_ITEMS = 10  # ... and a trimmed list its first ten items
IDENTITY = ("schema_version", "type", "event_id", "time", "actor", "model", "alias", "version", "revision",
            "action", "created", "upload_event_id", "equals_version", "status", "changed")


def detail(event: Event) -> str:
    """The Detail of the event's PutEvents entry (and the outbox item's `event`)."""
    return json.dumps(event, sort_keys=True)


def entry_size(entry: dict) -> int:
    """EventBridge's own count of a PutEventsRequestEntry."""
    size = 14 if entry.get("Time") is not None else 0
    size += sum(len(entry.get(name, "").encode()) for name in ("Source", "DetailType", "Detail"))
    return size + sum(len(resource.encode()) for resource in entry.get("Resources") or [])


def fitted(event: Event) -> Event:
    """The event itself when its detail is within DETAIL_BUDGET, else a trimmed copy that points at the record."""
    if len(detail(event).encode()) <= DETAIL_BUDGET:
        return event
    trimmed = {key: value for key, value in event.items() if key in IDENTITY}
    shortened = []
    for key, value in event.items():
        if key in IDENTITY or key in ("trimmed", "full_record"):
            continue
        trimmed[key] = _short(value)
        if trimmed[key] != value:
            shortened.append(key)
    return {**trimmed, "trimmed": sorted(shortened), "full_record": full_record(event)}


def full_record(event: Event) -> str:
    """The registry API path (GET, under the API's base URL) that reads everything the event announces."""
    kind = event["type"]
    if kind == "AliasMoved":
        return f"/aliases/{quote(event['alias'], safe='')}/history"  # the change with the event's revision
    if kind == "AliasPolicyChanged":
        return f"/aliases/{quote(event['alias'], safe='')}/policy"
    if kind == "RolloutChanged":
        return f"/aliases/{quote(event['alias'], safe='')}/rollouts"
    model = quote(event["model"], safe="")
    if kind == "ShadowCompared":
        return f"/models/{model}/versions/{event['version']}/shadow"
    if kind in ("ModelVersionRegistered", "VersionRetired"):
        return f"/models/{model}/versions/{event['version']}"
    if kind in ("VersionMetadataChanged", "VersionApprovalChanged"):
        return f"/models/{model}/versions/{event['version']}/history"  # the change with the event's revision
    return f"/models/{model}/uploads/{quote(event['upload_event_id'], safe='')}"


def _short(value):
    """Strings cut to STRING_BYTES of JSON, lists to their first LIST_ITEMS, recursively: each bounded."""
    if isinstance(value, str):
        return _short_string(value)
    if isinstance(value, list):
        return [_short(item) for item in value[:LIST_ITEMS]]
    if isinstance(value, dict):
        return {key: _short(item) for key, item in value.items()}
    return value


def _short_string(text: str) -> str:
    if len(json.dumps(text)) <= STRING_BYTES:
        return text
    kept, used = [], 2
    for char in text:
        used += len(json.dumps(char)) - 2
        if used > STRING_BYTES - 40:
            break
        kept.append(char)
    return "".join(kept) + f"… ({len(text) - len(kept)} more characters)"


def entry(event: Event, bus: str) -> dict:
    """The PutEvents entry that publishes `event` (fitted) on `bus`."""
    return {"Source": SOURCE, "DetailType": event["type"], "Detail": detail(fitted(event)), "EventBusName": bus}
