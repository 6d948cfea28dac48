"""The shadow gate: a protected alias moves to a new version only when that version's answers on the reference
samples meet the policy's thresholds beside the current target's; every comparison is recorded and announced."""
import gzip
import io
import json
import tarfile

import pytest
from aws_fakes import ModelsRuntime

from change_events import check
from chalicelib.aliases.policy import AliasPolicy
from local_stack.demo.sample_models import cached_tarball
from test_version_metadata import call, outbox_events
from registry_in_process import ingest

pytestmark = pytest.mark.xdist_group("shadow_gate")

SAMPLES = [{"instances": [[float((i * 7 + j) % 10) for j in range(10)]]} for i in range(12)]


def same(request):
    """A model whose scores are its input: two versions answering this way agree on everything."""
    return {"predictions": request["instances"]}


def reversed_scores(request):
    return {"predictions": [row[::-1] for row in request["instances"]]}


def nudged(request):
    return {"predictions": [[x + 0.01 for x in row] for row in request["instances"]]}


@pytest.fixture
def runtime(registry_app, monkeypatch):
    """The app's sagemaker-runtime swapped for ModelsRuntime (answers set per test in `runtime.answers`)."""
    fake = ModelsRuntime({})
    monkeypatch.setattr(registry_app, "get_runtime", lambda: fake)
    for getter in (registry_app.get_shadow, registry_app.get_aliases):
        getter.cache_clear()
    yield fake
    for getter in (registry_app.get_shadow, registry_app.get_aliases):
        getter.cache_clear()


def protect(registry_app, alias: str, **shadow):
    registry_app.get_policies().put(alias, AliasPolicy(require=["shadow"], shadow=shadow), None, "ops")


def fraud_at_v1_with_samples(client, seed, runtime, *answers):
    """fraud v1..vN seeded (v1 answering `same`, the next ones `answers`), alias fraud-prod at v1, model samples."""
    versions = [seed.version("fraud") for _ in range(1 + len(answers))]
    runtime.answers.update({v.target_model: answer for v, answer in zip(versions, (same, *answers))})
    assert call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})[0] == 200
    assert call(client, "POST", "/models/fraud/samples", {"samples": SAMPLES})[0] == 201
    return versions


def test_a_candidate_that_disagrees_is_refused_with_its_numbers_and_nothing_moves(client, seed, registry_app,
                                                                                    runtime):
    # GIVEN fraud-prod at v1, protected by a shadow policy, and v2 whose best class is another one
    fraud_at_v1_with_samples(client, seed, runtime, reversed_scores)
    protect(registry_app, "fraud-prod", min_top1_agreement=0.98, max_latency_ratio=50)
    # WHEN the alias is asked to move to v2
    status, answer = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    # THEN it is refused with the rule, the numbers and the thresholds, and the alias stays at v1
    assert status == 409 and answer["error"]["code"] == "alias_policy_unmet"
    assert "requires 'shadow'" in answer["error"]["message"]
    assert "top-1 agreement 0 < 0.98" in answer["error"]["message"]
    details = answer["error"]["details"]
    assert (details["requirement"], details["version"]) == ("shadow", 2)
    assert details["thresholds"] == {"min_top1_agreement": 0.98, "max_latency_ratio": 50}
    assert details["comparisons"][0]["top1_agreement"] == 0.0 and details["comparisons"][0]["samples"] == 12
    assert call(client, "GET", "/aliases/fraud-prod")[1]["targets"][0]["version"] == 1
    # AND the comparison is recorded on v2 and announced
    recorded = call(client, "GET", "/models/fraud/versions/2/shadow")[1]["items"]
    assert [(c["alias"], c["incumbent_version"], c["verdict"]) for c in recorded] == [("fraud-prod", 1, "failed")]
    assert recorded[0]["samples_source"] == "model" and recorded[0]["max_abs_diff"] == 9.0
    events = outbox_events(registry_app, "ShadowCompared")
    assert [(e["version"], e["incumbent"], e["verdict"]) for e in events] == [
        (2, {"model": "fraud", "version": 1}, "failed")]
    check(events[0])


