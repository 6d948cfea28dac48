"""The client's per-call metrics without a network: outcomes of real botocore errors, the minute sums and their
PutMetricData batches, the EMF document, the cold-load rule, and what an AliasClient records."""
import io
import json
import random

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from aws_fakes import RecordingRuntime
from chalicelib.metrics import names
from client import AliasClient
from client.alias_client import MARK, marked
from client.metrics import (MAX_BYTES, MAX_DATUMS, MAX_VALUES, Aggregator, CloudWatchPublisher, ColdLoadJudge, Dims,
                            EmfWriter, batches, call_counts, datum_bytes, emf_document, outcome_of)

DIMS = Dims("fraud-prod", "fraud", "7")


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def runtime_error(status: int, body: dict, error_type: str) -> ClientError:
    """The ClientError a real boto3 sagemaker-runtime client raises for this InvokeEndpoint answer (the answer
    handed to botocore in place of the network, so botocore's own parser and modeled error fields apply)."""
    client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"total_max_attempts": 1}))
    headers = {"x-amzn-ErrorType": error_type, "Content-Type": "application/x-amz-json-1.1"}
    document = json.dumps({"__type": error_type, **body}).encode()
    client.meta.events.register("before-send", lambda request, **_: AWSResponse(request.url, status, headers,
                                                                                 _Raw(document)))
    with pytest.raises(ClientError) as raised:
        client.invoke_endpoint(EndpointName="ep", TargetModel="fraud_v7.tar.gz", Body=b"{}")
    return raised.value


@pytest.mark.parametrize("error, outcome", [
    (None, "ok"),
    (runtime_error(400, {"message": "bad body"}, "ValidationError"), "4xx"),
    (runtime_error(424, {"message": "bad input", "OriginalStatusCode": 400, "OriginalMessage": "x"}, "ModelError"),
     "4xx"),
    (runtime_error(424, {"message": "crash", "OriginalStatusCode": 500, "OriginalMessage": "x"}, "ModelError"),
     "5xx"),
    (runtime_error(424, {"message": "crash"}, "ModelError"), "5xx"),
    (runtime_error(500, {"message": "oops"}, "InternalFailure"), "5xx"),
    (runtime_error(503, {"message": "busy"}, "ServiceUnavailable"), "5xx"),
    (runtime_error(400, {"message": "slow down"}, "ThrottlingException"), "throttled"),
    (runtime_error(429, {"message": "loading"}, "ModelNotReadyException"), "not_ready"),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "5xx"),
    (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), "5xx"),
])
def test_each_outcome_is_classified_as_names_py_defines_it(error, outcome):
    assert outcome_of(error) == outcome
    assert outcome in names.OUTCOMES


def test_a_call_adds_one_request_its_outcome_metric_and_zeros_for_the_others():
    assert call_counts("5xx") == {names.REQUESTS: 1, names.COLD_LOADS: 0, names.ERRORS_4XX: 0, names.ERRORS_5XX: 1,
                                  names.THROTTLES: 0, names.NOT_READY: 0}


def test_calls_are_summed_per_dimensions_and_minute():
    aggregator = Aggregator()
    for latency in (10.0, 10.0, 12.34):
        aggregator.add(DIMS, 100, call_counts("ok"), latency)
    aggregator.add(DIMS, 101, call_counts("4xx"), 3.0)
    datums = aggregator.drain()
    requests = {d["Timestamp"].timestamp(): d["Value"] for d in datums if d["MetricName"] == names.REQUESTS}
    assert requests == {6000.0: 3.0, 6060.0: 1.0}
    (first_minute,) = [d for d in datums if d["MetricName"] == names.LATENCY and d["Timestamp"].timestamp() == 6000]
    assert (first_minute["Values"], first_minute["Counts"], first_minute["Unit"]) == ([10.0, 12.3], [2.0, 1.0],
                                                                                      "Milliseconds")
    assert first_minute["Dimensions"] == [{"Name": "Alias", "Value": "fraud-prod"}, {"Name": "Model", "Value": "fraud"},
                                          {"Name": "Version", "Value": "7"}]
    assert len(aggregator) == 0 and aggregator.drain() == []


