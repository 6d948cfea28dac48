"""An upload moves the aliases that follow its model's latest version, though it looks for them only when the model
has (or may have) one: ModelRecord.followed, set by the alias write that makes one follow, and held by the record
transaction of an upload that skipped looking."""
import json

import pytest
from aws_fakes import BeforeFirstTransaction
from hostile_tarballs import valid_mxnet
from test_ingest_recovery import upload_of

from chalicelib.aliases.alias_store import AliasTarget
from chalicelib.dynamo import to_item
from chalicelib.versions.ingest import Ingestor
from chalicelib.versions.store import MODELS_PK, RegistryStore

pytestmark = pytest.mark.xdist_group("moto-server")


def ingest(emulated_app, emulator, body: bytes, store=None):
    """One upload of `digits` through the app's own adapters (its store swapped for `store` when given)."""
    emulator.drop("incoming/digits.tar.gz", body, metadata={"warmup": "false"})
    ingestor = Ingestor(store=store or emulated_app.get_store(), claims=emulated_app.get_claims(),
                        artifacts=emulated_app.get_artifacts(), settings=emulated_app.settings,
                        aliases=emulated_app.get_aliases())
    return ingestor.ingest(upload_of(emulator, "incoming/digits.tar.gz"))


def follow_digits(emulated_app) -> None:
    emulated_app.get_aliases().point("prod", [AliasTarget(model="digits", version=1)], True, None, "ops")


def prod_version(emulated_app) -> int:
    [target] = emulated_app.get_aliases().get("prod").targets
    return target.version


def test_a_new_model_is_unfollowed_until_an_alias_follows_it(emulated_app, emulator):
    ingest(emulated_app, emulator, valid_mxnet())
    assert emulated_app.get_store().get_model("digits").followed is False

    follow_digits(emulated_app)

    assert emulated_app.get_store().get_model("digits").followed is True


def test_an_alias_that_starts_following_while_a_version_is_recorded_still_reaches_it(emulated_app, emulator):
    # GIVEN digits v1, followed by no alias
    ingest(emulated_app, emulator, valid_mxnet())
    # WHEN an operator makes prod follow digits after the next upload read the model, before it recorded v2
    racing = BeforeFirstTransaction(emulated_app.get_session().client("dynamodb"),
                                    lambda: follow_digits(emulated_app), skip=1)
    store = RegistryStore(racing, emulated_app.settings.table)
    record = ingest(emulated_app, emulator, valid_mxnet(prefix="other"), store=store)
    # THEN the record transaction saw the new follower, and the upload moved it
    assert record.version == 2 and racing.reasons and "ConditionalCheckFailed" in racing.reasons
    assert record.aliases == {"prod": "moved to v2"}
    assert prod_version(emulated_app) == 2


def test_a_model_recorded_before_followers_were_marked_has_its_followers_looked_for(emulated_app, emulator):
    # GIVEN digits v1 followed by prod, its model item written before the mark was kept
    ingest(emulated_app, emulator, valid_mxnet())
    follow_digits(emulated_app)
    emulated_app.get_session().client("dynamodb").update_item(
        TableName=emulated_app.settings.table, Key=to_item({"pk": MODELS_PK, "sk": "digits"}),
        UpdateExpression="REMOVE followed, latest_sha256")
    # WHEN the next version is uploaded
    record = ingest(emulated_app, emulator, valid_mxnet(prefix="other"))
    # THEN prod follows it
    assert record.aliases == {"prod": "moved to v2"}
    assert prod_version(emulated_app) == 2


def test_only_the_move_that_starts_following_a_model_writes_its_mark(emulated_app, emulator):
    # GIVEN digits followed by prod
    ingest(emulated_app, emulator, valid_mxnet())
    follow_digits(emulated_app)
    written = []

    def record(params, **_):  # each transaction: (operation, pk) of its items
        for entry in json.loads(params["body"])["TransactItems"]:
            [(operation, item)] = entry.items()
            written.append((operation, (item.get("Key") or item["Item"])["pk"]["S"]))
        written.append(None)

    events = emulated_app.get_session().events
    events.register("before-call.dynamodb.TransactWriteItems", record)
    for getter in (emulated_app.get_alias_store, emulated_app.get_aliases, emulated_app.get_store):
        getter.cache_clear()  # clients made after the hook, so it sees their calls
    # WHEN a new version moves prod along
    try:
        ingest(emulated_app, emulator, valid_mxnet(prefix="other"))
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", record)
    # THEN prod is at v2, and the move's transaction (the one writing the alias) left the model's item alone
    assert prod_version(emulated_app) == 2
    transactions, current = [], []
    for entry in written:
        transactions, current = (transactions + [current], []) if entry is None else (transactions, current + [entry])
    [move] = [t for t in transactions if ("Put", "ALIASES") in t or ("Update", "ALIASES") in t]
    assert ("Update", MODELS_PK) not in move, move
