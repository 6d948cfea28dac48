"""The warm-up sample input derived from a model's shapes.json."""
import json

import pytest

from chalicelib.warmup import sample_payload

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


@pytest.mark.parametrize(
    "shapes",
    [[], [{"name": "a", "shape": [1, 2]}, {"name": "b", "shape": [1, 2]}], [{"name": "a", "shape": [1, 0]}],
     [{"name": "a"}], [{"name": "a", "shape": [3]}]],
)
def test_a_sample_payload_needs_exactly_one_input_with_a_positive_shape(shapes):
    with pytest.raises(ValueError):
        sample_payload(shapes)
