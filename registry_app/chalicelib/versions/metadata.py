"""What people say about a version (description, tags, model card, approval): compare-and-set, with history.

The bytes of a version never change; these fields do. Every change is ONE TransactWriteItems:
the version item (conditional on the metadata_revision the caller read), a history entry, the
tag index items (tag_index.py) and the change event. Item layout (same table as RegistryStore):
  pk=MODEL#<name>   sk=M#<version, 10 digits>#<revision, 10 digits>   one change: who, when, what
"""
from typing import Any, Callable, Literal

from botocore.exceptions import ClientError

from .. import names
from ..dynamo import is_condition_failure, query_page, to_item, to_value
from ..errors import InvalidInput, NotFound, RevisionConflict
from ..outbox import changes, items as outbox
from ..records import ModelCard, VersionRecord, utcnow
from .metadata_rules import apply_tag_patch, check_card, check_description
from .store import RegistryStore, model_pk, version_sk
from .tag_index import index_writes

HISTORY_PREFIX = "M#"
MAX_INDEX_WRITES = 96  # TransactWriteItems takes 100 elements: the version, its history entry, the event, the index


def history_prefix(version: int) -> str:
    return f"{HISTORY_PREFIX}{version:010d}#"


class VersionMetadata:
    def __init__(self, client, table: str, store: RegistryStore, clock: Callable = utcnow):
        self._db = client
        self._table = table
        self._store = store
        self._clock = clock

    def version(self, name: str, version: int) -> VersionRecord:
        record = self._store.get_version(names.validate_model_name(name), version)
        if record is None:
            raise NotFound(f"{name} v{version} does not exist", {"model": name, "version": version})
        return record

    def edit(self, name: str, version: int, expected_revision: int, actor: str | None, description: str | None = None,
             tags: dict[str, str | None] | None = None, card: dict[str, Any] | None = None) -> VersionRecord:
        """Applies the given fields (tags as a patch: None removes a key; the card whole) if the version is still
        at `expected_revision`; RevisionConflict otherwise."""
        current = self.version(name, version)
        self._check_expected(current, expected_revision)
        update: dict[str, Any] = {}
        change: dict[str, Any] = {}
        if description is not None and description != current.description:
            update["description"] = change["description"] = check_description(description)
        if tags is not None:
            after = apply_tag_patch(current.tags, tags)
            if after != current.tags:
                update["tags"] = after
                change["tags"] = {"set": {k: v for k, v in sorted(after.items()) if current.tags.get(k) != v},
                                  "removed": sorted(set(current.tags) - set(after))}
        if card is not None:
            new_card = ModelCard(**check_card(card))
            if new_card != current.card:
                update["card"] = change["card"] = new_card
        if not update:
            return current
        return self.write(current, current.model_copy(update=update), "metadata", change, actor)

    def write(self, current: VersionRecord, updated: VersionRecord, kind: Literal["metadata", "approval"],
              change: dict[str, Any], actor: str | None) -> VersionRecord:
        """The one write of this module: `updated` over `current`, compare-and-set on metadata_revision."""
        at = self._clock()
        revision = current.metadata_revision + 1
        updated = updated.model_copy(update={"metadata_revision": revision})
        index = index_writes(self._table, updated, current.tags)
        if len(index) > MAX_INDEX_WRITES:
            raise InvalidInput(f"this edit changes {len(index)} tag index entries; one edit may change at most "
                               f"{MAX_INDEX_WRITES} (rule tags.edit_size): send it as two edits",
                               {"rule": "tags.edit_size"})
        fields = {"description": updated.description, "tags": updated.tags,
                  "card": updated.card.model_dump(mode="json"), "approval": updated.approval.model_dump(mode="json"),
                  "metadata_revision": revision}
        names_ = {f"#{k}": k for k in fields}
        values = {f":{k}": to_value(v) for k, v in fields.items()}
        values[":expected"] = to_value(current.metadata_revision)
        condition = "attribute_exists(pk) AND metadata_revision = :expected"
        if current.metadata_revision == 0:
            condition = ("attribute_exists(pk) AND (attribute_not_exists(metadata_revision)"
                         " OR metadata_revision = :expected)")
        version_update = {"Update": {
            "TableName": self._table, "Key": to_item({"pk": model_pk(current.name), "sk": version_sk(current.version)}),
            "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in fields),
            "ConditionExpression": condition, "ExpressionAttributeNames": names_, "ExpressionAttributeValues": values}}
        said = {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v) for k, v in change.items()}
        entry = {"pk": model_pk(current.name), "sk": f"{history_prefix(current.version)}{revision:010d}",
                 "revision": revision, "at": at.isoformat(), "actor": actor, "kind": kind, "change": said}
        history = {"Put": {"TableName": self._table, "Item": to_item(entry),
                           "ConditionExpression": "attribute_not_exists(pk)"}}
        event = changes.version_metadata_changed(updated, at, actor, said) if kind == "metadata" \
            else changes.version_approval_changed(updated, at, actor)
        try:
            self._db.transact_write_items(TransactItems=[version_update, history, *index,
                                                         outbox.put(self._table, event)])
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise self._stale(self.version(current.name, current.version), current.metadata_revision) from None
        return updated

    def history(self, name: str, version: int, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        """Newest first; a version without changes has an empty history."""
        self.version(name, version)
        return query_page(self._db, self._table, model_pk(name), history_prefix(version), limit, token,
                          newest_first=True, consistent=True)

    def _check_expected(self, current: VersionRecord, expected: int) -> None:
        if expected != current.metadata_revision:
            raise self._stale(current, expected)

    @staticmethod
    def _stale(current: VersionRecord, expected: int) -> RevisionConflict:
        return RevisionConflict(
            f"{current.name} v{current.version} is at metadata revision {current.metadata_revision}, not {expected}: "
            "read it again and retry", {"model": current.name, "version": current.version,
                                        "expected_revision": expected, "current_revision": current.metadata_revision})
