"""Exports a SavedModel whose serving_default takes binary strings (as an image-bytes model does):
input `data` (string, [batch]); outputs `length` (bytes in each), `upper` (text) and `head_bytes`
(each one's first two bytes, binary). Runs under the TF venv: `python export_bytes_model.py OUT`."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402


class BytesModel(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="data")])
    def serve(self, data):
        return {"length": tf.strings.length(data), "upper": tf.strings.upper(data),
                "head_bytes": tf.strings.substr(data, 0, 2)}


if __name__ == "__main__":
    model = BytesModel()
    tf.saved_model.save(model, os.path.join(sys.argv[1], "1"), signatures={"serving_default": model.serve})
