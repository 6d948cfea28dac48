"""Reference samples (samples/*.json in a tarball, or a model's through the API): one test per rule, hostile
cases included, and the shadow thresholds' own rules."""
import io
import json
import tarfile

import pytest
from pydantic import ValidationError

from chalicelib.aliases.comparisons import Comparison, judge
from chalicelib.aliases.policy import AliasPolicy, ShadowThresholds
from chalicelib.validation import samples, validate_stream
from hostile_tarballs import entry, gz, mxnet_files, tar_bytes, tf_files, tgz


def rules(data: bytes) -> list[str]:
    return [failure.rule for failure in validate_stream(io.BytesIO(data)).failures]


def test_an_mxnet_tarball_with_samples_is_valid_and_reports_them_in_name_order():
    data = tgz({**mxnet_files(), "samples/b.json": b'{"instances": [[1]]}', "samples/a.json": b"[0]"})

    report = validate_stream(io.BytesIO(data))

    assert report.valid and report.layout == "mxnet"
    assert [(s.name, s.body) for s in report.samples] == [("samples/a.json", b"[0]"),
                                                          ("samples/b.json", b'{"instances": [[1]]}')]
    assert report.as_json()["samples"] == ["samples/a.json", "samples/b.json"]


def test_a_tensorflow_tarball_may_carry_samples_beside_its_version_folders():
    report = validate_stream(io.BytesIO(tgz({**tf_files(), "samples/one.json": b'{"instances": [1]}'})))

    assert report.valid and report.layout == "tensorflow" and len(report.samples) == 1


@pytest.mark.parametrize("files, rule", [
    ({f"samples/{i:03d}.json": b"1" for i in range(101)}, "samples.count"),
    ({"samples/big.json": b"1" * (samples.MAX_SAMPLE_BYTES + 1)}, "samples.size"),
    ({f"samples/{i:02d}.json": b"1" * samples.MAX_SAMPLE_BYTES for i in range(33)}, "samples.total_size"),
    ({"samples/a.json": b"{'single': 'quotes'}"}, "samples.json"),
    ({"samples/a.json": b"\xff\xfe"}, "samples.json"),
    ({"samples/a.json": b"[" * 100_000}, "samples.json"),
    ({"samples/picture.png": b"\x89PNG"}, "samples.extension"),
    ({"samples/deeper/a.json": b"1"}, "samples.nested"),
])
def test_each_samples_rule_refuses_its_case_and_keeps_no_sample(files, rule):
    found, failures = samples.check(list(files), {n: len(b) for n, b in files.items()},
                                    {n: b[: samples.capture_limit(n)] for n, b in files.items()})

    assert rule in [r for r, _ in failures] and found == []


@pytest.mark.parametrize("name, rule", [("samples/../evil.json", "safety.traversal"),
                                        ("/samples/a.json", "safety.absolute_path")])
def test_a_sample_path_escaping_the_folder_is_refused_by_the_safety_rules(name, rule):
    assert rule in rules(gz(tar_bytes(mxnet_files(), extra=[entry(name, b"[1]")])))


def test_a_sample_that_is_a_link_is_refused():
    link = entry("samples/a.json", kind=tarfile.SYMTYPE, linkname="/etc/passwd")

    assert any(r.startswith("safety.") for r in rules(gz(tar_bytes(mxnet_files(), extra=[link]))))


def test_a_pass_holds_at_most_the_sample_caps_in_memory_whatever_the_archive_holds():
    # GIVEN a capture dict that was offered 300 samples of the largest size
    from chalicelib.validation.layouts import captures

    held = captures()
    for index in range(300):
        held[f"samples/{index:03d}.json"] = b"1" * samples.MAX_SAMPLE_BYTES
    # THEN it kept no more than the count and total caps allow
    kept = [len(body) for name, body in held.items() if samples.is_sample(name)]
    assert len(kept) <= samples.MAX_SAMPLES and sum(kept) <= samples.MAX_SAMPLES_BYTES + samples.MAX_SAMPLE_BYTES


def test_samples_given_through_the_api_are_bounded_by_the_same_rules():
    assert samples.check_bodies([b"[1]"] * samples.MAX_SAMPLES) == []
    assert [r for r, _ in samples.check_bodies([b"[1]"] * (samples.MAX_SAMPLES + 1))] == ["samples.count"]
    assert [r for r, _ in samples.check_bodies([b"1" * (samples.MAX_SAMPLE_BYTES + 1)])] == ["samples.size"]


@pytest.mark.parametrize("field, value", [("min_top1_agreement", 1.01), ("min_top1_agreement", -0.1),
                                          ("min_topk_overlap", 2), ("max_abs_diff", -1), ("max_latency_ratio", 0),
                                          ("k", 0), ("samples", 0), ("samples", samples.MAX_SAMPLES + 1)])
def test_a_shadow_threshold_out_of_its_range_is_refused_naming_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        ShadowThresholds(**{"max_abs_diff": 1, field: value})


def test_requiring_shadow_needs_at_least_one_threshold():
    with pytest.raises(ValidationError, match="policy.shadow_thresholds"):
        AliasPolicy(require=["shadow"], shadow={"k": 3})
    assert AliasPolicy(require=["shadow"], shadow={"max_latency_ratio": 1.3}).shadow.samples == 50


def comparison(**numbers) -> Comparison:
    return Comparison(alias="prod", model="m", version=2, incumbent_model="m", incumbent_version=1,
                      at="2026-01-01T00:00:00Z", samples=10, samples_source="model", samples_key="s/", k=5, **numbers)


def test_a_comparison_passes_only_when_every_threshold_given_holds():
    numbers = comparison(top1_agreement=0.99, topk_overlap=0.9, max_abs_diff=0.2, latency_ratio=1.1)

    passed = judge(numbers, ShadowThresholds(min_top1_agreement=0.98, max_latency_ratio=1.3))
    failed = judge(numbers, ShadowThresholds(min_topk_overlap=0.95, max_abs_diff=0.1))

    assert (passed.verdict, passed.failures) == ("passed", [])
    assert failed.verdict == "failed"
    assert failed.failures == ["top-k overlap (k=5) 0.9 < 0.95", "max absolute difference 0.2 > 0.1"]
    assert failed.thresholds == {"min_topk_overlap": 0.95, "max_abs_diff": 0.1}


def test_a_number_that_could_not_be_measured_fails_its_threshold_and_no_threshold_judges_nothing():
    unmeasured = comparison(top1_agreement=1.0, max_abs_diff=None, not_comparable=3)

    assert judge(unmeasured, ShadowThresholds(max_abs_diff=0.1)).verdict == "failed"
    assert judge(unmeasured, None).verdict == "not judged"
    assert json.loads(judge(unmeasured, None).model_dump_json())["failures"] == []


def test_the_policy_request_schema_states_that_requiring_shadow_needs_a_threshold():
    from jsonschema import Draft202012Validator

    from chalicelib.api.schemas import PutPolicy

    schema = Draft202012Validator(PutPolicy.model_json_schema())

    assert not schema.is_valid({"require": ["shadow"]})
    assert not schema.is_valid({"require": ["warmed", "shadow"], "shadow": {"k": 3, "max_abs_diff": None}})
    assert schema.is_valid({"require": ["shadow"], "shadow": {"max_abs_diff": 0.1}})
    assert schema.is_valid({"require": ["approved"]})
