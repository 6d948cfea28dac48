"""AliasClient without a network: a fake registry function, a fake runtime, a fake clock."""
import json
import random
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from aws_fakes import RecordingRuntime
from client import AliasClient, ModelInvocationError, ModelNotReady, RegistryUnavailable, UnknownAlias


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class FakeRegistry:
    """Answers `GET /aliases/{alias}` from a dict; can be switched off like a crashed server."""

    def __init__(self, documents):
        self.documents = documents
        self.calls = []
        self.down = False

    def __call__(self, alias):
        self.calls.append(alias)
        if self.down:
            raise RegistryUnavailable("connection refused")
        if alias not in self.documents:
            raise UnknownAlias(alias)
        return self.documents[alias]


def alias_document(alias, version, model="digits", endpoint="mme-registry-local"):
    return {"alias": alias, "model": model, "version": version, "target_model": f"{model}_v{version}.tar.gz",
            "endpoint": endpoint, "revision": version, "targets": None}


def weighted_document(alias, weights):
    targets = [{"model": "digits", "version": v, "weight": w, "target_model": f"digits_v{v}.tar.gz"}
               for v, w in weights.items()]
    return {"alias": alias, "endpoint": "mme-registry-local", "revision": 1, "targets": targets}


def client_error(code, status=400, **extra):
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"},
                        "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, "InvokeEndpoint")


def make_client(registry, runtime=None, clock=None, sleeps=None, **options):
    options.setdefault("metrics", False)  # no CloudWatch from a unit test: the metrics tests pass a recorder
    return AliasClient(registry_url="http://registry.invalid", runtime_client=runtime or RecordingRuntime(),
                       fetch_alias=registry, clock=clock or FakeClock(),
                       sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
                       rng=random.Random(7), **options)


def test_invoke_calls_the_endpoint_with_the_aliased_target_model():
    runtime = RecordingRuntime()
    client = make_client(FakeRegistry({"digits": alias_document("digits", 2)}), runtime)

    result = client.invoke("digits", b"{}", content_type="application/json", accept="application/json")

    assert runtime.calls == [{"EndpointName": "mme-registry-local", "TargetModel": "digits_v2.tar.gz",
                              "Body": b"{}", "ContentType": "application/json", "Accept": "application/json"}]
    assert (result.model, result.version, result.target_model) == ("digits", 2, "digits_v2.tar.gz")
    assert result.json() == {"predictions": [[0.1, 0.9]]}


def test_an_endpoint_given_to_the_client_overrides_the_registrys():
    runtime = RecordingRuntime()
    client = make_client(FakeRegistry({"digits": alias_document("digits", 1)}), runtime, endpoint="other")
    client.invoke("digits", b"{}")
    assert runtime.calls[0]["EndpointName"] == "other"


def test_predict_sends_instances_and_returns_the_predictions():
    runtime = RecordingRuntime()
    client = make_client(FakeRegistry({"digits": alias_document("digits", 1)}), runtime)

    predictions = client.predict("digits", [[0.0] * 4])

    assert predictions == [[0.1, 0.9]]
    assert json.loads(runtime.calls[0]["Body"]) == {"instances": [[0.0] * 4]}


def test_a_fresh_alias_is_served_from_the_cache_without_asking_the_registry():
    registry = FakeRegistry({"digits": alias_document("digits", 1)})
    clock = FakeClock()
    client = make_client(registry, clock=clock, cache_ttl=30)

    for _ in range(5):
        client.invoke("digits", b"{}")
        clock.advance(5)

    assert registry.calls == ["digits"]


def test_an_expired_alias_is_resolved_again_and_follows_the_move():
    registry = FakeRegistry({"digits": alias_document("digits", 1)})
    clock = FakeClock()
    client = make_client(registry, clock=clock, cache_ttl=30)
    assert client.invoke("digits", b"{}").version == 1

    registry.documents["digits"] = alias_document("digits", 2)
    clock.advance(29)
    still_cached = client.invoke("digits", b"{}").version
    clock.advance(2)
    moved = client.invoke("digits", b"{}").version

    assert (still_cached, moved) == (1, 2)
    assert registry.calls == ["digits", "digits"]


