"""Invariant 10: every record the registry writes stays within its budget (records.BUDGETS) when driven with
the largest inputs the validator and the API accept, or the input is refused by a rule before a number is
reserved. Sizes are read back from the table and counted as DynamoDB counts them (dynamo.item_size)."""
import json

import pytest
import saved_model_bytes as sm
from hostile_tarballs import tf_files, tgz

from chalicelib.aliases.alias_store import ALIASES_PK, AliasTarget, history_pk, history_sk
from chalicelib.dynamo import item_size, to_item
from chalicelib.errors import InvalidInput
from chalicelib.events import S3Upload
from chalicelib.records import BUDGETS, MAX_METADATA_BYTES, UploadRecord, utcnow
from chalicelib.versions.deadletters import describe
from chalicelib.versions.store import model_pk, upload_sk, version_sk

pytestmark = pytest.mark.xdist_group("record-budgets")  # one worker builds this module's moto once

# The validator's bounds on what a version records of a model (validation/recorded.py): 32 inputs and 32
# outputs, names of 128 bytes of UTF-8, 8 dimensions; an input at most REGISTRY_MAX_INPUT_ELEMENTS elements.
MAX_TENSORS, MAX_NAME_BYTES, MAX_RANK = 32, 128, 8
LONGEST_NAME = "/".join(["m" * 64, "n" * 64, "o" * 64, "p" * 5])  # names.MAX_NAME_LENGTH: 200
ARN = "arn:aws:sts::123456789012:assumed-role/" + "r" * 1990 + "/s"  # IAM's longest ARN: 2,048 characters


