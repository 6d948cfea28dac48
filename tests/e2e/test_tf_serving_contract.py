"""The SageMaker multi-model container contract, checked against the real TF Serving backend
(local_stack/tf_serving.py under the TF venv) with SavedModels trained here: the same routes and
statuses MMS answers (DESIGN.md, "The MME container contract"), in TF Serving's error shape."""
from __future__ import annotations

import http.client
import json
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from local_stack.sample_models import unpack
from local_stack.tf_backend import TfServingServer
from local_stack.tf_sample_models import train_cnns

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tf-serving")]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return train_cnns(tmp_path_factory.mktemp("tf-models"))


@pytest.fixture(scope="module")
def model_dirs(models, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tf-model-dirs")
    return {name: unpack(model.tarball, root / name) for name, model in models.items()}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with TfServingServer(tmp_path_factory.mktemp("tf-serving")) as running:
        yield running


def raw_load(server, name, path) -> requests.Response:
    """`POST /models` exactly as SageMaker sends it, without the helper's 507 clean-up."""
    return requests.post(f"{server.url}/models", json={"model_name": name, "url": str(path)}, timeout=120)


def pictures(models, name, count=2) -> np.ndarray:
    return np.load(models[name].inputs)[:count]


def test_ping_answers_200(server):
    assert requests.get(f"{server.url}/ping", timeout=10).status_code == 200


@pytest.mark.parametrize("length", [6 * 1024 * 1024 + 1, 10**15])
def test_a_body_over_6_mib_answers_413_before_a_byte_of_it_is_read(server, length):
    # GIVEN a request that declares a body over InvokeEndpoint's 6 MB and sends none of it
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(f"POST /models/any/invoke HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
                           f"\r\nContent-Length: {length}\r\n\r\n".encode())
        # WHEN the answer is read (a server waiting for the body would time out here)
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        # THEN it is 413 with a JSON error that states the limit
        assert answer.status == 413
        assert "over the 6,291,456-byte limit" in json.loads(answer.read())["error"]
    assert requests.get(f"{server.url}/ping", timeout=10).status_code == 200


def test_a_model_loads_once_answers_and_after_deletion_answers_404(server, models, model_dirs):
    # GIVEN a model loaded once; a second load of the same name is refused
    assert raw_load(server, "contract", model_dirs["cifar"]).status_code == 200
    second = raw_load(server, "contract", model_dirs["cifar"])
    assert second.status_code == 409 and "already loaded" in second.json()["error"]
    body = json.dumps({"instances": pictures(models, "cifar").tolist()})
    answer = server.invoke("contract", body, "application/json")
    assert answer.status == 200
    assert np.abs(np.array(answer.json()["predictions"]) - np.load(models["cifar"].probabilities)[:2]).max() <= 1e-4
    # WHEN it is deleted
    assert server.unload("contract").status_code == 200
    # THEN it is gone from every route
    gone = server.invoke("contract", "{}", "application/json")
    assert gone.status == 404 and "not loaded" in gone.json()["error"]
    assert server.describe("contract").status_code == 404
    assert server.unload("contract").status_code == 404
    assert "contract" not in server.all_models()


def test_listing_models_pages_with_limit_and_next_page_token(server, model_dirs):
    for name, path in model_dirs.items():
        assert raw_load(server, f"page-{name}", path).status_code == 200

    first = server.list_models(limit=1)
    second = server.list_models(limit=1, next_page_token=first["nextPageToken"])

    assert len(first["models"]) == len(second["models"]) == 1
    assert {m["modelName"] for m in first["models"] + second["models"]} == {"page-cifar", "page-sign-language"}
    assert "nextPageToken" not in second and all(m["modelUrl"] for m in second["models"])
    for name in model_dirs:
        server.unload(f"page-{name}")


def test_the_highest_numeric_version_folder_is_served(server, models, model_dirs, tmp_path):
    # GIVEN versions 1 and 9 of the 32x32 model and version 10 of the 64x64 one (10 sorts before 9 as text)
    for version, name in (("1", "cifar"), ("9", "cifar"), ("10", "sign-language")):
        shutil.copytree(model_dirs[name] / "1", tmp_path / version)

    assert raw_load(server, "versions", tmp_path).status_code == 200

    assert server.describe("versions").json()[0]["modelVersion"] == "10"
    body = json.dumps({"instances": pictures(models, "sign-language").tolist()})
    assert server.invoke("versions", body, "application/json").status == 200
    server.unload("versions")


def test_a_folder_without_a_version_folder_answers_404(server, model_dirs, tmp_path):
    shutil.copytree(model_dirs["cifar"] / "1", tmp_path / "model1" / "1")  # nested: TF Serving finds nothing

    refused = raw_load(server, "nested", tmp_path)

    assert refused.status_code == 404 and "saved_model.pb" in refused.json()["error"]
    assert "nested" not in server.all_models()


def test_a_load_over_the_memory_budget_answers_507_and_the_loaded_model_keeps_serving(models, model_dirs,
                                                                                       tmp_path):
    # GIVEN a backend whose budget holds one of the models but not two
    size = sum(f.stat().st_size for f in (model_dirs["cifar"] / "1").rglob("*") if f.is_file())
    with TfServingServer(tmp_path / "budget", memory_budget_mb=1.5 * size / 2**20) as small:
        assert raw_load(small, "first", model_dirs["cifar"]).status_code == 200
        # WHEN a second model is loaded
        refused = raw_load(small, "second", model_dirs["sign-language"])
        # THEN it is a 507 that SageMaker answers by unloading others, and the first still serves
        assert refused.status_code == 507 and "Memory exhausted" in refused.json()["error"]
        body = json.dumps({"instances": pictures(models, "cifar").tolist()})
        assert small.invoke("first", body, "application/json").status == 200
        assert small.all_models() == ["first"]
        assert small.unload("first").status_code == 200
        assert raw_load(small, "second", model_dirs["sign-language"]).status_code == 200


TWO_INPUT_MODEL = """
import sys, tensorflow as tf

class Scaled(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([None], tf.int64)])
    def serve(self, pixels, count):
        return {"total": tf.reduce_sum(pixels, axis=1) * tf.cast(count, tf.float32), "count": count * 2}

module = Scaled()
tf.saved_model.save(module, sys.argv[1], signatures={"serving_default": module.serve})
"""


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory) -> Path:
    """A SavedModel whose signature takes two named inputs of different dtypes and answers two outputs."""
    import os
    import subprocess

    from local_stack import tf_env

    folder = tmp_path_factory.mktemp("two-inputs")
    subprocess.run([str(tf_env.interpreter()), "-c", TWO_INPUT_MODEL, str(folder / "1")], check=True,
                   capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return folder


def test_a_signature_with_two_inputs_takes_rows_keyed_by_input_name_and_columns(server, two_inputs):
    assert raw_load(server, "two", two_inputs).status_code == 200
    rows = {"instances": [{"pixels": [1, 2, 3], "count": 2}, {"pixels": [0.5, 0.5, 0], "count": 3}]}
    columns = {"inputs": {"pixels": [[1, 2, 3], [0.5, 0.5, 0]], "count": [2, 3]}}

    by_row = server.invoke("two", json.dumps(rows), "application/json")
    by_column = server.invoke("two", json.dumps(columns), "application/json")

    assert by_row.json() == {"predictions": [{"count": 4, "total": 12.0}, {"count": 6, "total": 3.0}]}
    assert by_column.json() == {"outputs": {"count": [4, 6], "total": [12.0, 3.0]}}
    missing = server.invoke("two", json.dumps({"instances": [{"pixels": [1, 2, 3]}]}), "application/json")
    fractional = server.invoke("two", json.dumps({"inputs": {"pixels": [[1, 2, 3]], "count": [1.5]}}),
                               "application/json")
    assert missing.status == 400 and "inputs are ['count', 'pixels']" in missing.json()["error"]
    assert fractional.status == 400 and "expects int64 values" in fractional.json()["error"]
    server.unload("two")


@pytest.fixture(scope="module")
def bytes_model(tmp_path_factory) -> Path:
    from tf_env import run_tf

    folder = tmp_path_factory.mktemp("bytes-model")
    run_tf("export_bytes_model.py", str(folder))
    return folder


def test_binary_strings_travel_as_b64_both_ways_and_text_as_text(server, bytes_model):
    import base64

    assert raw_load(server, "bytes", bytes_model).status_code == 200
    # GIVEN binary data that ends in NUL bytes (as any image may), sent the way TF Serving reads binary strings
    binary = b"\xff\xd8\x00binary\x00\x00"
    body = {"instances": [{"b64": base64.b64encode(binary).decode()}, "text"]}

    answer = server.invoke("bytes", json.dumps(body), "application/json")

    # THEN every byte reached the model, `*_bytes` outputs come back as b64 and other strings as text
    assert answer.status == 200, answer.body
    first, second = answer.json()["predictions"]
    assert first["length"] == len(binary) and base64.b64decode(first["head_bytes"]["b64"]) == binary[:2]
    assert second == {"length": 4, "upper": "TEXT", "head_bytes": {"b64": base64.b64encode(b"te").decode()}}
    columnar = server.invoke("bytes", json.dumps({"inputs": {"b64": base64.b64encode(binary).decode()}}),
                             "application/json")
    assert columnar.status == 400 and "expects shape (-1)" in columnar.json()["error"]  # a scalar for a batch input
    broken = server.invoke("bytes", json.dumps({"instances": [{"b64": "not base64!"}]}), "application/json")
    assert broken.status == 400 and "must hold base64 text" in broken.json()["error"]
    server.unload("bytes")
