"""SigV4 for the prod stage's IAM authorizer: requests to the registry API carry the caller's signature."""
from __future__ import annotations

import boto3
import pytest
import requests

from client.sigv4 import SigV4


def signed(auth: SigV4, method: str, url: str, body: bytes | None = None) -> requests.PreparedRequest:
    return auth(requests.Request(method, url, data=body, headers={"Content-Type": "application/json"}).prepare())


def test_a_request_is_signed_for_execute_api_in_the_region_with_the_callers_key():
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1")

    request = signed(SigV4(session=session), "PUT", "https://abc.execute-api.eu-west-1.amazonaws.com/api/aliases/x",
                     b'{"model": "m", "version": 2}')

    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization and "host" in authorization
    assert request.headers["X-Amz-Date"]


def test_the_signature_covers_the_body():
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
    auth = SigV4(session=session)
    url = "https://abc.execute-api.us-east-1.amazonaws.com/api/aliases/x"

    one, other = (signed(auth, "PUT", url, body) for body in (b'{"version": 1}', b'{"version": 2}'))

    assert one.headers["Authorization"] != other.headers["Authorization"]


def test_no_credentials_is_a_clear_error(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(ValueError, match="no AWS credentials found"):
        SigV4(session=boto3.Session(region_name="us-east-1"))
