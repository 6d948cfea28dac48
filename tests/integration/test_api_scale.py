"""No request scans: the DynamoDB calls behind a read do not grow with the table (5,000 versions, 1,000 models).

The calls are counted with botocore's own event hooks on the app's session, so every
request the app makes is seen, whatever adapter makes it.
"""
import json
from collections import Counter

import pytest

from chalicelib import names
from chalicelib.dynamo import to_item
from chalicelib.records import ModelRecord, VersionRecord, utcnow
from chalicelib.versions.store import MODELS_PK, model_pk, version_sk

pytestmark = pytest.mark.xdist_group("api-scale")  # one worker builds this module's moto once

MODELS = 1000
VERSIONS = 5000
MEASURED = "model-0000"
MEASURED_VERSIONS = 60  # more than one page of 50, so the listing really pages

READS = [
    "/aliases/prod",
    "/models/model-0000/versions?limit=50",
    "/models/model-0000",
    "/models?limit=50",
    "/aliases?limit=50",
]


def version_items(name: str, count: int) -> list[dict]:
    """The items RegistryStore writes for a model with `count` versions (its key layout and record shapes)."""
    now = utcnow()
    model = ModelRecord(name=name, latest_version=count, next_version=count, created_at=now, updated_at=now)
    items = [{"pk": MODELS_PK, "sk": name, **model.model_dump(mode="json")}]
    for version in range(1, count + 1):
        record = VersionRecord(
            name=name, version=version, target_key=names.target_key(name, version),
            target_model=names.target_model(name, version), sha256=f"{version:064x}", size=version, layout="mxnet",
            source_key=f"incoming/{name}.tar.gz", source_etag=f"{version:032x}", event_id=f"{name}-{version}",
            created_at=now,
        )
        items.append({"pk": model_pk(name), "sk": version_sk(version), **record.model_dump(mode="json")})
    return items


def bulk_write(dynamodb, table: str, items: list[dict]) -> None:
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in items[start:start + 25]]
        answer = dynamodb.batch_write_item(RequestItems={table: requests})
        assert not answer.get("UnprocessedItems")


class CallCounter:
    def __init__(self, session):
        self.calls: list[str] = []
        session.events.register("before-call.dynamodb", self._seen)

    def _seen(self, model, **_):
        self.calls.append(model.name)

    def during(self, client, path: str) -> Counter:
        self.calls.clear()
        response = client.get(path)
        assert response.status_code == 200, response.body
        return Counter(self.calls)


def test_reads_make_the_same_few_calls_on_a_small_and_a_5000_version_table(client, registry_app, settings):
    # GIVEN the measured model (60 versions) with an alias, counted from the first client the app builds
    counter = CallCounter(registry_app.get_session())
    dynamodb = registry_app.get_session().client("dynamodb")
    bulk_write(dynamodb, settings.table, version_items(MEASURED, MEASURED_VERSIONS))
    assert client.put("/aliases/prod", body=json.dumps({"model": MEASURED, "version": 7}).encode(),
                      headers={"Content-Type": "application/json"}).status_code == 200
    small = {path: counter.during(client, path) for path in READS}

    # WHEN the table grows to 5,000 versions across 1,000 models
    per_model = (VERSIONS - MEASURED_VERSIONS) // (MODELS - 1)
    extra = (VERSIONS - MEASURED_VERSIONS) - per_model * (MODELS - 1)
    items = []
    for i in range(1, MODELS):
        items += version_items(f"model-{i:04d}", per_model + (1 if i <= extra else 0))
    bulk_write(dynamodb, settings.table, items)
    assert sum(1 for item in items if item["pk"] != MODELS_PK) + MEASURED_VERSIONS == VERSIONS
    large = {path: counter.during(client, path) for path in READS}

    # THEN every read makes exactly the calls it made before, and only GetItem or Query
    assert large == small
    assert small["/aliases/prod"] == {"GetItem": 2}  # the alias, and its policy (GET /aliases/{alias} shows it)
    assert small["/models/model-0000/versions?limit=50"] == {"GetItem": 1, "Query": 1}
    for calls in large.values():
        assert set(calls) <= {"GetItem", "Query"}
    page = json.loads(client.get("/models/model-0000/versions?limit=50").body)
    assert len(page["items"]) == 50 and page["next_token"]
