"""The TF Serving backend: SavedModels behind the SageMaker multi-model container API.

What AWS's TensorFlow Serving inference image does on a multi-model endpoint, as one small
process: `POST /models` {"model_name", "url"} loads the highest numeric version folder under
`url` (409 if loaded, 507 when it would pass the memory budget or TensorFlow runs out of
memory), `GET /models` (paged as MMS pages it), `GET|DELETE /models/{name}`,
`POST /models/{name}/invoke` with TF Serving's REST predict semantics (tf_payloads.py), 404
for a model that is not loaded, `GET /ping`. TensorFlow runs in-process rather than as a
tensorflow_model_server binary, which pip cannot install; the wire behaviour is the same.

Runs under the TF venv (tf_env.py), so it imports only the stdlib, numpy, TensorFlow and
tf_payloads:  .cache/tf/venv/bin/python -m local_stack.tf_serving --port 9090
"""
from __future__ import annotations

import argparse
import json
import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import tensorflow as tf

from local_stack.tf_payloads import PayloadError, TensorSpec, answer, parse_request, served_version

log = logging.getLogger("tf_serving")
# What a request body may be: InvokeEndpoint takes 6 MB (the gateway's MAX_PAYLOAD, whose value this repeats: this
# process imports nothing of the stack), and MMS refuses more than its max_request_size (6,553,500) with 413.
MAX_BODY = 6 * 1024 * 1024