def test_a_faithful_candidate_passes_and_a_recent_comparison_is_reused_by_the_move(client, seed, registry_app,
                                                                                  runtime):
    # GIVEN fraud-prod at v1 under a shadow policy, and v2 whose scores differ by 0.01
    fraud_at_v1_with_samples(client, seed, runtime, nudged)
    protect(registry_app, "fraud-prod", min_top1_agreement=0.98, min_topk_overlap=1.0, k=3, max_abs_diff=0.05)
    # WHEN the comparison is run first without moving, then the alias is moved
    status, preview = call(client, "POST", "/aliases/fraud-prod/shadow", {"model": "fraud", "version": 2})
    invokes = len(runtime.calls)
    moved = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    # THEN the preview showed passing numbers, and the move reused them (no invoke) and went ahead
    assert status == 200 and preview["thresholds"]["k"] == 3
    (comparison,) = preview["comparisons"]
    assert (comparison["verdict"], comparison["top1_agreement"], comparison["topk_overlap"]) == ("passed", 1.0, 1.0)
    assert comparison["max_abs_diff"] == pytest.approx(0.01) and comparison["reused"] is False
    assert invokes == 2 * (1 + len(SAMPLES))  # each model once untimed, then every sample
    assert moved[0] == 200 and moved[1]["targets"][0]["version"] == 2
    assert len(runtime.calls) == invokes
    assert len(outbox_events(registry_app, "ShadowCompared")) == 1


def one_more_score(request):
    """The same best class with one more score in each row: top-1 comparable, the differences not."""
    return {"predictions": [[*row, 0.0] for row in request["instances"]]}


def test_a_sample_whose_outputs_cannot_all_be_compared_counts_in_no_number(client, seed, registry_app, runtime):
    # GIVEN v2 answering with one more score per row than v1: the same best class, no element-wise difference
    fraud_at_v1_with_samples(client, seed, runtime, one_more_score)
    protect(registry_app, "fraud-prod", min_top1_agreement=0.98)
    # WHEN the comparison runs
    status, preview = call(client, "POST", "/aliases/fraud-prod/shadow", {"model": "fraud", "version": 2})
    # THEN every sample is not comparable, and none of them adds to the agreement either
    (comparison,) = preview["comparisons"]
    assert status == 200 and comparison["not_comparable"] == len(SAMPLES)
    assert (comparison["top1_agreement"], comparison["topk_overlap"], comparison["max_abs_diff"]) == (0.0, 0.0, None)


def test_a_slower_candidate_is_refused_by_the_latency_ratio(client, seed, registry_app, runtime):
    versions = fraud_at_v1_with_samples(client, seed, runtime, same)
    runtime.delay[versions[1].target_model] = 0.02
    protect(registry_app, "fraud-prod", max_latency_ratio=1.3)

    status, answer = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})

    assert status == 409 and "latency ratio" in answer["error"]["message"]
    assert answer["error"]["details"]["comparisons"][0]["latency_ratio"] > 1.3


def test_without_any_sample_the_move_is_refused_naming_that(client, seed, registry_app, runtime):
    seed.version("fraud"), seed.version("fraud")
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
    protect(registry_app, "fraud-prod", min_top1_agreement=0.9)

    status, answer = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})

    assert status == 409 and "no reference samples" in answer["error"]["message"]
    assert answer["error"]["details"]["rule"] == "shadow.no_samples"
    assert runtime.calls == []


def test_a_first_move_has_nothing_to_compare_and_goes_ahead(client, seed, registry_app, runtime):
    seed.version("fraud")
    protect(registry_app, "fraud-new", min_top1_agreement=0.98)

    status, answer = call(client, "PUT", "/aliases/fraud-new", {"model": "fraud", "version": 1})

    assert status == 200 and answer["targets"][0]["version"] == 1
    assert runtime.calls == []


@pytest.mark.parametrize("shadow, named", [
    ({"min_top1_agreement": 1.5}, "shadow.min_top1_agreement"),
    ({"min_topk_overlap": -0.1}, "shadow.min_topk_overlap"),
    ({"max_latency_ratio": 0}, "shadow.max_latency_ratio"),
    ({"max_abs_diff": 0.1, "k": 0}, "shadow.k"),
    ({"max_abs_diff": 0.1, "samples": 101}, "shadow.samples"),
    ({"max_abs_diff": False}, "shadow.max_abs_diff"),
    ({"min_top1_agreement": "0.9"}, "shadow.min_top1_agreement"),
    ({"k": 5}, "policy.shadow_thresholds"),
    (None, "policy.shadow_thresholds"),
])
def test_a_shadow_policy_out_of_range_is_a_422_naming_the_field(client, shadow, named):
    status, answer = call(client, "PUT", "/aliases/fraud-prod/policy", {"require": ["shadow"], "shadow": shadow})

    assert status == 422 and named in answer["error"]["message"]
    assert call(client, "GET", "/aliases/fraud-prod/policy")[0] == 404