def test_an_expired_alias_is_served_stale_while_the_registry_is_down():
    registry = FakeRegistry({"digits": alias_document("digits", 3)})
    clock = FakeClock()
    client = make_client(registry, clock=clock, cache_ttl=30)
    client.invoke("digits", b"{}")

    registry.down = True
    clock.advance(60)
    results = [client.invoke("digits", b"{}") for _ in range(3)]

    assert [r.version for r in results] == [3, 3, 3]
    assert client.cache.stale_served == 1  # one failed fetch, then a pause before the next attempt
    registry.down = False
    clock.advance(2)
    client.invoke("digits", b"{}")
    assert len(registry.calls) == 3


def test_a_down_registry_with_nothing_cached_raises_registry_unavailable():
    registry = FakeRegistry({"digits": alias_document("digits", 1)})
    registry.down = True
    with pytest.raises(RegistryUnavailable):
        make_client(registry).invoke("digits", b"{}")


def test_an_unknown_alias_raises_unknown_alias_and_nothing_is_invoked():
    runtime = RecordingRuntime()
    client = make_client(FakeRegistry({}), runtime)
    with pytest.raises(UnknownAlias) as raised:
        client.invoke("nope", b"{}")
    assert raised.value.alias == "nope"
    assert runtime.calls == []


def test_a_deleted_alias_is_forgotten_once_the_registry_says_so():
    registry = FakeRegistry({"digits": alias_document("digits", 1)})
    clock = FakeClock()
    client = make_client(registry, clock=clock, cache_ttl=30)
    client.invoke("digits", b"{}")

    del registry.documents["digits"]
    clock.advance(31)

    with pytest.raises(UnknownAlias):
        client.invoke("digits", b"{}")


def test_a_weighted_alias_splits_calls_by_weight():
    runtime = RecordingRuntime()
    client = make_client(FakeRegistry({"canary": weighted_document("canary", {2: 90, 3: 10})}), runtime)

    versions = Counter(client.invoke("canary", b"{}").version for _ in range(10_000))

    assert abs(versions[3] / 10_000 - 0.10) < 0.02
    assert Counter(call["TargetModel"] for call in runtime.calls) == {
        "digits_v2.tar.gz": versions[2], "digits_v3.tar.gz": versions[3]}


def test_a_key_always_lands_on_the_same_target():
    client = make_client(FakeRegistry({"canary": weighted_document("canary", {2: 50, 3: 50})}))

    for key in ("user-1", "user-2", "user-3", "user-4"):
        seen = {client.invoke("canary", b"{}", key=key).version for _ in range(50)}
        assert len(seen) == 1


def test_relative_weights_split_calls_in_proportion():
    client = make_client(FakeRegistry({"canary": weighted_document("canary", {2: 3, 3: 1})}))

    versions = Counter(client.invoke("canary", b"{}", key=f"user-{i}").version for i in range(4_000))

    assert abs(versions[3] / 4_000 - 0.25) < 0.03


def test_keys_spread_across_targets_by_weight():
    client = make_client(FakeRegistry({"canary": weighted_document("canary", {2: 80, 3: 20})}))

    versions = Counter(client.invoke("canary", b"{}", key=f"user-{i}").version for i in range(5_000))

    assert abs(versions[3] / 5_000 - 0.20) < 0.03


def test_a_model_that_is_not_ready_is_retried_with_growing_pauses():
    sleeps = []
    runtime = RecordingRuntime(errors=[client_error("ModelNotReadyException", 429)] * 3)
    client = make_client(FakeRegistry({"digits": alias_document("digits", 1)}), runtime, sleeps=sleeps,
                         backoff=0.1, max_backoff=10)

    result = client.invoke("digits", b"{}")

    assert result.version == 1 and len(runtime.calls) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]
    assert all(0.05 <= pause <= 0.4 for pause in sleeps)


class RestartingRuntime(RecordingRuntime):
    """Answers ModelNotReadyException until `down_for` seconds of the caller's pauses have passed."""

    def __init__(self, sleeps: list, down_for: float):
        super().__init__()
        self.sleeps, self.down_for = sleeps, down_for

    def invoke_endpoint(self, **params):
        if sum(self.sleeps) < self.down_for:
            self.calls.append(params)
            raise client_error("ModelNotReadyException", 429)
        return super().invoke_endpoint(**params)


