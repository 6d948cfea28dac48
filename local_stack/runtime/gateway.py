"""The local MME runtime gateway: `POST /endpoints/{EndpointName}/invocations` as the
sagemaker-runtime API speaks it, in front of one MMS.

The emulator's SageMaker runtime only returns canned bodies; this makes a local
InvokeEndpoint real, so plain boto3 code with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME set
to this server behaves as against AWS: it reads the endpoint's ModelDataUrl from the
(emulated) control plane (endpoints.py: any MultiModel endpoint a user creates), loads
the TargetModel on first use (model_cache.py), and answers errors in the AWS JSON error
shape so boto3 raises ValidationError or ModelError (with OriginalStatusCode and
OriginalMessage). The endpoint's container image picks the backend, as on SageMaker: AWS's
TensorFlow Serving images go to the TF Serving backend (tensorflow/backend.py), every other image to
MMS; each backend has its own ModelCache (its own budget, LRU and 507 handling).

The hop to a backend uses urllib3's pool directly, not a requests.Session: requests' own
Python costs about 0.5 ms per call on this 2-core machine (a POST of 20 kB to MMS: 1.27 ms
with requests, 0.77 ms with urllib3, 0.62 ms with bare http.client, medians), a tenth of
what the issue allows the gateway over a ~40 ms invoke. urllib3 keeps what the bare client
lacks: a pool per backend address, TCP_NODELAY, and a kept-alive connection the backend
closed (a restart) is noticed before it is reused.

Calls of plain boto3 callers are recorded as per-model metrics (call_metrics.py); an AliasClient's calls are
marked in CustomAttributes and recorded by the client, so the gateway skips them.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

import requests
import urllib3
from botocore.config import Config
from urllib3.exceptions import NewConnectionError, ProtocolError

from local_stack.runtime.call_metrics import GatewayCalls, direct_call
from local_stack.runtime.endpoints import MMS, TF_SERVING, EndpointDirectory
from local_stack.runtime.mms.backend import MmeApi
from local_stack.runtime.model_cache import (Budget, ModelCache, RuntimeApiError, model_error,
                                             model_not_ready, target_key, validation_error)

log = logging.getLogger(__name__)

INVOCATIONS = re.compile(r"/endpoints/([^/]+)/invocations")
TARGET_MODEL = "X-Amzn-SageMaker-Target-Model"
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
MAX_PAYLOAD = 6 * 1024 * 1024  # SageMaker's real-time InvokeEndpoint limit
INVOKE_TIMEOUT = 60  # seconds SageMaker gives a container to answer


def _mms_lost_model(response: urllib3.BaseHTTPResponse) -> bool:
    """MMS's own 404 (the model is not registered), as opposed to a handler's answer."""
    if response.status != 404:
        return False
    try:
        document = json.loads(response.data)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("type") == "ModelNotFoundException"


def _tf_lost_model(response: urllib3.BaseHTTPResponse) -> bool:
    """The TF Serving backend answers 404 on invoke only for a model it does not hold."""
    return response.status == 404


@dataclass
class Backend:
    """One model server behind the gateway: its container API, what is loaded in it, and how it
    says "I do not have that model"; `ready()` starts it if it starts on first use."""

    name: str
    cache: ModelCache
    lost_model: Callable[[urllib3.BaseHTTPResponse], bool]
    ready: Callable[[], object] = lambda: None

    @property
    def url(self) -> str:
        return self.cache.mms.url


class Gateway:
    """InvokeEndpoint semantics over an EndpointDirectory, and a ModelCache and invoke route per backend."""

    def __init__(self, mms_url: str, session, cache_dir: Path, budget: Budget, tf_serving=None, metrics: bool = True):
        """`tf_serving`: the TF Serving backend's MmeApi (a TfServingServer starts on first use), or None;
        `metrics`: record plain callers' calls in the (emulated) CloudWatch of `session`."""
        self.endpoints = EndpointDirectory(session.client("sagemaker"))
        # The model is streamed from one GetObject. botocore would check the object's CRC against the
        # bytes read, but the emulator gives a multipart object a whole-object checksum that is really
        # the parts' (no "-N" suffix), which never matches; the validator checks the gzip CRC-32 and
        # length of every byte instead.
        s3 = session.client("s3", config=Config(response_checksum_validation="when_required"))
        self.backends = {MMS: Backend(MMS, ModelCache(MmeApi(mms_url), s3, Path(cache_dir), budget), _mms_lost_model)}
        if tf_serving is not None:
            self.backends[TF_SERVING] = Backend(TF_SERVING, ModelCache(tf_serving, s3, Path(cache_dir) / "tf", budget),
                                                _tf_lost_model, getattr(tf_serving, "ensure_started", lambda: None))
        self.http = urllib3.PoolManager(maxsize=32, retries=False)
        self.calls = GatewayCalls(lambda: session.client("cloudwatch")) if metrics else None

    def status(self) -> dict:
        """Each backend's loaded models and hit/miss/eviction counts (the console's endpoint page)."""
        return {"backends": [{"backend": name, **backend.cache.status()} for name, backend in self.backends.items()]}

    def invoke(self, endpoint_name: str, body: bytes, headers) -> tuple[int, dict, bytes]:
        """The call, recorded when it is a plain caller's call to a registry version (call_metrics.py)."""
        dims = direct_call(headers.get(TARGET_MODEL), headers.get(CUSTOM_ATTRIBUTES)) if self.calls else None
        if dims is None:
            return self._invoke(endpoint_name, body, headers)
        started, loads = time.perf_counter(), []
        try:
            answer = self._invoke(endpoint_name, body, headers, loads)
        except RuntimeApiError as error:
            elapsed = (time.perf_counter() - started) * 1000
            self.calls.failed(dims, elapsed, error.code, error.status, error.fields.get("OriginalStatusCode"))
            raise
        except Exception:
            self.calls.failed(dims, (time.perf_counter() - started) * 1000, "InternalFailure", 500)
            raise
        self.calls.answered(dims, (time.perf_counter() - started) * 1000, bool(loads))
        return answer

    def _invoke(self, endpoint_name: str, body: bytes, headers, loads: list | None = None) -> tuple[int, dict, bytes]:
        target = headers.get(TARGET_MODEL)
        endpoint = self.endpoints.resolve(endpoint_name)
        if not target:
            raise validation_error(f"Endpoint {endpoint_name} is a multi-model endpoint: TargetModel is required.")
        key = target_key(endpoint.prefix, target)
        backend = self._backend(endpoint)
        forward = {TARGET_MODEL: target, "Content-Type": headers.get("Content-Type") or "application/octet-stream"}
        for name in ("Accept", CUSTOM_ATTRIBUTES):
            if headers.get(name):
                forward[name] = headers[name]
        for _ in range(2):  # a second time only if the backend lost the model under us
            try:
                with backend.cache.use(endpoint.bucket, key) as acquired:
                    if acquired.loaded and loads is not None:
                        loads.append(key)  # this call loaded the model
                    model = acquired.name
                    response = self.http.request("POST", f"{backend.url}/models/{model}/invoke", body=body,
                                                 headers=forward, timeout=INVOKE_TIMEOUT, retries=False)
            except (NewConnectionError, ProtocolError, requests.ConnectionError,
                    requests.exceptions.ChunkedEncodingError) as exc:
                # the backend went away (before or while answering the invoke, or the cache's load
                # through MmeApi, which speaks requests): its supervisor is restarting it
                raise model_not_ready(f"The model server is restarting; retry {target} shortly. ({exc})") from exc
            if not backend.lost_model(response):
                break
            backend.cache.forget(model)
        if response.status >= 400:
            raise model_error(response.status, response.data, "model")
        answer = {
            "Content-Type": response.headers.get("Content-Type", "application/octet-stream"),
            "x-Amzn-Invoked-Production-Variant": endpoint.variant,
        }
        if response.headers.get(CUSTOM_ATTRIBUTES):
            answer[CUSTOM_ATTRIBUTES] = response.headers[CUSTOM_ATTRIBUTES]
        return 200, answer, response.data

    def _backend(self, endpoint) -> Backend:
        backend = self.backends.get(endpoint.backend)
        if backend is None:
            raise validation_error(f"Endpoint {endpoint.name} serves the image {endpoint.image!r}, which needs the "
                                   "TF Serving backend; this gateway was started without one.")
        try:
            backend.ready()
        except Exception as exc:  # noqa: BLE001 - a backend that cannot start is the container failing
            raise model_error(500, str(exc), f"the {backend.name} backend starting") from exc
        return backend

    def backend_restarted(self, backend: str = MMS) -> None:
        """A backend came back empty: forget its models (the next invoke loads each again) and pooled connections."""
        self.backends[backend].cache.forget_all()
        self.http.clear()
        self.backends[backend].cache.mms.http.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server_version = "mme-registry-gateway"

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/ping":
            self._send(200, {"Content-Type": "application/json"}, b'{"status": "healthy"}')
        elif urlsplit(self.path).path == "/status":  # read-only: what the console's endpoint page shows
            status = json.dumps(self.server.gateway.status()).encode()
            self._send(200, {"Content-Type": "application/json"}, status)
        else:
            self._error(RuntimeApiError(404, "UnknownOperationException", f"no route GET {self.path}"))

    def do_POST(self) -> None:
        try:
            body = self._read_body()
            match = INVOCATIONS.fullmatch(urlsplit(self.path).path)
            if not match:
                raise RuntimeApiError(404, "UnknownOperationException", f"no route POST {self.path}")
            status, headers, payload = self.server.gateway.invoke(unquote(match.group(1)), body, self.headers)
        except RuntimeApiError as exc:
            self._error(exc)
        except Exception as exc:  # noqa: BLE001 - any bug must still answer in the AWS shape
            log.exception("invoke failed")
            self._error(RuntimeApiError(500, "InternalFailure", f"the local gateway failed: {exc}"))
        else:
            self._send(status, headers, payload)

    def _read_body(self) -> bytes:
        """The body by its Content-Length; anything the length does not describe closes the connection.

        Chunked bodies are refused with 411 rather than decoded: InvokeEndpoint is capped at
        6 MB and boto3 always sends Content-Length, so only a hand-rolled client sends chunks,
        and refusing keeps the local gateway no more lenient than the cloud path it stands in
        for. Either way the bytes after the headers are not a request and must not be read as one.
        """
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            if self.headers.get("Content-Length") is not None:  # RFC 9112 6.1: a smuggling attempt
                raise validation_error("A request must not carry both Content-Length and Transfer-Encoding.")
            raise RuntimeApiError(411, "MissingContentLength", "Send the body with a Content-Length header; "
                                  f"Transfer-Encoding {self.headers['Transfer-Encoding']!r} is not accepted.")
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit():  # a negative length would read to the end of the stream
            self.close_connection = True
            raise validation_error(f"Content-Length {declared!r} is not a non-negative integer.")
        length = int(declared)
        if length > MAX_PAYLOAD:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise validation_error(f"Request body of {length} bytes is over the {MAX_PAYLOAD}-byte limit.")
        return self.rfile.read(length)

    def _error(self, exc: RuntimeApiError) -> None:
        document = {"__type": exc.code, "message": exc.message, **exc.fields}
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": exc.code}
        self._send(exc.status, headers, json.dumps(document).encode())

    def _send(self, status: int, headers: dict, payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)


