"""The tag index: one item per (tag key, value, model, version), written in the transaction that sets the tag.

Item layout (same table as RegistryStore):
  pk=TAG#["<key>","<value>"]   sk=<model>#<version, 10 digits>   name, version, framework

A tag query is then a Query of one partition (optionally of one model's sort keys): it reads
the items that carry the tag and nothing else, at 1,000 versions as at 100,000.
"""
import json

from ..dynamo import to_item
from ..records import VersionRecord

TAG_PREFIX = "TAG#"
LAST = 10**10 - 1  # the highest version a sort key holds: "after every version of this model"


def tag_pk(key: str, value: str) -> str:
    return TAG_PREFIX + json.dumps([key, value], separators=(",", ":"), ensure_ascii=False)


def tag_sk(model: str, version: int) -> str:
    return f"{model}#{version:010d}"


def model_prefix(model: str) -> str:
    return f"{model}#"


def _put(table: str, record: VersionRecord, key: str, value: str) -> dict:
    item = {"pk": tag_pk(key, value), "sk": tag_sk(record.name, record.version), "name": record.name,
            "version": record.version, "framework": record.framework}
    return {"Put": {"TableName": table, "Item": to_item(item)}}


def _delete(table: str, record: VersionRecord, key: str, value: str) -> dict:
    return {"Delete": {"TableName": table, "Key": to_item({"pk": tag_pk(key, value),
                                                           "sk": tag_sk(record.name, record.version)})}}


def index_writes(table: str, record: VersionRecord, before: dict[str, str]) -> list[dict]:
    """The transaction elements that take the index from `before` to `record.tags`."""
    after = record.tags
    gone = [_delete(table, record, k, v) for k, v in before.items() if after.get(k) != v]
    added = [_put(table, record, k, v) for k, v in after.items() if before.get(k) != v]
    return gone + added
