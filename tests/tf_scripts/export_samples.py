"""Exports the SavedModels the TensorFlow tests read, and what TensorFlow itself says of each signature.

Runs under the TensorFlow venv (never the MXNet one): `python export_samples.py OUT_DIR`.
Each case is OUT_DIR/<case>/<version>/...; OUT_DIR/expected.json holds, per case and
version, every signature's inputs and outputs as tf.saved_model.load reads them.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def keras_cnn(path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 3), name="image"), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")])
    model.export(path, verbose=False)


def keras_two_inputs(path):
    keras.utils.set_random_seed(1)
    image, extra = keras.Input((8, 8, 1), name="pixels"), keras.Input((3,), name="extra")
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(image), extra])
    model = keras.Model([image, extra], keras.layers.Dense(2, activation="softmax")(joined))
    model.export(path, verbose=False)


class Linear(tf.Module):
    def __init__(self):
        self.w = tf.Variable(tf.ones((4, 2)))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def predict(self, x):
        return {"y": tf.matmul(x, self.w)}


class Mixed(tf.Module):
    """Three inputs of three dtypes, a string among the outputs."""

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32, name="image"),
                                  tf.TensorSpec([None, 1], tf.int64, name="count"),
                                  tf.TensorSpec([None], tf.string, name="tag")])
    def predict(self, image, count, tag):
        return {"score": tf.reduce_sum(image, axis=[1, 2, 3]) + tf.cast(count[:, 0], tf.float32), "echo": tag}


def function_module(spec, body):
    module = tf.Module()
    module.predict = tf.function(body, input_signature=[spec])
    return module


def uneven_batches(path):
    """Two inputs whose fixed first dimensions differ: TF Serving feeds them only as columns."""
    module = tf.Module()
    module.predict = tf.function(lambda a, b: {"total": tf.reduce_sum(a) + tf.cast(tf.reduce_sum(b), tf.float32)},
                                 input_signature=[tf.TensorSpec([2, 1], tf.float32, name="a"),
                                                  tf.TensorSpec([3], tf.int64, name="b")])
    tf.saved_model.save(module, path, signatures={"serving_default": module.predict})


def explicit(path):
    module = Linear()
    tf.saved_model.save(module, path, signatures={"serving_default": module.predict})


def mixed(path):
    module = Mixed()
    tf.saved_model.save(module, path, signatures={"serving_default": module.predict})


def without_serving_default(path):
    module = Linear()
    tf.saved_model.save(module, path, signatures={"predict_it": module.predict, "other": module.predict})


def complex_input(path):
    module = function_module(tf.TensorSpec([None, 2], tf.complex64, name="z"), lambda z: {"re": tf.math.real(z)})
    tf.saved_model.save(module, path, signatures={"serving_default": module.predict})


def scalar_input(path):
    module = function_module(tf.TensorSpec([], tf.float32, name="s"), lambda s: {"twice": s * 2})
    tf.saved_model.save(module, path, signatures={"serving_default": module.predict})


CASES = {  # case -> {version folder: exporter}
    "keras_cnn": {"1": keras_cnn},
    "keras_two_inputs": {"1": keras_two_inputs},
    "explicit": {"1": explicit},
    "mixed": {"1": mixed},
    "uneven_batches": {"1": uneven_batches},
    "no_serving_default": {"1": without_serving_default},
    "complex_input": {"1": complex_input},
    "scalar_input": {"1": scalar_input},
    "versions": {"9": without_serving_default, "10": explicit},  # 10 > 9: TF Serving serves 10
}


def described(spec):
    return {"dtype": spec.dtype.name, "shape": None if spec.shape.rank is None else
            [-1 if d is None else d for d in spec.shape.as_list()]}


def signatures_of(path):
    loaded = tf.saved_model.load(path)
    return {name: {"inputs": {k: described(v) for k, v in fn.structured_input_signature[1].items()},
                   "outputs": {k: described(v) for k, v in fn.structured_outputs.items()}}
            for name, fn in loaded.signatures.items()}


def main(out):
    expected = {}
    for case, versions in CASES.items():
        for version, export in versions.items():
            path = os.path.join(out, case, version)
            export(path)
            expected.setdefault(case, {})[version] = signatures_of(path)
    with open(os.path.join(out, "expected.json"), "w") as file:
        json.dump(expected, file, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