def test_a_minute_with_more_distinct_latencies_than_a_datum_holds_is_split_into_datums():
    aggregator = Aggregator()
    for latency in range(1, 2 * MAX_VALUES + 11):
        aggregator.add(DIMS, 100, call_counts("ok"), float(latency))
    latency = [d for d in aggregator.drain() if d["MetricName"] == names.LATENCY]
    assert [len(d["Values"]) for d in latency] == [MAX_VALUES, MAX_VALUES, 10]
    assert sum(sum(d["Counts"]) for d in latency) == 2 * MAX_VALUES + 10


def test_past_its_bound_the_aggregator_drops_calls_and_counts_them():
    aggregator = Aggregator(max_series=2)
    assert aggregator.add(DIMS, 1, call_counts("ok"), 1.0) and aggregator.add(DIMS, 2, call_counts("ok"), 1.0)
    assert aggregator.add(DIMS, 1, call_counts("ok"), 1.0)  # an existing group still takes calls
    assert not aggregator.add(DIMS, 3, call_counts("ok"), 1.0)
    assert aggregator.dropped == 1 and len(aggregator) == 2


def test_batches_hold_at_most_a_thousand_datums_and_a_megabyte():
    aggregator = Aggregator()
    for minute in range(400):  # 400 minutes x (6 counts + 1 latency) = 2800 datums
        aggregator.add(DIMS, minute, call_counts("ok"), 5.0)
    calls = batches(aggregator.drain())
    assert [len(call) for call in calls] == [MAX_DATUMS, MAX_DATUMS, 800]
    big = Aggregator()
    for minute in range(200):  # 200 latency datums of 150 values each: about 2.8 MB by the estimate
        for latency in range(MAX_VALUES):
            big.add(DIMS, minute, {}, 1.0 + latency)
    calls = batches(big.drain())
    assert len(calls) > 1
    assert all(sum(datum_bytes(d) for d in call) <= MAX_BYTES for call in calls)
    assert sum(len(call) for call in calls) == 200


def test_the_emf_document_has_the_specifications_required_keys_and_our_names():
    document = emf_document(DIMS, call_counts("ok"), [12.5], 1_700_000_000_000)
    metadata = document["_aws"]
    assert isinstance(metadata["Timestamp"], int)
    (directive,) = metadata["CloudWatchMetrics"]
    assert directive["Namespace"] == names.NAMESPACE
    assert directive["Dimensions"] == [list(names.DIMENSIONS)]
    declared = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert declared[names.LATENCY] == "Milliseconds" and declared[names.REQUESTS] == "Count"
    # every declared dimension and metric is a member of the root with its value
    assert {name: document[name] for name in names.DIMENSIONS} == {"Alias": "fraud-prod", "Model": "fraud",
                                                                   "Version": "7"}
    assert all(name in document for name in declared)
    assert document[names.LATENCY] == 12.5 and document[names.REQUESTS] == 1
    assert len(directive["Metrics"]) <= 100 and len(directive["Dimensions"][0]) <= 30


def test_inside_lambda_each_call_is_one_emf_line():
    out = io.StringIO()
    writer = EmfWriter(out, clock=lambda: 1_700_000_000.5)
    writer.record(DIMS, call_counts("throttled"), 8.25)
    writer.record(DIMS, call_counts("ok"), 3.0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line[names.THROTTLES] for line in lines] == [1, 0]
    assert lines[0]["_aws"]["Timestamp"] == 1_700_000_000_500


def test_a_first_call_much_slower_than_the_next_calls_median_is_judged_a_cold_load():
    judge = ColdLoadJudge(factor=4, samples=3)
    assert judge.answered("ep/fraud_v7.tar.gz", DIMS, 900.0) is None
    assert judge.answered("ep/fraud_v7.tar.gz", DIMS, 20.0) is None
    assert judge.answered("ep/fraud_v7.tar.gz", DIMS, 25.0) is None
    assert judge.answered("ep/fraud_v7.tar.gz", DIMS, 22.0) == DIMS
    assert judge.answered("ep/fraud_v7.tar.gz", DIMS, 900.0) is None  # judged once


