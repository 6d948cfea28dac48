"""How the console writes a version's inputs (MXNet's name and shape, TensorFlow's dtype too) and an alias's split."""
from client.commands_alias import describe_targets
from console.formatting import shapes, share, targets


def test_mxnet_inputs_read_as_name_and_shape():
    assert shapes([{"name": "data", "shape": [1, 3, 224, 224]}]) == "data [1, 3, 224, 224]"


def test_tensorflow_inputs_also_name_their_dtype():
    inputs = [{"name": "image", "dtype": "float32", "shape": [-1, 32, 32, 3]}, {"name": "count", "dtype": "int64",
                                                                              "shape": [-1]}]
    assert shapes(inputs) == "image float32 [-1, 32, 32, 3], count int64 [-1]"


def test_no_inputs_read_as_a_dash():
    assert shapes(None) == "–" and shapes([]) == "–"


def test_relative_weights_read_as_each_targets_share_of_traffic():
    split = [{"model": "digits", "version": 2, "weight": 3}, {"model": "digits", "version": 3, "weight": 1}]
    thirds = [{"model": "m", "version": v, "weight": 1} for v in (1, 2, 3)]

    assert [share(t, split) for t in split] == ["75%", "25%"]
    assert targets({"targets": split}) == "digits v2 (75%), digits v3 (25%)"
    assert targets({"targets": thirds}) == "m v1 (33.3%), m v2 (33.3%), m v3 (33.3%)"
    assert describe_targets(split) == "digits v2 75%, digits v3 25%"