def test_model_samples_are_bounded_and_need_the_model(client, seed):
    seed.version("fraud")

    too_many = call(client, "POST", "/models/fraud/samples", {"samples": [{}] * 101})
    unknown = call(client, "POST", "/models/nobody/samples", {"samples": [{}]})
    empty = call(client, "POST", "/models/fraud/samples", {"samples": []})

    assert too_many[0] == 422 and "samples" in too_many[1]["error"]["message"]
    assert unknown[0] == 404 and empty[0] == 422


def with_samples(tarball: bytes, samples: dict[str, bytes]) -> bytes:
    """The tarball's members and `samples` as more members, gzip'd again."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tarball))) as source, \
            tarfile.open(fileobj=out, mode="w") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        for name, body in samples.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            target.addfile(info, io.BytesIO(body))
    return gzip.compress(out.getvalue())


def test_an_upload_s_own_samples_are_kept_in_s3_and_the_gate_refuses_its_follow_move(registry_app, runtime):
    # GIVEN digits v1 at alias digits-prod (following the latest), protected by a shadow policy
    digits = cached_tarball("digits").read_bytes()
    runtime.answers.update({"digits_v1.tar.gz": same, "digits_v2.tar.gz": reversed_scores})
    ingest(registry_app, "incoming/digits.tar.gz", runtime, {"alias": "digits-prod"})
    protect(registry_app, "digits-prod", min_top1_agreement=0.98)
    # WHEN v2 arrives carrying samples/ and asking for the alias
    samples = {f"samples/{i:02d}.json": json.dumps(s).encode() for i, s in enumerate(SAMPLES[:5])}
    record = ingest(registry_app, "incoming/digits.tar.gz", runtime, {"alias": "digits-prod"},
                    body=with_samples(digits, samples))
    # THEN v2 exists with its 5 samples in S3, and the alias stayed at v1, the upload record saying why
    version = registry_app.get_store().get_version("digits", 2)
    s3 = registry_app.get_session().client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=registry_app.settings.bucket,
                                                 Prefix="samples/digits/v2/")["Contents"]]
    assert version.samples == 5 and keys == [f"samples/digits/v2/{i:03d}.json" for i in range(5)]
    assert record.aliases["digits-prod"].startswith("refused: alias digits-prod requires 'shadow'")
    assert registry_app.get_aliases().get("digits-prod").targets[0].version == 1


def test_a_rollback_away_from_a_disagreeing_version_is_not_compared_with_it(client, seed, registry_app, runtime):
    # GIVEN fraud-prod moved from v1 to a v2 that disagrees with it, before the shadow policy was set
    fraud_at_v1_with_samples(client, seed, runtime, reversed_scores)
    assert call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})[0] == 200
    protect(registry_app, "fraud-prod", min_top1_agreement=0.98)
    # WHEN the operator rolls back
    status, answer = call(client, "POST", "/aliases/fraud-prod/rollback")
    # THEN the alias is back at v1 without a comparison: going back is not judged by the version left behind
    assert status == 200 and answer["targets"][0]["version"] == 1
    assert runtime.calls == []


def test_samples_gone_from_s3_refuse_the_move_naming_that_instead_of_failing(client, seed, registry_app, runtime):
    fraud_at_v1_with_samples(client, seed, runtime, same)
    protect(registry_app, "fraud-prod", min_top1_agreement=0.98)
    s3, bucket = registry_app.get_session().client("s3"), registry_app.settings.bucket
    for listed in s3.list_objects_v2(Bucket=bucket, Prefix="samples/fraud/")["Contents"]:
        s3.delete_object(Bucket=bucket, Key=listed["Key"])

    status, answer = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})

    assert status == 409 and answer["error"]["details"]["rule"] == "shadow.samples_missing"
    assert call(client, "GET", "/aliases/fraud-prod")[1]["targets"][0]["version"] == 1


def test_a_threshold_too_small_for_dynamodb_is_kept_as_zero_or_refused_never_a_500(client):
    tiny = 5e-324  # valid JSON, below the smallest number DynamoDB holds

    kept = call(client, "PUT", "/aliases/fraud-prod/policy",
                {"require": ["shadow"], "shadow": {"min_top1_agreement": tiny, "max_abs_diff": tiny}})
    refused = call(client, "PUT", "/aliases/fraud-prod/policy", {"require": ["shadow"], "shadow": {
        "max_latency_ratio": tiny}})

    assert kept[0] == 200 and kept[1]["policy"]["shadow"]["min_top1_agreement"] == 0
    assert kept[1]["policy"]["shadow"]["max_abs_diff"] == 0
    assert refused[0] == 422 and "shadow.max_latency_ratio" in refused[1]["error"]["message"]
