"""Who the client says it is to a registry that does not verify callers: MME_REGISTRY_ACTOR, else the OS user,
sent as X-Registry-Actor on unsigned requests only."""
import boto3
import requests

from client.config import ClientSettings
from client.registry_api import RegistryApi
from client.sigv4 import SigV4

URL = "http://127.0.0.1:8000"


def sent_headers(api: RegistryApi) -> requests.structures.CaseInsensitiveDict:
    """The headers a request from `api` goes out with (signing included), prepared as `requests` sends it."""
    return api.http.prepare_request(requests.Request("PUT", f"{URL}/aliases/x", json={"version": 1})).headers


def test_the_identity_is_mme_registry_actor_when_set(monkeypatch):
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "alice")
    monkeypatch.setenv("USER", "root")

    assert ClientSettings().actor() == "alice"


def test_without_mme_registry_actor_the_identity_is_the_os_user(monkeypatch):
    monkeypatch.delenv("MME_REGISTRY_ACTOR", raising=False)
    for name in ("LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "bob")

    assert ClientSettings().actor() == "bob"


def test_every_cli_request_says_who_is_calling(monkeypatch):
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "alice")

    assert sent_headers(RegistryApi.from_settings())["X-Registry-Actor"] == "alice"


def test_a_sigv4_signed_request_does_not_say_who_is_calling_its_signature_does():
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")

    headers = sent_headers(RegistryApi(URL, auth=SigV4(session=session), actor="alice"))

    assert "X-Registry-Actor" not in headers and headers["Authorization"].startswith("AWS4-HMAC-SHA256")