@pytest.mark.parametrize("seed", range(20))
def test_the_default_retries_outlast_a_model_server_restart(seed):
    # GIVEN a model server that takes 11 s to come back (MMS restarts in 6-11 s on the local stack)
    sleeps: list = []
    runtime = RestartingRuntime(sleeps, down_for=11.0)
    client = AliasClient(registry_url="http://registry.invalid", runtime_client=runtime,
                         fetch_alias=FakeRegistry({"digits": alias_document("digits", 1)}), clock=FakeClock(),
                         sleep=sleeps.append, rng=random.Random(seed), metrics=False)
    # WHEN a caller invokes with the client's default retries, whatever the jitter
    result = client.invoke("digits", b"{}")
    # THEN it is answered once the server is back, without ever waiting more than 3 s at once
    assert result.version == 1 and max(sleeps) <= 3.0


def test_a_model_that_never_gets_ready_raises_model_not_ready():
    runtime = RecordingRuntime(errors=[client_error("ModelNotReadyException", 429)] * 10)
    client = make_client(FakeRegistry({"digits": alias_document("digits", 1)}), runtime, max_attempts=3)
    with pytest.raises(ModelNotReady):
        client.invoke("digits", b"{}")
    assert len(runtime.calls) == 3


def test_a_model_error_carries_the_containers_status_and_message():
    error = client_error("ModelError", 424, OriginalStatusCode=400,
                         OriginalMessage='{"error": {"code": "invalid_shape", "message": "expected (n, 64)"}}')
    client = make_client(FakeRegistry({"digits": alias_document("digits", 4)}), RecordingRuntime(errors=[error]))

    with pytest.raises(ModelInvocationError) as raised:
        client.invoke("digits", b"{}")

    assert raised.value.status == 400
    assert "invalid_shape" in raised.value.message
    assert raised.value.target_model == "digits_v4.tar.gz"
    assert raised.value.code == "ModelError"


def split_across_frameworks():
    return {"alias": "vision", "model": "digits", "version": 1, "target_model": "digits_v1.tar.gz",
            "endpoint": "mme-registry-local", "revision": 3, "targets": [
                {"model": "digits", "version": 1, "weight": 50, "target_model": "digits_v1.tar.gz",
                 "framework": "mxnet", "endpoint": "mme-registry-local"},
                {"model": "cifar", "version": 2, "weight": 50, "target_model": "cifar_v2.tar.gz",
                 "framework": "tensorflow", "endpoint": "mme-registry-local-tf"}]}


def test_each_target_of_a_split_is_invoked_on_the_endpoint_of_its_framework():
    runtime = RecordingRuntime()
    client = AliasClient(fetch_alias=FakeRegistry({"vision": split_across_frameworks()}), runtime_client=runtime,
                         rng=random.Random(7), metrics=False)

    results = [client.invoke("vision", b"{}") for _ in range(40)]

    pairs = {(call["EndpointName"], call["TargetModel"]) for call in runtime.calls}
    assert pairs == {("mme-registry-local", "digits_v1.tar.gz"), ("mme-registry-local-tf", "cifar_v2.tar.gz")}
    assert {(r.endpoint, r.model) for r in results} == {("mme-registry-local", "digits"),
                                                        ("mme-registry-local-tf", "cifar")}


def test_a_target_no_endpoint_serves_is_an_error_that_says_so_before_any_invoke():
    document = split_across_frameworks()
    document["targets"][1]["endpoint"] = None  # a listing's view of a framework with no endpoint
    runtime = RecordingRuntime()
    client = AliasClient(fetch_alias=FakeRegistry({"vision": document}), runtime_client=runtime, metrics=False)

    with pytest.raises(Exception, match="no endpoint serves cifar_v2.tar.gz \\(tensorflow\\)"):
        client.invoke("vision", b"{}")
    assert runtime.calls == []


def test_the_cli_names_the_endpoint_of_an_alias_and_each_framework_of_a_split():
    from client.commands_alias import describe_endpoints

    plain = {**split_across_frameworks(), "targets": split_across_frameworks()["targets"][:1]}

    assert describe_endpoints(plain) == "on mme-registry-local"
    assert describe_endpoints(split_across_frameworks()) == \
        "on mme-registry-local (mxnet), mme-registry-local-tf (tensorflow)"