class ServingError(Exception):
    """An answer other than 200: its status and the TF Serving-shaped message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Servable:
    name: str
    url: str
    version: Path
    size: int
    functions: dict  # signature name -> concrete function
    specs: dict[str, dict[str, TensorSpec]]

    @classmethod
    def load(cls, name: str, url: str) -> "Servable":
        version = served_version(Path(url))
        size = sum(f.stat().st_size for f in version.rglob("*") if f.is_file())
        loaded = tf.saved_model.load(str(version))
        functions = {key: fn for key, fn in loaded.signatures.items()}
        specs = {key: {arg: TensorSpec(arg, np.dtype(spec.dtype.as_numpy_dtype),
                                       None if spec.shape.rank is None else tuple(spec.shape.as_list()))
                       for arg, spec in fn.structured_input_signature[1].items()}
                 for key, fn in functions.items()}
        servable = cls(name, url, version, size, functions, specs)
        servable._keep = loaded  # the functions' variables live as long as the loaded object
        return servable

    def predict(self, body: bytes) -> bytes:
        request = parse_request(body, self.specs)
        try:
            outputs = self.functions[request.signature](**{k: tf.constant(v) for k, v in request.inputs.items()})
        except tf.errors.InvalidArgumentError as exc:  # TF Serving answers InvalidArgument with 400
            raise PayloadError(exc.message) from None
        return answer({name: tensor.numpy() for name, tensor in outputs.items()}, request.row_format)

    def describe(self) -> dict:
        signatures = {key: {name: {"dtype": s.dtype.name, "shape": s.shape} for name, s in specs.items()}
                      for key, specs in self.specs.items()}
        return {"modelName": self.name, "modelUrl": self.url, "modelVersion": self.version.name,
                "sizeBytes": self.size, "signatures": signatures}


class Models:
    """The loaded servables, within an optional budget for their bytes on disk."""

    def __init__(self, budget_bytes: int | None = None):
        self.budget_bytes = budget_bytes
        self._servables: dict[str, Servable] = {}
        self._loading: set[str] = set()
        self._lock = threading.Lock()

    def load(self, name: str, url: str) -> Servable:
        with self._lock:
            if name in self._servables or name in self._loading:
                raise ServingError(409, f"Model {name} is already loaded.")
            self._loading.add(name)
        try:
            if not Path(url).is_dir():
                raise ServingError(404, f"Could not find valid base path {url} for servable {name}")
            try:
                servable = Servable.load(name, url)
            except FileNotFoundError as exc:
                raise ServingError(404, f"Could not find valid base path {url} for servable {name}: {exc}") from exc
            except (MemoryError, tf.errors.ResourceExhaustedError) as exc:
                raise ServingError(507, f"Memory exhausted: not enough memory to load {name}: {exc}") from exc
            with self._lock:
                used = sum(s.size for s in self._servables.values())
                if self.budget_bytes is not None and used + servable.size > self.budget_bytes:
                    raise ServingError(507, f"Memory exhausted: {name} needs {servable.size} bytes; "
                                            f"{used} of the budget's {self.budget_bytes} are in use.")
                self._servables[name] = servable
            return servable
        finally:
            with self._lock:
                self._loading.discard(name)

    def get(self, name: str) -> Servable:
        with self._lock:
            servable = self._servables.get(name)
        if servable is None:
            raise ServingError(404, f"Model {name} is not loaded yet.")
        return servable

    def unload(self, name: str) -> None:
        with self._lock:
            if self._servables.pop(name, None) is None:
                raise ServingError(404, f"Model {name} is not loaded.")

    def page(self, limit: int, token: int) -> dict:
        with self._lock:
            names = sorted(self._servables)
            page = [{"modelName": n, "modelUrl": self._servables[n].url} for n in names[token:token + limit]]
        more = token + limit < len(names)
        return {"models": page, **({"nextPageToken": str(token + limit)} if more else {})}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mme-registry-tf-serving"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stall

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def do_DELETE(self) -> None:
        self._answer(self._delete)

    def _get(self, path: list[str], body: bytes) -> tuple[int, object]:
        models: Models = self.server.models
        if path == ["ping"]:
            return 200, {"status": "healthy"}
        if path == ["models"]:
            query = parse_qs(urlsplit(self.path).query)
            try:
                limit = int(query.get("limit", ["100"])[0])
                token = int(query.get("next_page_token", ["0"])[0])
            except ValueError:
                raise ServingError(400, "limit and next_page_token must be integers") from None
            if limit < 1 or token < 0:
                raise ServingError(400, "limit must be positive and next_page_token not negative")
            return 200, models.page(limit, token)
        if len(path) == 2 and path[0] == "models":
            return 200, [models.get(path[1]).describe()]
        raise ServingError(404, f"no route GET {self.path}")

    def _post(self, path: list[str], body: bytes) -> tuple[int, object]:
        models: Models = self.server.models
        if path == ["models"]:
            try:
                request = json.loads(body)
                name, url = request["model_name"], request["url"]
            except (ValueError, TypeError, KeyError):
                raise ServingError(400, 'The load request must be {"model_name": ..., "url": ...}') from None
            servable = models.load(str(name), str(url))
            return 200, {"status": f"Model {name} loaded from version {servable.version.name}"}
        if len(path) == 3 and path[0] == "models" and path[2] == "invoke":
            try:
                return 200, models.get(path[1]).predict(body)
            except PayloadError as exc:
                raise ServingError(400, str(exc)) from None
        raise ServingError(404, f"no route POST {self.path}")

    def _delete(self, path: list[str], body: bytes) -> tuple[int, object]:
        if len(path) == 2 and path[0] == "models":
            self.server.models.unload(path[1])
            return 200, {"status": f"Model {path[1]} unloaded"}
        raise ServingError(404, f"no route DELETE {self.path}")

    def _answer(self, route) -> None:
        try:
            length = self.headers.get("Content-Length") or "0"
            if not length.isdigit():
                self.close_connection = True  # what follows cannot be framed as a next request
                raise ServingError(400, f"Content-Length {length[:40]!r} is not a non-negative integer")
            if int(length) > MAX_BODY:
                self.close_connection = True  # the unread body must not be read as the next request
                raise ServingError(413, f"the request body of {int(length):,} bytes is over the {MAX_BODY:,}-byte "
                                        "limit")
            body = self.rfile.read(int(length))
            path = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
            status, document = route(path, body)
        except ServingError as exc:
            status, document = exc.status, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a bug still answers, in TF Serving's shape
            log.exception("%s %s failed", self.command, self.path)
            status, document = 500, {"error": f"{type(exc).__name__}: {exc}"}
        payload = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.tf_serving", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--memory-budget-mb", type=float, help="507 for a load that would pass this many MB on disk")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    budget = None if args.memory_budget_mb is None else int(args.memory_budget_mb * 2**20)
    server = ThreadingHTTPServer((args.host, args.port), _Handler)
    server.daemon_threads = True
    server.models = Models(budget)
    log.info("TF Serving backend on http://%s:%d (TensorFlow %s)", args.host, args.port, tf.__version__)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
