"""Warm latency of one SavedModel through the TF Serving backend against the same model called in
this process, request by request (each backend request paired with the in-process calls just
before it, so all see the same load). Runs under the TF venv; bench/container.py starts it.

Three in-process references: the bare call on a ready array; the call on the same JSON request
decoded here (json.loads + numpy); and that plus encoding the answer as JSON, the whole request's
work, as the MXNet line's reference decodes the same JPEG and encodes its answer: a REST request's
numbers must be parsed and answered somewhere, and that cost is not the backend's. The client
connection sets TCP_NODELAY, as the gateway's (urllib3) does.

    .cache/tf/venv/bin/python bench/tf_latency.py --url URL --name NAME --model-dir DIR --inputs X.npy
"""
from __future__ import annotations

import argparse
import http.client
import json
import socket
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
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def served(name: str = args.name, status: int = 200) -> bytes:
        connection.request("POST", f"/models/{name}/invoke", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        assert response.status == status, payload[:300]
        return payload

    def hop() -> bytes:
        """The HTTP hop alone: the same body to a model the backend does not hold (404, nothing parsed)."""
        return served("no-such-model", 404)

    def decoded() -> dict:
        instances = np.asarray(json.loads(body)["instances"], dtype=np.float32)
        return {k: v.numpy() for k, v in function(image=tf.constant(instances)).items()}

    def answered() -> bytes:
        return json.dumps({"predictions": decoded()["output_0"].tolist()}).encode()

    for _ in range(5):  # warm every path
        direct(), answered(), served()
    served_s, direct_s, decoded_s, answered_s, hop_s = [], [], [], [], []
    for _ in range(args.count):
        start = time.perf_counter()
        direct()
        direct_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        decoded()
        decoded_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        answered()
        answered_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        payload = served()
        served_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        hop()
        hop_s.append(time.perf_counter() - start)
    difference = float(np.abs(np.array(json.loads(payload)["predictions"]) - reference).max())
    print(json.dumps({"served": served_s, "direct": direct_s, "decoded": decoded_s, "answered": answered_s, "hop": hop_s,
                      "max_diff": difference,
                      "body_bytes": len(body)}))


if __name__ == "__main__":
    main()
