"""How the console writes a version's inputs: MXNet's name and shape, TensorFlow's dtype too."""
from console.formatting import shapes


def test_mxnet_inputs_read_as_name_and_shape():
    assert shapes([{"name": "data", "shape": [1, 3, 224, 224]}]) == "data [1, 3, 224, 224]"


def test_tensorflow_inputs_also_name_their_dtype():
    inputs = [{"name": "image", "dtype": "float32", "shape": [-1, 32, 32, 3]}, {"name": "count", "dtype": "int64",
                                                                              "shape": [-1]}]
    assert shapes(inputs) == "image float32 [-1, 32, 32, 3], count int64 [-1]"


def test_no_inputs_read_as_a_dash():
    assert shapes(None) == "–" and shapes([]) == "–"
