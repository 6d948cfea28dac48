"""The warm-up sample input derived from a model's shapes.json."""
import json

import pytest

from chalicelib.versions.sample_inputs import sample_payload

def test_a_sample_payload_has_the_shape_of_shapes_json_with_a_batch_of_one():
    body, content_type = sample_payload([{"name": "data", "shape": [8, 3, 4, 5]}])
    instances = json.loads(body)["instances"]
    assert content_type == "application/json"
    assert (len(instances), len(instances[0]), len(instances[0][0]), len(instances[0][0][0])) == (1, 3, 4, 5)
    assert {v for plane in instances[0] for row in plane for v in row} == {0.0}


def test_a_random_sample_payload_is_seeded_and_within_zero_and_one():
    shapes = [{"name": "data", "shape": [1, 64]}]
    first = json.loads(sample_payload(shapes, fill="random")[0])["instances"][0]
    again = json.loads(sample_payload(shapes, fill="random")[0])["instances"][0]
    assert first == again and len(set(first)) > 1 and all(0 <= v < 1 for v in first)


def test_a_model_with_several_inputs_gets_a_sample_batch_of_one_per_input_by_name():
    body, _ = sample_payload([{"name": "pixels", "shape": [4, 1, 2, 2]}, {"name": "extra", "shape": [1, 3]}])

    assert json.loads(body) == {"inputs": {"pixels": [[[[0.0, 0.0], [0.0, 0.0]]]], "extra": [[0.0, 0.0, 0.0]]}}


def test_several_inputs_together_must_fit_one_request():
    half = 6 * 1024 * 1024 // 4 // 2 + 1  # each alone fits; both do not
    with pytest.raises(ValueError, match="request limit"):
        sample_payload([{"name": "a", "shape": [1, half]}, {"name": "b", "shape": [1, half]}])


@pytest.mark.parametrize(
    "shapes",
    [[], [{"name": "a", "shape": [1, 2]}, {"name": "a", "shape": [1, 2]}], [{"name": "a", "shape": [1, 0]}],
     [{"name": "a"}], [{"name": "a", "shape": [3]}], [{"name": "a", "shape": [1, 2]}, {"shape": [1, 2]}]],
)
def test_a_sample_payload_needs_inputs_with_distinct_names_and_positive_shapes(shapes):
    with pytest.raises(ValueError):
        sample_payload(shapes)


# warm(): retries within a budget, never raises ------------------------------------------
from aws_fakes import ScriptedRuntime, client_error, model_not_ready  # noqa: E402

from chalicelib.versions.warmup import warm  # noqa: E402

SHAPES = [{"name": "data", "shape": [1, 64]}]


