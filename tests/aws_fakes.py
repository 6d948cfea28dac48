"""Hand-written stand-ins at the AWS client boundary, for what moto cannot show.

moto answers sagemaker-runtime with canned bodies, ignores IfNoneMatch on CopyObject (the
emulator's s3_copy_gaps fills that in, the test emulator included), and cannot be paused
between a read and a conditional write. These classes wrap or
replace a boto3 client (never the registry's own code) so tests can drive those paths.
"""
from __future__ import annotations

import io
import json
import time
from typing import Callable

from botocore.exceptions import ClientError


def client_error(code: str, message: str = "", operation: str = "InvokeEndpoint", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def model_not_ready() -> ClientError:
    return client_error("ModelNotReadyException", "Model is still loading", status=429)


class ScriptedRuntime:
    """A sagemaker-runtime client whose invoke_endpoint answers from a script, then 'ok' forever.

    A script entry is an exception instance to raise, or "ok". Every request body is decoded
    as the real gateway would (json.loads), so a payload that cannot be parsed fails here too.
    """

    def __init__(self, *script):
        self.script = list(script)
        self.calls: list[dict] = []

    def invoke_endpoint(self, **request):
        self.calls.append({k: v for k, v in request.items() if k != "Body"})
        json.loads(request["Body"])
        answer = self.script.pop(0) if self.script else "ok"
        if isinstance(answer, BaseException):
            raise answer
        return {"Body": io.BytesIO(b'{"predictions": [[1.0]]}'), "ContentType": "application/json"}


class RecordingRuntime:
    """A sagemaker-runtime client that records each InvokeEndpoint's parameters, raises the scripted errors first,
    then answers one prediction, as botocore returns it."""

    def __init__(self, errors=(), answer=b'{"predictions": [[0.1, 0.9]]}'):
        self.errors = list(errors)
        self.answer = answer
        self.calls = []

    def invoke_endpoint(self, **params):
        self.calls.append(params)
        if self.errors:
            raise self.errors.pop(0)
        return {"Body": io.BytesIO(self.answer), "ContentType": "application/json",
                "InvokedProductionVariant": "AllTraffic"}


class BeforeFirstTransaction:
    """A DynamoDB client that lets another writer run just before its first TransactWriteItems (or, with `skip`,
    the one after the first `skip`).

    It stands where a concurrent Lambda would interleave: after this run read the table,
    before its conditional write. `reasons` keeps the cancellation reasons DynamoDB gave.
    """

    def __init__(self, client, concurrently, skip: int = 0):
        self._client, self._concurrently, self._skip = client, concurrently, skip
        self.reasons: list[str] = []

    def __getattr__(self, name):
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs):
        if self._skip:
            self._skip -= 1
            return self._client.transact_write_items(**kwargs)
        concurrently, self._concurrently = self._concurrently, None
        if concurrently is not None:
            concurrently()
        try:
            return self._client.transact_write_items(**kwargs)
        except ClientError as error:
            self.reasons = [r.get("Code", "") for r in error.response.get("CancellationReasons", [])]
            raise


class ConditionalS3:
    """An S3 client that enforces IfNoneMatch='*' on CopyObject (moto ignores it), and can let
    another writer put the target key just before the caller writes it: right after the caller's
    HEAD of it found nothing (a copy in parts), or right before its CopyObject."""

    def __init__(self, client, race_key: str | None = None, race_body: bytes = b""):
        self._client = client
        self._race_key, self._race_body = race_key, race_body

    def __getattr__(self, name):
        return getattr(self._client, name)

    def head_object(self, **kwargs):
        try:
            return self._client.head_object(**kwargs)
        except ClientError:
            if kwargs.get("Key") == self._race_key:  # it was missing: now someone else writes it
                self._race(kwargs["Bucket"])
            raise

    def _race(self, bucket: str) -> None:
        key, self._race_key = self._race_key, None
        self._client.put_object(Bucket=bucket, Key=key, Body=self._race_body)

    def copy_object(self, **kwargs):
        if kwargs.get("Key") == self._race_key:
            self._race(kwargs["Bucket"])
        if kwargs.get("IfNoneMatch") == "*" and self._exists(kwargs["Bucket"], kwargs["Key"]):
            raise client_error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                               operation="CopyObject", status=412)
        return self._client.copy_object(**kwargs)

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except ClientError:
            return False
        return True


class Faults:
    """Fails chosen AWS calls made through the clients it wraps, once each. A call is named by its operation and
    its occurrence (("copy_object", 1): the first CopyObject); "before" fails the request before it is sent,
    "after" sends it and loses the answer (a timeout after the service acted). `only` narrows which calls count.
    `failed` keeps what was failed, to say so when an assertion does not hold."""

    def __init__(self, plan: dict[tuple[str, int], str] | None = None,
                 only: Callable[[str, dict], bool] | None = None):
        self.plan = dict(plan or {})
        self.only = only
        self.counts: dict[str, int] = {}
        self.failed: list[tuple[str, int, str]] = []

    def wrap(self, client) -> "FaultyClient":
        return FaultyClient(client, self)

    def fault_for(self, operation: str, request: dict) -> str | None:
        if self.only is not None and not self.only(operation, request):
            return None
        self.counts[operation] = occurrence = self.counts.get(operation, 0) + 1
        when = self.plan.pop((operation, occurrence), None)
        if when is not None:
            self.failed.append((operation, occurrence, when))
        return when


class FaultyClient:
    """A boto3 client whose API calls go through `Faults`; everything else (meta, exceptions) is the client's."""

    NOT_CALLS = frozenset({"get_paginator", "can_paginate", "get_waiter", "close"})

    def __init__(self, client, faults: Faults):
        self._client, self._faults = client, faults

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name.startswith("_") or name in self.NOT_CALLS or not callable(attr):
            return attr

        def call(**request):
            when = self._faults.fault_for(name, request)
            if when == "before":
                raise client_error("InternalError", f"injected fault before {name}", operation=name, status=500)
            answer = attr(**request)
            if when == "after":
                raise client_error("InternalError", f"injected fault after {name}", operation=name, status=500)
            return answer

        return call


class ModelsRuntime:
    """A sagemaker-runtime client that answers each TargetModel with its own function of the request's JSON
    (moto answers every model with one canned body, so no two could disagree). `delay` slows a model's answers."""

    def __init__(self, answers: dict[str, Callable], delay: dict[str, float] | None = None):
        self.answers = answers
        self.delay = delay or {}
        self.calls: list[str] = []

    def invoke_endpoint(self, **request):
        target = request["TargetModel"]
        self.calls.append(target)
        time.sleep(self.delay.get(target, 0.0))
        answer = self.answers[target](json.loads(request["Body"]))
        return {"Body": io.BytesIO(json.dumps(answer).encode()), "ContentType": "application/json"}
