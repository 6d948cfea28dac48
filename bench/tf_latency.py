"""Warm latency of one SavedModel through the TF Serving backend against the same model called in
this process, request by request (each backend request paired with the in-process calls just
before it, so all see the same load). Runs under the TF venv; bench/container.py starts it.

Two in-process references: the bare call on a ready array, and the call on the same JSON request
decoded here (json.loads + numpy), as the MXNet line's reference decodes the same JPEG: a REST
request's numbers must be parsed somewhere, and that cost is not the backend's.

    .cache/tf/venv/bin/python bench/tf_latency.py --url URL --name NAME --model-dir DIR --inputs X.npy
"""
from __future__ import annotations

import argparse
import http.client
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import tensorflow as tf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--name", required=True, help="the backend's name for the loaded model")
    parser.add_argument("--model-dir", type=Path, required=True, help="the extracted tarball (holds 1/)")
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()

    x = np.load(args.inputs)[:args.batch]
    function = tf.saved_model.load(str(args.model_dir / "1")).signatures["serving_default"]
    direct = lambda: {k: v.numpy() for k, v in function(image=tf.constant(x)).items()}  # noqa: E731
    reference = direct()["output_0"]
    body = json.dumps({"instances": x.tolist()}).encode()
    address = urlsplit(args.url)
    connection = http.client.HTTPConnection(address.hostname, address.port)

    def served() -> bytes:
        connection.request("POST", f"/models/{args.name}/invoke", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        assert response.status == 200, payload[:300]
        return payload

    def decoded() -> dict:
        instances = np.asarray(json.loads(body)["instances"], dtype=np.float32)
        return {k: v.numpy() for k, v in function(image=tf.constant(instances)).items()}

    for _ in range(5):  # warm every path
        direct(), decoded(), served()
    served_s, direct_s, decoded_s = [], [], []
    for _ in range(args.count):
        start = time.perf_counter()
        direct()
        direct_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        decoded()
        decoded_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        payload = served()
        served_s.append(time.perf_counter() - start)
    difference = float(np.abs(np.array(json.loads(payload)["predictions"]) - reference).max())
    print(json.dumps({"served": served_s, "direct": direct_s, "decoded": decoded_s, "max_diff": difference,
                      "body_bytes": len(body)}))


if __name__ == "__main__":
    main()
