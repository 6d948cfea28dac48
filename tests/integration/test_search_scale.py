"""Search by tag reads only the items that carry the tag: 5,000 versions seeded, DynamoDB items read counted."""
from collections import Counter
from datetime import timedelta

import pytest

from chalicelib import names
from chalicelib.records import Approval, ModelRecord, VersionRecord, utcnow
from chalicelib.dynamo import to_item
from chalicelib.versions.search import Criteria, Search
from chalicelib.versions.store import MODELS_PK, RegistryStore, version_item
from chalicelib.versions.tag_index import index_writes

pytestmark = pytest.mark.xdist_group("search_scale")

MODELS, VERSIONS = 50, 100  # 5,000 versions
FRAUD_MODELS = {"model-07", "model-19", "model-33"}  # their versions 1-10 carry team=fraud: 30 matches


def version(name: str, number: int, now) -> VersionRecord:
    tags = {"team": "fraud", "stage": "prod" if number % 2 else "beta"} if name in FRAUD_MODELS and number <= 10 \
        else {"team": "search"} if number == 1 else {}  # other teams' tags: partitions a fraud search never reads
    return VersionRecord(name=name, version=number, target_key=names.target_key(name, number),
                         target_model=names.target_model(name, number), sha256=f"{number:064x}", size=1,
                         framework="tensorflow" if name == "model-33" else "mxnet", source_key="s", source_etag="e",
                         event_id=f"e{number}", created_at=now, tags=tags,
                         approval=Approval(status="Approved" if number == 3 else "PendingManualApproval"))


@pytest.fixture(scope="module")
def seeded(module_moto):
    """The items ingestion writes for 5,000 versions (version, tag index, model), written in batches."""
    session, app = module_moto
    table = app.settings.table
    dynamodb = session.client("dynamodb")
    now = utcnow()
    items = []
    for m in range(MODELS):
        name = f"model-{m:02d}"
        items.append(to_item({"pk": MODELS_PK, "sk": name, **ModelRecord(
            name=name, latest_version=VERSIONS, next_version=VERSIONS, created_at=now,
            updated_at=now + timedelta(seconds=m)).model_dump(mode="json")}))
        for n in range(1, VERSIONS + 1):
            record = version(name, n, now)
            items.append(version_item(record))
            items += [write["Put"]["Item"] for write in index_writes(table, record, {})]
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]})
    return session, table, len(items)


@pytest.fixture
def counted(seeded):
    """A Search whose DynamoDB client counts the items each call read (Query: ScannedCount; gets: items)."""
    session, table, _ = seeded
    client = session.client("dynamodb")
    reads = Counter()

    def count(http_response, parsed, model, **_):
        if model.name == "Query":
            reads["items"] += parsed.get("ScannedCount", 0)
        elif model.name == "BatchGetItem":
            reads["items"] += sum(len(found) for found in parsed.get("Responses", {}).values())
        elif model.name == "GetItem":
            reads["items"] += 1 if "Item" in parsed else 0
        reads["calls"] += 1

    client.meta.events.register("after-call.dynamodb", count)
    return Search(client, table, RegistryStore(client, table)), reads


def test_the_seed_holds_5000_versions(seeded):
    assert seeded[2] > MODELS * VERSIONS  # versions, their tag index items, models


def test_models_with_a_tag_read_only_the_versions_carrying_it(counted):
    search, reads = counted

    models, token = search.models(Criteria(tags=(("team", "fraud"),)), 1000, None)

    assert ([m.name for m in models], token) == (sorted(FRAUD_MODELS), None)
    assert reads["items"] == 30 + 3  # the 30 index items of team=fraud, then the 3 model records


def test_a_models_version_search_by_tag_and_approval_reads_that_models_matches_only(counted):
    search, reads = counted

    found, _ = search.versions("model-19", Criteria(tags=(("team", "fraud"), ("stage", "prod")),
                                                    approval="Approved"), 1000, None)

    assert [v.version for v in found] == [3]
    assert reads["items"] == 1 + 10 + 10  # the model record, its 10 index items of team=fraud, their 10 versions


def test_a_tag_search_pages_with_next_token_and_never_repeats_a_model(counted):
    search, _ = counted
    seen, token = [], None
    while True:
        models, token = search.models(Criteria(tags=(("team", "fraud"),)), 4, token)
        seen += [m.name for m in models]
        if token is None:
            break

    assert seen == sorted(FRAUD_MODELS)


def test_framework_and_name_narrow_a_tag_search(counted):
    search, _ = counted

    by_framework, _ = search.models(Criteria(tags=(("team", "fraud"),), framework="tensorflow"), 1000, None)
    by_name, _ = search.models(Criteria(tags=(("team", "fraud"),), q="MODEL-1"), 1000, None)

    assert [m.name for m in by_framework] == ["model-33"]
    assert [m.name for m in by_name] == ["model-19"]
