"""Which calls the local gateway records: plain callers' calls to a registry version, never a call the client
or the registry's warm-up already accounted for."""
from aws_fakes import ScriptedRuntime

from chalicelib.metrics import names
from chalicelib.versions.warmup import warm
from client.alias_client import marked
from client.metrics import Dims
from local_stack.runtime.call_metrics import direct_call


def test_a_plain_call_to_a_version_is_recorded_under_direct_with_its_model_and_version():
    assert direct_call("team-a/fraud_v12.tar.gz", None) == Dims(names.DIRECT, "team-a/fraud", "12")
    assert direct_call("fraud_v12.tar.gz", "trace=1") == Dims(names.DIRECT, "fraud", "12")


def test_a_call_the_alias_client_marked_is_left_to_the_client():
    assert direct_call("fraud_v12.tar.gz", marked(None, "fraud-prod")) is None
    assert direct_call("fraud_v12.tar.gz", marked("trace=1", "fraud-prod")) is None


def test_a_target_model_that_names_no_version_is_not_recorded():
    assert direct_call("resnet_18.tar.gz", None) is None
    assert direct_call(None, None) is None


def test_the_registrys_warm_up_is_marked_so_no_one_counts_it():
    runtime = ScriptedRuntime()
    assert warm(runtime, "mme-registry-local", "fraud_v12.tar.gz", [{"name": "data", "shape": [1, 4]}]).ok
    (call,) = runtime.calls
    assert call["CustomAttributes"] == names.WARMUP_MARK
    assert direct_call(call["TargetModel"], call["CustomAttributes"]) is None