class FakeTime:
    """A monotonic clock that sleeping advances."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_model_that_is_still_loading_is_retried_with_growing_pauses_until_it_answers():
    time = FakeTime()
    runtime = ScriptedRuntime(model_not_ready(), model_not_ready(), "ok")

    result = warm(runtime, "ep", "m_v1.tar.gz", SHAPES, budget_seconds=60, sleep=time.sleep, clock=time.clock)

    assert result.ok
    assert time.sleeps == [1.0, 2.0]
    assert len(runtime.calls) == 3


def test_a_model_that_never_loads_within_the_budget_is_a_failed_warm_up():
    time = FakeTime()
    runtime = ScriptedRuntime(*[model_not_ready() for _ in range(100)])

    result = warm(runtime, "ep", "m_v1.tar.gz", SHAPES, budget_seconds=30, sleep=time.sleep, clock=time.clock)

    assert not result.ok
    assert result.error.startswith("ModelNotReadyException")
    assert sum(time.sleeps) <= 30
    assert len(runtime.calls) == len(time.sleeps) + 1


def test_a_model_error_is_not_retried():
    time = FakeTime()
    runtime = ScriptedRuntime(client_error("ModelError", "boom"))

    result = warm(runtime, "ep", "m_v1.tar.gz", SHAPES, sleep=time.sleep, clock=time.clock)

    assert (result.ok, time.sleeps, len(runtime.calls)) == (False, [], 1)


@pytest.mark.parametrize("raised", [RecursionError("maximum recursion depth exceeded"), MemoryError(),
                                    KeyError("Body"), RuntimeError("anything at all")])
def test_any_exception_during_the_invoke_is_a_failed_warm_up_not_a_crash(raised):
    result = warm(ScriptedRuntime(raised), "ep", "m_v1.tar.gz", SHAPES, sleep=lambda s: None)

    assert not result.ok
    assert result.error.startswith(type(raised).__name__)


@pytest.mark.parametrize("shape", [[1] * 5000, [1, 10**9], [1] + [10] * 31, [1, 2**40, 2**40]])
def test_a_shape_too_deep_or_too_large_to_send_fails_the_warm_up_before_any_invoke(shape):
    runtime = ScriptedRuntime()

    result = warm(runtime, "ep", "m_v1.tar.gz", [{"name": "data", "shape": shape}], sleep=lambda s: None)

    assert not result.ok and result.error.startswith("ValueError")
    assert runtime.calls == []


# TensorFlow: TF Serving's row format from the recorded serving_default inputs ------------
from chalicelib.versions.sample_inputs import payload_for, tensorflow_payload  # noqa: E402


def test_a_tensorflow_sample_is_one_instance_with_unknown_dimensions_as_one():
    body, content_type = tensorflow_payload([{"name": "image", "dtype": "float32", "shape": [-1, 2, -1, 3]}])

    assert content_type == "application/json"
    assert json.loads(body) == {"instances": [[[[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]]}


def test_a_tensorflow_sample_of_several_inputs_is_one_dict_per_instance_with_zeros_of_each_dtype():
    inputs = [{"name": "count", "dtype": "int64", "shape": [-1, 1]},
              {"name": "flag", "dtype": "bool", "shape": [-1, 2]},
              {"name": "tag", "dtype": "string", "shape": [-1]},
              {"name": "x", "dtype": "float16", "shape": [-1, 1]}]

    body, _ = tensorflow_payload(inputs)

    assert body == b'{"instances":[{"count":[0],"flag":[false,false],"tag":"","x":[0.0]}]}'


def test_a_fixed_batch_dimension_is_sent_as_that_many_instances():
    body, _ = tensorflow_payload([{"name": "x", "dtype": "int32", "shape": [2, 3]}])

    assert json.loads(body) == {"instances": [[0, 0, 0], [0, 0, 0]]}


@pytest.mark.parametrize("inputs", [
    [{"name": "z", "dtype": "complex64", "shape": [-1, 2]}],  # no JSON value for it
    [{"name": "s", "dtype": "float32", "shape": []}],  # no batch dimension
    [{"name": "s", "dtype": "float32", "shape": None}],  # unknown rank
])
def test_a_tensorflow_signature_no_request_can_feed_gets_no_sample(inputs):
    with pytest.raises(ValueError):
        tensorflow_payload(inputs)


def test_the_framework_chooses_the_form_of_the_sample():
    one = [{"name": "data", "dtype": "float32", "shape": [1, 2]}]

    assert json.loads(payload_for("mxnet", one)[0]) == {"instances": [[0.0, 0.0]]}
    assert json.loads(payload_for("tensorflow", one)[0]) == {"instances": [[0.0, 0.0]]}
    two = [{"name": "a", "dtype": "int32", "shape": [1, 1]}, {"name": "b", "dtype": "int32", "shape": [1, 1]}]
    assert json.loads(payload_for("mxnet", two)[0]) == {"inputs": {"a": [[0.0]], "b": [[0.0]]}}
    assert json.loads(payload_for("tensorflow", two)[0]) == {"instances": [{"a": [0], "b": [0]}]}


def test_inputs_whose_fixed_first_dimensions_differ_are_sent_as_columns():
    body, _ = tensorflow_payload([{"name": "a", "dtype": "float32", "shape": [2, 1]},
                                  {"name": "b", "dtype": "int64", "shape": [3]}])

    assert json.loads(body) == {"inputs": {"a": [[0.0], [0.0]], "b": [0, 0, 0]}}