def tensor_name(number: int) -> str:
    return f"{number:02d}" + "é" * ((MAX_NAME_BYTES - 2) // 2)  # 128 bytes, 2-byte characters


def largest_signature() -> bytes:
    """serving_default at the validator's bounds, with the longest numbers a shape may hold."""
    inputs = {tensor_name(n): sm.tensor_info("float32", [-1, 1 << 20] + [1] * (MAX_RANK - 2))
              for n in range(MAX_TENSORS)}
    outputs = {tensor_name(n): sm.tensor_info("float32", [-1] + [2**63 - 1] * (MAX_RANK - 1))
               for n in range(MAX_TENSORS)}
    return sm.saved_model({"serving_default": sm.signature(inputs, outputs)})


def largest_metadata() -> dict[str, str]:
    metadata = {"warmup": "false"}
    left = MAX_METADATA_BYTES - len("warmupfalse")
    for number in range(left // 1000):
        metadata[f"k{number}"] = "v" * (1000 - 2)
    return metadata


def raw_item(app, pk: str, sk: str | None = None, table: str | None = None) -> dict:
    key = {"pk": pk, **({"sk": sk} if sk is not None else {})}
    dynamodb = app.get_session().client("dynamodb")
    return dynamodb.get_item(TableName=table or app.settings.table, Key=to_item(key), ConsistentRead=True)["Item"]


def test_the_largest_registration_writes_every_record_within_its_budget(registry_app):
    # GIVEN a TensorFlow model with the largest signature the validator accepts, a registration naming the
    # longest model name, ten aliases of the longest name, the most metadata and the longest caller ARN
    settings = registry_app.settings
    key = "staging/" + "k" * 900 + ".tar.gz"
    registry_app.get_session().client("s3").put_object(
        Bucket=settings.bucket, Key=key, Body=tgz({**tf_files(), "1/saved_model.pb": largest_signature()}))
    aliases = [f"a{n}" + "x" * 126 for n in range(10)]
    # WHEN it is registered
    upload, version = registry_app.get_ingestor().register(LONGEST_NAME, settings.bucket, key, aliases,
                                                           largest_metadata(), ARN)
    # THEN it is a version, and each record it wrote is within its budget
    assert (upload.outcome, len(version.input_shapes), len(version.outputs)) == ("accepted", 32, 32)
    sizes = {
        "version": item_size(raw_item(registry_app, model_pk(LONGEST_NAME), version_sk(1))),
        "upload": item_size(raw_item(registry_app, model_pk(LONGEST_NAME), upload_sk(upload.started_at,
                                                                                      upload.event_id))),
        "claim": item_size(raw_item(registry_app, upload.event_id, table=settings.events_table)),
        "alias": max(item_size(raw_item(registry_app, ALIASES_PK, alias)) for alias in aliases),
        "alias_history": max(item_size(raw_item(registry_app, history_pk(alias), history_sk(1))) for alias in aliases),
    }
    assert all(sizes[name] <= BUDGETS[name] for name in sizes), (sizes, BUDGETS)
    assert sizes["version"] > 20_000  # the signature is in it: this is the worst case, not a small one


def test_an_upload_record_is_fitted_to_its_budget_whatever_it_carries(registry_app):
    # GIVEN a rejection with a thousand long failures, a thousand alias outcomes and a megabyte of message, all in
    # 4-byte characters
    now = utcnow()
    record = UploadRecord(
        name=LONGEST_NAME, event_id="e" * 32, source_key="incoming/" + "é" * 500 + ".tar.gz", source_etag="0" * 32,
        outcome="rejected", started_at=now, finished_at=now, message="😀" * 1_000_000,
        rules=[f"rule.{n}" for n in range(1000)], failures=[{"rule": f"rule.{n}", "message": "😀" * 10_000}
                                                             for n in range(1000)],
        aliases={f"a{n}" + "x" * 120: "refused: " + "😀" * 5000 for n in range(1000)},
        rejected_key="rejected/" + "k" * 1000, report_key="rejected/" + "k" * 1000, warmup="😀" * 10_000,
        error="😀" * 10_000)
    # WHEN it is recorded
    registry_app.get_store().put_upload(record, ARN)
    # THEN it is written within its budget, and says what it left out
    item = raw_item(registry_app, model_pk(LONGEST_NAME), upload_sk(now, record.event_id))
    assert item_size(item) <= BUDGETS["upload"]
    stored = registry_app.get_store().get_upload(LONGEST_NAME, now, record.event_id)
    assert "960 more failures (see the report)" in stored.message
    assert "960 more aliases followed this version" in stored.message


def test_a_claim_with_the_longest_error_and_object_version_stays_within_its_budget(registry_app):
    # GIVEN a claim holding a reserved number for the longest S3 version id, that failed with the longest error
    store, claims, now = registry_app.get_store(), registry_app.get_claims(), utcnow()
    claim = claims.claim("c" * 32, now)
    store.reserve_version(LONGEST_NAME, claim, claims, now, "0" * 64, "v" * 1024)
    claims.note_failure(claim.event_id, describe(RuntimeError("é" * 5000)), now)
    # THEN its item is within its budget
    item = raw_item(registry_app, claim.event_id, table=registry_app.settings.events_table)
    assert item_size(item) <= BUDGETS["claim"]


def test_an_alias_of_the_most_targets_and_a_change_of_all_of_them_stay_within_their_budgets(registry_app, seed):
    # GIVEN twenty models with the longest names
    models = [LONGEST_NAME[:-2] + f"{n:02d}" for n in range(20)]
    for model in models:
        seed.version(model)
    aliases, alias = registry_app.get_aliases(), "a" * 128
    # WHEN the longest alias points at ten of them, then at the ten others, by the longest ARN
    for group in (models[:10], models[10:]):
        aliases.point(alias, [AliasTarget(model=m, version=1, weight=10) for m in group], False, None, ARN)
    # THEN the alias and its history entry (ten targets before, ten after) are within their budgets
    assert item_size(raw_item(registry_app, ALIASES_PK, alias)) <= BUDGETS["alias"]
    assert item_size(raw_item(registry_app, history_pk(alias), history_sk(2))) <= BUDGETS["alias_history"]


def test_an_alias_has_at_most_ten_targets(registry_app, seed):
    for _ in range(11):
        seed.version("fraud")

    eleven = [AliasTarget(model="fraud", version=n, weight=9) for n in range(1, 12)]
    with pytest.raises(InvalidInput, match="1 to 10 targets"):
        registry_app.get_aliases().point("prod", eleven, False, None, "ops")


def test_a_registration_with_more_metadata_than_s3_allows_an_object_is_422(client, registry_app):
    settings = registry_app.settings
    registry_app.get_session().client("s3").put_object(Bucket=settings.bucket, Key="staging/d.tar.gz",
                                                       Body=tgz(tf_files()))
    body = {"source": f"s3://{settings.bucket}/staging/d.tar.gz", "metadata": {f"k{n}": "é" * 400 for n in range(3)}}

    answer = client.post("/models/digits/versions", body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"})

    assert answer.status_code == 422
    assert "2048" in json.loads(answer.body)["error"]["message"]
    assert registry_app.get_store().get_model("digits") is None


def test_an_upload_asking_for_more_than_ten_aliases_is_rejected_before_a_number_is_reserved(registry_app):
    settings = registry_app.settings
    s3 = registry_app.get_session().client("s3")
    s3.put_object(Bucket=settings.bucket, Key="incoming/digits.tar.gz", Body=tgz(tf_files()),
                  Metadata={"alias": ",".join(f"a{n}" for n in range(11))})
    head = s3.head_object(Bucket=settings.bucket, Key="incoming/digits.tar.gz")

    record = registry_app.get_ingestor().ingest(S3Upload(
        bucket=settings.bucket, key="incoming/digits.tar.gz", etag=head["ETag"].strip('"'),
        size=head["ContentLength"], version_id=head.get("VersionId")))

    assert (record.outcome, record.rules) == ("rejected", ["upload.too_many_aliases"])
    assert registry_app.get_store().get_model("digits") is None
    assert registry_app.get_aliases().list_aliases(10, None)[0] == []


def largest_card() -> dict:
    """Every text field at 4,096 two-byte characters, 32 metrics of the longest names, a link of the longest URL:
    just under the card's 48 KB (metadata_rules.MAX_CARD_BYTES)."""
    from chalicelib.versions.metadata_rules import CARD_TEXT_FIELDS, MAX_CARD_TEXT, check_card

    card = {name: "é" * MAX_CARD_TEXT for name in CARD_TEXT_FIELDS}
    card["metrics"] = {f"{n:02d}" + "m" * 126: -1.2345678901234567e-129 for n in range(32)}
    card["links"] = [{"title": "t" * 200, "url": "https://e.com/" + "u" * 2030}]
    return check_card(card)


def test_the_most_said_of_the_largest_version_keeps_every_record_within_its_budget(registry_app):
    # GIVEN the largest version the validator accepts, registered by the longest caller ARN
    from chalicelib.aliases.policy import AliasPolicy
    from chalicelib.versions.metadata import history_prefix
    from chalicelib.versions.tag_index import tag_pk, tag_sk

    settings = registry_app.settings
    key = "staging/largest.tar.gz"
    registry_app.get_session().client("s3").put_object(
        Bucket=settings.bucket, Key=key, Body=tgz({**tf_files(), "1/saved_model.pb": largest_signature()}))
    registry_app.get_ingestor().register(LONGEST_NAME, settings.bucket, key, [], largest_metadata(), ARN)
    # WHEN it is given the longest description, 50 tags of the longest keys and values, the largest card,
    # and an approval with the longest reason; and an alias gets the largest policy
    tags = {f"{n:02d}" + "k" * 126: "v" * 256 for n in range(50)}
    edited = registry_app.get_metadata().edit(LONGEST_NAME, 1, 0, ARN, "é" * 1024, tags, largest_card())
    registry_app.get_approvals().set(LONGEST_NAME, 1, "Approved", "é" * 1024, ARN)
    patterns = [ARN[:-1] + f"{n}" for n in range(10)]
    registry_app.get_policies().put("a" * 128, AliasPolicy(movers=patterns, approvers=patterns,
                                                           require=["approved", "warmed"]), None, ARN)
    # THEN each record is within its budget
    history = [raw_item(registry_app, model_pk(LONGEST_NAME), f"{history_prefix(1)}{r:010d}") for r in (1, 2)]
    sizes = {
        "version": item_size(raw_item(registry_app, model_pk(LONGEST_NAME), version_sk(1))),
        "version_history": max(item_size(entry) for entry in history),
        "tag_index": max(item_size(raw_item(registry_app, tag_pk(k, v), tag_sk(LONGEST_NAME, 1)))
                         for k, v in edited.tags.items()),
        "alias_policy": item_size(raw_item(registry_app, history_pk("a" * 128), "POLICY")),
    }
    assert all(sizes[name] <= BUDGETS[name] for name in sizes), (sizes, BUDGETS)
    assert sizes["version"] > 90_000  # signature, tags and card are all in it: the worst case


def test_the_largest_shadow_comparison_stays_within_its_budget(registry_app):
    from chalicelib.aliases.comparisons import Comparison, comparison_sk, judge
    from chalicelib.aliases.policy import ShadowThresholds

    # GIVEN a comparison of the longest names, by the longest ARN, whose invoke failed with the longest error
    # and which failed every threshold
    alias = "a" * 128
    failed = Comparison(alias=alias, model=LONGEST_NAME, version=10**10 - 1, incumbent_model=LONGEST_NAME,
                        incumbent_version=10**10 - 2, at=utcnow(), actor=ARN, samples=100, samples_source="model",
                        samples_key=f"samples/{LONGEST_NAME}/set-{'f' * 16}/", k=100, error="e" * 5000)
    thresholds = ShadowThresholds(min_top1_agreement=1, min_topk_overlap=1, max_abs_diff=0, max_latency_ratio=0.1)
    # WHEN it is judged and recorded
    registry_app.get_comparisons().put(judge(failed, thresholds).model_copy(update={"error": "e" * 1000}))
    # THEN its item is within the budget
    item = raw_item(registry_app, f"MODEL#{LONGEST_NAME}", comparison_sk(10**10 - 1, alias, LONGEST_NAME, 10**10 - 2))
    assert item_size(item) <= BUDGETS["shadow_comparison"]