class GatewayServer:
    """The gateway on 127.0.0.1 in a background thread: `start()`, `.url`, `stop()`."""

    def __init__(
        self,
        mms_url: str,
        session,
        cache_dir: Path,
        budget: Budget = Budget(),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tf_serving=None,
    ):
        self.gateway = Gateway(mms_url, session, cache_dir, budget, tf_serving)
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the gateway is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "GatewayServer":
        self._server = ThreadingHTTPServer(self._address, _Handler)
        self._server.daemon_threads = True
        self._server.gateway = self.gateway
        self._thread = threading.Thread(target=self._server.serve_forever, name="mme-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving; models stay loaded in MMS (whoever started MMS stops it)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.gateway.http.clear()
        if self.gateway.calls is not None:
            self.gateway.calls.close()
        self._server = self._thread = None

    def __enter__(self) -> "GatewayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m local_stack.runtime.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mms-url", required=True, help="e.g. http://127.0.0.1:9080")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--cache-dir", type=Path, default=Path(".local/gateway-models"))
    parser.add_argument("--memory-mb", type=int, default=Budget.max_bytes // 2**20,
                        help="memory the loaded models may take, each costed as mme-registry plan does (MiB)")
    parser.add_argument("--tf-url",
                        help="a running TF Serving backend (python -m local_stack.runtime.tensorflow.serving)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    budget = Budget(args.memory_mb * 2**20)
    tf_serving = MmeApi(args.tf_url) if args.tf_url else None
    server = GatewayServer(args.mms_url, boto3.Session(), args.cache_dir, budget, port=args.port,
                           tf_serving=tf_serving).start()
    print(f"gateway on {server.url}; export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
