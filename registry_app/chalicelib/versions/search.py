"""Finding models and versions by tag, framework, name and approval, paged like the listings.

A tag query reads one partition of the tag index (tag_index.py): the items carrying the first
tag, then the version records of those items (BatchGetItem), which the other tags and the
approval status are checked on. What it costs grows with the matches, never with the registry.
Without a tag, a search reads the listing it narrows: the models, or one model's versions.
"""
from dataclasses import dataclass

from .. import names
from ..dynamo import decode_token, encode_token, from_item, query_page, to_item, to_value
from ..errors import InvalidInput, NotFound
from ..records import ModelRecord, VersionRecord
from .store import MODELS_PK, RegistryStore, model_pk, version_sk
from .tag_index import LAST, model_prefix, tag_pk, tag_sk

BATCH = 100  # BatchGetItem's limit


@dataclass(frozen=True)
class Criteria:
    tags: tuple[tuple[str, str], ...] = ()
    framework: str | None = None
    approval: str | None = None
    q: str | None = None

    def keeps(self, version: VersionRecord) -> bool:
        return (all(version.tags.get(k) == v for k, v in self.tags)
                and (self.framework is None or version.framework == self.framework)
                and (self.approval is None or version.approval.status == self.approval))


def check_search_tag(text: str) -> str:
    parse_tag(text)
    return text


def parse_tag(text: str) -> tuple[str, str]:
    """`key:value` (split at the first colon; a key holding a colon cannot be searched for)."""
    key, colon, value = text.partition(":")
    if not colon or not key:
        raise InvalidInput(f"tag {text[:80]!r} is not key:value (rule search.tag)", {"rule": "search.tag"})
    return key, value


class Search:
    def __init__(self, client, table: str, store: RegistryStore):
        self._db = client
        self._table = table
        self._store = store

    def versions(self, name: str, criteria: Criteria, limit: int, token: str | None
                 ) -> tuple[list[VersionRecord], str | None]:
        """One model's versions with every tag (newest first): one page of the first tag's index, or of the
        model's versions without a tag."""
        name = names.validate_model_name(name)
        if self._store.get_model(name) is None:
            raise NotFound(f"model {name} does not exist", {"model": name})
        if not criteria.tags:
            versions, token = self._store.list_versions(name, limit, token)
            return [v for v in versions if criteria.keeps(v)], token
        key, value = criteria.tags[0]
        items, token = query_page(self._db, self._table, tag_pk(key, value), model_prefix(name), limit, token,
                                  newest_first=True)
        found = self._versions([(item["name"], item["version"]) for item in items])
        return [v for v in found if criteria.keeps(v)], token

    def models(self, criteria: Criteria, limit: int, token: str | None) -> tuple[list[ModelRecord], str | None]:
        """Models with a version carrying every tag (and of the framework), whose name holds `q` (any case)."""
        if not criteria.tags:
            return self._models_by_listing(criteria, limit, token)
        key, value = criteria.tags[0]
        pk = tag_pk(key, value)
        kwargs = {"TableName": self._table, "KeyConditionExpression": "pk = :pk",
                  "ExpressionAttributeValues": {":pk": to_value(pk)}, "Limit": limit}
        start = decode_token(token, pk)
        if start:
            kwargs["ExclusiveStartKey"] = start
        answer = self._db.query(**kwargs)
        items = [from_item(item) for item in answer.get("Items", [])]
        wanted = [i for i in items if (criteria.framework in (None, i["framework"])) and _holds(criteria.q, i["name"])]
        if len(criteria.tags) > 1:  # the other tags are checked on the versions the first one found
            kept = {(v.name, v.version) for v in self._versions([(i["name"], i["version"]) for i in wanted])
                    if criteria.keeps(v)}
            wanted = [i for i in wanted if (i["name"], i["version"]) in kept]
        matched = list(dict.fromkeys(i["name"] for i in wanted))
        last = answer.get("LastEvaluatedKey")
        if last and items and items[-1]["name"] in matched:  # the rest of that model's versions need no reading
            last = to_item({"pk": pk, "sk": tag_sk(items[-1]["name"], LAST)})
        return self._models(matched), encode_token(last)

    def _models_by_listing(self, criteria: Criteria, limit: int, token: str | None):
        models, token = self._store.list_models(limit, token)
        models = [m for m in models if _holds(criteria.q, m.name)]
        if criteria.framework is not None:
            latest = {(v.name, v.version): v for v in
                      self._versions([(m.name, m.latest_version) for m in models if m.latest_version])}
            models = [m for m in models if (m.name, m.latest_version) in latest
                      and latest[(m.name, m.latest_version)].framework == criteria.framework]
        return models, token

    def _versions(self, keys: list[tuple[str, int]]) -> list[VersionRecord]:
        items = self._batch([{"pk": model_pk(n), "sk": version_sk(v)} for n, v in keys])
        by_key = {(i["name"], i["version"]): VersionRecord(**i) for i in items}
        return [by_key[k] for k in keys if k in by_key]

    def _models(self, model_names: list[str]) -> list[ModelRecord]:
        items = {i["name"]: ModelRecord(**i) for i in self._batch([{"pk": MODELS_PK, "sk": n} for n in model_names])}
        return [items[n] for n in model_names if n in items]

    def _batch(self, keys: list[dict]) -> list[dict]:
        """BatchGetItem in chunks of 100, following UnprocessedKeys."""
        found = []
        for start in range(0, len(keys), BATCH):
            request = {self._table: {"Keys": [to_item(k) for k in keys[start:start + BATCH]], "ConsistentRead": True}}
            while request:
                answer = self._db.batch_get_item(RequestItems=request)
                found += [from_item(item) for item in answer.get("Responses", {}).get(self._table, [])]
                request = answer.get("UnprocessedKeys") or None
        return found


def _holds(q: str | None, name: str) -> bool:
    return not q or q.casefold() in name.casefold()
