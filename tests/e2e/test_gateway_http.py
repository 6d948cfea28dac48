"""The gateway's HTTP framing over a raw socket: a body its Content-Length does not describe is
refused at once, and its bytes are never read as the next request on a kept-alive connection."""
from __future__ import annotations

import http.client
import json
import socket

import boto3
import pytest

from local_stack.runtime.gateway import GatewayServer
from local_stack.processes.children import free_port

INVOKE = "POST /endpoints/e/invocations HTTP/1.1\r\nHost: gw\r\nX-Amzn-SageMaker-Target-Model: m.tar.gz\r\n"


@pytest.fixture
def gateway(tmp_path, monkeypatch):
    """A gateway whose AWS side is a closed local port: these requests must never get that far."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with GatewayServer("http://127.0.0.1:1", boto3.Session(region_name="us-east-1"), tmp_path) as server:
        yield server


def exchange(gateway: GatewayServer, raw: bytes) -> tuple[http.client.HTTPResponse, dict, bytes]:
    """Sends `raw` and keeps the connection open; returns the first answer, its JSON, and what follows it."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(raw)
        answer = http.client.HTTPResponse(sock)
        answer.begin()  # a server reading to EOF never answers: socket.timeout fails the test
        document = json.loads(answer.read())
        try:
            rest = sock.recv(1024)  # b"" once the server closed its side
        except socket.timeout:
            rest = b"(still open)"
        return answer, document, rest


def test_a_negative_content_length_is_a_400_not_a_read_to_the_end_of_the_stream(gateway):
    answer, document, rest = exchange(gateway, (INVOKE + "Content-Length: -1\r\n\r\n{}").encode())

    assert answer.status == 400 and "Content-Length '-1'" in document["message"]
    assert rest == b""


def test_a_chunked_body_is_a_411_and_its_chunks_are_not_read_as_a_second_request(gateway):
    answer, document, rest = exchange(gateway, (INVOKE + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode())

    assert answer.status == 411 and "Content-Length" in document["message"]
    assert answer.getheader("x-amzn-ErrorType") == "MissingContentLength"
    assert rest == b""


def test_content_length_and_transfer_encoding_together_are_refused(gateway):
    raw = INVOKE + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

    answer, document, rest = exchange(gateway, raw.encode())

    assert answer.status == 400 and "both" in document["message"]
    assert rest == b""