def test_a_first_call_as_fast_as_the_next_ones_is_warm():
    judge = ColdLoadJudge(factor=4, samples=3)
    results = [judge.answered("ep/fraud_v7.tar.gz", DIMS, latency) for latency in (30.0, 20.0, 25.0, 22.0)]
    assert results == [None] * 4


class RecordedCalls:
    """A recorder that keeps what it is given (the sink an AliasClient writes its metrics to)."""

    def __init__(self):
        self.records = []
        self.closed = False

    def record(self, dims, counts, latency_ms=None):
        self.records.append((dims, counts, latency_ms))

    def close(self):
        self.closed = True


def document(alias, model, version):
    return {"alias": alias, "model": model, "version": version, "target_model": f"{model}_v{version}.tar.gz",
            "endpoint": "mme-registry-local", "revision": 1, "targets": None}


def client_for(runtime, recorder):
    return AliasClient(fetch_alias=lambda alias: document(alias, "fraud", 7), runtime_client=runtime,
                       recorder=recorder, sleep=lambda s: None, rng=random.Random(3))


def test_an_alias_client_records_each_call_with_its_alias_model_version_and_outcome():
    recorder = RecordedCalls()
    not_ready = runtime_error(429, {"message": "loading"}, "ModelNotReadyException")
    client = client_for(RecordingRuntime([not_ready]), recorder)
    client.invoke("fraud-prod", b"{}")
    with pytest.raises(Exception):
        client._runtime.errors.append(runtime_error(424, {"message": "x", "OriginalStatusCode": 503}, "ModelError"))
        client.invoke("fraud-prod", b"{}")
    (first_dims, first, latency), (_, second, _) = recorder.records
    assert first_dims == DIMS and latency > 0
    assert first[names.REQUESTS] == 1 and first[names.COLD_LOADS] == 1  # it met ModelNotReady, then answered
    assert second[names.ERRORS_5XX] == 1 and second[names.COLD_LOADS] == 0
    client.close()
    assert recorder.closed


def test_an_alias_client_marks_its_calls_for_the_gateway_after_the_callers_own_attributes():
    runtime = RecordingRuntime()
    client = client_for(runtime, RecordedCalls())
    client.invoke("fraud-prod", b"{}")
    client.invoke("fraud-prod", b"{}", custom_attributes="trace=1")
    assert [call["CustomAttributes"] for call in runtime.calls] == [MARK + "fraud-prod", f"trace=1,{MARK}fraud-prod"]
    assert marked("x" * 1020, "fraud-prod") == "x" * 1020  # the caller's attributes are never cut


def test_with_metrics_off_nothing_is_recorded_and_the_callers_attributes_go_unchanged():
    runtime = RecordingRuntime()
    client = AliasClient(fetch_alias=lambda alias: document(alias, "fraud", 7), runtime_client=runtime, metrics=False)
    client.invoke("fraud-prod", b"{}", custom_attributes="trace=1")
    assert client.recorder is None and runtime.calls[0]["CustomAttributes"] == "trace=1"


def test_the_metrics_setting_turns_recording_off(monkeypatch):
    monkeypatch.setenv("MME_METRICS", "false")
    assert AliasClient(fetch_alias=lambda alias: document(alias, "fraud", 7)).recorder is None


def test_inside_lambda_the_client_writes_emf(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "scorer")
    assert isinstance(AliasClient(fetch_alias=lambda alias: document(alias, "fraud", 7)).recorder, EmfWriter)


class RefusingCloudWatch:
    """A CloudWatch that refuses every call, as one without the caller's permission does."""

    def __init__(self):
        self.calls = 0

    def put_metric_data(self, **request):
        self.calls += 1
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutMetricData")


def test_a_refusing_cloudwatch_loses_the_batch_logs_once_and_never_reaches_the_caller(caplog):
    cloudwatch = RefusingCloudWatch()
    publisher = CloudWatchPublisher(lambda: cloudwatch, flush_seconds=3600)
    for _ in range(3):
        publisher.record(DIMS, call_counts("ok"), 5.0)
        publisher.flush()
    publisher.close()
    assert cloudwatch.calls == 3 and publisher.lost == 3 * 7 and publisher.sent == 0
    assert len([r for r in caplog.records if "not reaching CloudWatch" in r.getMessage()]) == 1
